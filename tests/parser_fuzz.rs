//! Parser fuzz smoke test: random bytes and random mutations of valid models never panic, and every
//! diagnostic span lies inside the text on char boundaries. Seeded and bounded (2,400 cases).

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uq::source::FileId;
use uq::syntax::{dump, is_incomplete, parse};

const VALID: &[&str] = &[
    "import mri\n\ndata y    : complex[64, 64]\ndata mask : real[64, 64] = \"mask.npy\"\n\nlet sigma = 0.1\n\
     fn A(x) = mask * fft(x)\n\nprior x : complex[64, 64] ~ score(\"brain64.safetensors\")\ny ~ Normal(A(x), sigma)\n\
     \ninfer annealed_hmc(gamma = 0.995, eps = 10) # optional\n",
    "prior x ~ score(\"knee.safetensors\")\ny ~ Normal(mask(fft(x)), 0.1)\n",
    "data y : real[16]\nlet w = [0.5, 0.25, 0.25]\nprior x : real[16] ~ GaussianMixture(w, [-1, 0, 2.5E+2], [1e-3, 1, 2])\n\
     y ~ Poisson(softplus(x) * 2 + 1); infer mala\n",
    "fn blur(x, k) = conv(x,\n    gaussian_kernel(5, 1.5))\nlet s = -abs2(x) / 2 @ z - -3\ny ~ Normal(\n  blur(x, 0),\n  \
     \"s\\\"q\\\\\"\n)\n",
];

fn check(text: &str) {
    let (program, diags) = parse(FileId(0), text);
    for d in &diags {
        let spans = std::iter::once(d.span).chain(d.secondary.iter().map(|s| s.0));
        for s in spans {
            assert!(s.start <= s.end && s.end <= text.len(), "span {s:?} outside {text:?}: {d:?}");
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "{s:?} in {text:?}");
        }
        assert!(d.code.starts_with("E00"), "{d:?}");
    }
    let _ = dump(&program);
    let _ = is_incomplete(text);
}

/// Split into rough tokens (words, numbers, single punctuation, whitespace runs) for token mutations.
fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in text.chars() {
        let glue = out.last().and_then(|p| p.chars().last()).is_some_and(|last| {
            (last.is_alphanumeric() || last == '_' || last == '.') && (c.is_alphanumeric() || c == '_' || c == '.')
        });
        match out.last_mut() {
            Some(p) if glue => p.push(c),
            _ => out.push(c.to_string()),
        }
    }
    out
}

const INSERTS: &[&str] = &[
    "(", ")", "[", "]", ",", "~", "=", ":", ";", "\n", "\"", "#", "-", "*", "@", "let", "prior", "real", "0",
    "1e", ".", "$", "é", "\\", "data", "fn", "x", "((((", "]]",
];

fn mutate(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut toks = pieces(text);
    let edits = rng.random_range(1..=4);
    for _ in 0..edits {
        let n = toks.len().max(1);
        let i = rng.random_range(0..n);
        match rng.random_range(0..6) {
            0 if !toks.is_empty() => {
                toks.remove(i.min(toks.len() - 1));
            }
            1 => {
                let ins = INSERTS.choose(rng).copied().unwrap_or("(");
                toks.insert(i.min(toks.len()), ins.to_string());
            }
            2 if toks.len() > 1 => {
                let j = rng.random_range(0..toks.len());
                toks.swap(i.min(toks.len() - 1), j);
            }
            3 if !toks.is_empty() => {
                // Character-level edit inside one piece.
                let k = i.min(toks.len() - 1);
                let mut chars: Vec<char> = toks[k].chars().collect();
                let at = rng.random_range(0..=chars.len());
                if rng.random_bool(0.5) && at < chars.len() {
                    chars.remove(at);
                } else {
                    chars.insert(at, char::from(rng.random_range(0x20u8..0x7f)));
                }
                toks[k] = chars.into_iter().collect();
            }
            4 if !toks.is_empty() => {
                let k = i.min(toks.len() - 1);
                let dup = toks[k].clone();
                toks.insert(k, dup);
            }
            _ => {
                let cut = rng.random_range(0..=toks.len());
                toks.truncate(cut.max(1));
            }
        }
    }
    toks.concat()
}

#[test]
fn valid_models_parse_cleanly() {
    for text in VALID {
        let (program, diags) = parse(FileId(0), text);
        assert!(diags.is_empty(), "{text}\n{diags:#?}");
        assert!(!program.stmts.is_empty());
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0001);
    for _ in 0..800 {
        let len = rng.random_range(0..200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.random_bool(0.7) {
                    *b"()[],:;~=+-*/@\"#\\ \n\tabxyz019.eE_"
                        .choose(&mut rng)
                        .unwrap_or(&b' ')
                } else {
                    rng.random()
                }
            })
            .collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn mutated_models_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0002);
    for case in 0..1600 {
        let base = VALID[case % VALID.len()];
        let text = mutate(&mut rng, base);
        check(&text);
    }
}

#[test]
fn pathological_inputs() {
    for text in [
        "(".repeat(10_000),
        "[".repeat(10_000),
        ")".repeat(10_000),
        format!("let a = {}", "-".repeat(50_000)),
        format!("let a = 1{}", " * 2".repeat(30_000)),
        format!("y ~ f({}x{})", "g(".repeat(3000), ")".repeat(3000)),
        "\"".repeat(1001),
        "\n".repeat(10_000),
        "~".repeat(10_000),
    ] {
        check(&text);
    }
}
