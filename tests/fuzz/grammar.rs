//! Programs generated from `grammar/uq.ebnf` (expressions, types, statements), edge values, and
//! programs that stress depth and size.

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uq::dist::DISTRIBUTIONS;

pub const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "1e308",
    "1e309",
    "1e-400",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999999999999",
    "134217728",
    "134217729",
    "1.",
    ".5",
    "1e",
    "00",
    "0x10",
    "1_0",
    "2.5E+2",
    "3",
    "64",
    "1e-3",
    "-0",
];
pub const DIMS: &[&str] = &[
    "1",
    "2",
    "64",
    "0",
    "134217728",
    "134217729",
    "4294967296",
    "18446744073709551616",
    "2.5",
    "n",
    "99999999999999999999",
];
pub const UNICODE: &[&str] = &[
    "\u{feff}",
    "\u{200b}",
    "\u{202e}",
    "\u{301}",
    "é",
    "λ",
    "😀",
    "\u{0}",
    "\r",
    "\t",
    "\u{a0}",
    "Ａ",
    "\u{2028}",
    "\u{fffd}",
    "\u{10ffff}",
    "ß",
    "İ",
];
const SAMPLERS: &[&str] = &["auto", "hmc", "mala", "annealed_hmc", "dps", "nuts", "x"];
const OPS: &[&str] = &[" + ", " - ", " * ", " / ", " @ "];

/// A random expression following the grammar (`expr`/`sum`/`product`/`unary`/`atom`).
pub fn expr(rng: &mut ChaCha8Rng, depth: u32, names: &[String], strings: &[String]) -> String {
    if depth == 0 || rng.random_bool(0.25) {
        return match rng.random_range(0..6) {
            0 | 1 => NUMBERS.choose(rng).copied().unwrap_or("1").to_string(),
            2 => format!("\"{}\"", strings.choose(rng).cloned().unwrap_or_default()),
            _ => names.choose(rng).cloned().unwrap_or_else(|| "x".into()),
        };
    }
    let sub = |rng: &mut ChaCha8Rng| expr(rng, depth - 1, names, strings);
    match rng.random_range(0..8) {
        0 | 1 => format!(
            "{}{}{}",
            sub(rng),
            OPS.choose(rng).copied().unwrap_or(" + "),
            sub(rng)
        ),
        2 => format!("-{}", sub(rng)),
        3 => format!("({})", sub(rng)),
        4 => {
            let n = rng.random_range(0..4);
            let items: Vec<String> = (0..n).map(|_| sub(rng)).collect();
            format!("[{}]", items.join(", "))
        }
        5 => format!(
            "{}({}, {})",
            DISTRIBUTIONS.choose(rng).copied().unwrap_or("Normal"),
            sub(rng),
            sub(rng)
        ),
        _ => {
            let callee = names.choose(rng).cloned().unwrap_or_else(|| "f".into());
            let n = rng.random_range(0..4);
            let args: Vec<String> = (0..n).map(|_| sub(rng)).collect();
            format!("{callee}({})", args.join(", "))
        }
    }
}

/// A random type: `real`, `complex[...]` with edge-case dimensions.
pub fn ty(rng: &mut ChaCha8Rng) -> String {
    let elem = if rng.random_bool(0.5) { "real" } else { "complex" };
    match rng.random_range(0..4) {
        0 => elem.to_string(),
        1 => format!("{elem}[{}]", DIMS.choose(rng).copied().unwrap_or("2")),
        2 => format!("{elem}[{}, {}]", rng.random_range(1..9), rng.random_range(1..9)),
        _ => {
            let n = rng.random_range(1..5);
            let d: Vec<&str> = (0..n).map(|_| DIMS.choose(rng).copied().unwrap_or("2")).collect();
            format!("{elem}[{}]", d.join(", "))
        }
    }
}

/// A random statement following the grammar.
pub fn statement(rng: &mut ChaCha8Rng, names: &[String], strings: &[String]) -> String {
    let name = names.choose(rng).cloned().unwrap_or_else(|| "x".into());
    let d = rng.random_range(1..5);
    match rng.random_range(0..8) {
        0 => format!("data {name} : {}", ty(rng)),
        1 => format!(
            "data {name} : {} = \"{}\"",
            ty(rng),
            strings.choose(rng).cloned().unwrap_or_default()
        ),
        2 => format!("let {name} = {}", expr(rng, d, names, strings)),
        3 => format!("fn {name}(x, y) = {}", expr(rng, d, names, strings)),
        4 => format!("prior {name} : {} ~ {}", ty(rng), expr(rng, d, names, strings)),
        5 => format!("{name} ~ {}", expr(rng, d, names, strings)),
        6 => format!(
            "infer {}(steps = {})",
            SAMPLERS.choose(rng).copied().unwrap_or("hmc"),
            expr(rng, 1, names, strings)
        ),
        _ => format!(
            "import {}",
            ["mri", "blur", "helpers", "chain0", "selfimp", "nope", "fuzz"]
                .choose(rng)
                .copied()
                .unwrap_or("mri")
        ),
    }
}

/// Programs that stress depth and size: nesting, operator chains, function chains, doubling.
pub fn stress(rng: &mut ChaCha8Rng) -> String {
    let n = *[10usize, 99, 100, 101, 999, 1000, 1001, 2000, 2600, 6000]
        .choose(rng)
        .unwrap_or(&100);
    let head = "prior x ~ Normal(0, 1)\n";
    match rng.random_range(0..9) {
        0 => format!("{head}let a = {}x{}\n", "(".repeat(n), ")".repeat(n)),
        1 => format!("{head}let a = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        2 => format!("{head}let a = x{}\n", " + x".repeat(n)),
        3 => format!("{head}let a = {}x\n", "-".repeat(n)),
        4 => {
            let mut s = String::from(head);
            s.push_str("fn f0(v) = v\n");
            for i in 1..n {
                s.push_str(&format!("fn f{i}(v) = f{}(v)\n", i - 1));
            }
            s.push_str(&format!("let a = f{}(x)\n", n - 1));
            s
        }
        5 => {
            let k = rng.random_range(10..40);
            let mut s = String::from(head);
            s.push_str("fn g0(v) = v + 1\n");
            for i in 1..k {
                let body = if rng.random_bool(0.5) {
                    format!("g{0}(v) + g{0}(v)", i - 1)
                } else {
                    format!("g{0}(g{0}(v))", i - 1)
                };
                s.push_str(&format!("fn g{i}(v) = {body}\n"));
            }
            s.push_str(&format!("let a = g{}(x)\n", k - 1));
            s
        }
        6 => {
            let deep = "-".repeat(900);
            let mut s = format!("{head}fn h0(v) = {deep}v\n");
            for i in 1..rng.random_range(2..6) {
                s.push_str(&format!("fn h{i}(v) = {deep}h{}(v)\n", i - 1));
            }
            s.push_str("let a = h1(x)\n");
            s
        }
        7 => format!("{head}let a = f({})\n", vec!["1"; n * 10].join(", ")),
        _ => format!("{head}data y : real[{}]\n", vec!["1"; n].join(", ")),
    }
}
