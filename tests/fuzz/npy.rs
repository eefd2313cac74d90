//! `.npy` files for fuzzing data binding: ones that fit a declaration, and broken ones of every kind.

use super::case::DataFile;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Largest payload written for a fitting file; bigger declarations get broken files only.
const MAX_FITTING: usize = 1 << 16;

/// A version-1 `.npy` file: `header` dictionary (padded, newline-terminated) and `payload`.
pub fn raw(header: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len().min(u16::MAX as usize) as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(payload);
    out
}

fn header(descr: &str, shape: &[usize], fortran: bool) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {tuple}, }}")
}

fn payload(rng: &mut ChaCha8Rng, descr: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let big_endian = descr.starts_with('>');
    for _ in 0..n {
        let x: f64 = match rng.random_range(0..20) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => 1e300,
            _ => rng.random_range(-2.0..2.0),
        };
        match &descr[1..] {
            "f4" | "c8" => {
                let reps = if descr.ends_with("c8") { 2 } else { 1 };
                for _ in 0..reps {
                    let b = x as f32;
                    out.extend(if big_endian {
                        b.to_be_bytes()
                    } else {
                        b.to_le_bytes()
                    });
                }
            }
            "c16" => {
                out.extend(x.to_le_bytes());
                out.extend((-x).to_le_bytes());
            }
            "i8" => out.extend((x as i64).to_le_bytes()),
            _ => out.extend(if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }),
        }
    }
    out
}

/// A well-formed file of the declared shape (rarely finite-free or of another element type).
pub fn fitting(rng: &mut ChaCha8Rng, complex: bool, shape: &[usize]) -> DataFile {
    let n: usize = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    if n > MAX_FITTING {
        return broken(rng, complex, shape);
    }
    let descr = match (complex, rng.random_range(0..4)) {
        (true, 0) => "<c8",
        (true, 1) => "<f8",
        (true, _) => "<c16",
        (false, 0) => "<f4",
        (false, 1) if rng.random_bool(0.2) => "<c16",
        (false, _) => "<f8",
    };
    let body = payload(rng, descr, n);
    DataFile::Bytes(raw(&header(descr, shape, false), &body))
}

/// A file that disagrees with itself or with the declaration.
pub fn broken(rng: &mut ChaCha8Rng, complex: bool, shape: &[usize]) -> DataFile {
    let numel = shape.iter().fold(1usize, |a, &d| a.saturating_mul(d));
    let n = numel.clamp(1, 64);
    let descr = if complex { "<c16" } else { "<f8" };
    let body = payload(rng, descr, n);
    let good = || raw(&header(descr, &[n], false), &body);
    let bytes = match rng.random_range(0..16) {
        0 => {
            let g = good();
            let cut = rng.random_range(0..g.len());
            g[..cut].to_vec()
        }
        1 => {
            let mut g = good();
            g.extend(std::iter::repeat_n(7u8, rng.random_range(1..100)));
            g
        }
        2 => {
            let huge = [
                [1usize << 40, 1 << 40].as_slice(),
                &[usize::MAX, 3],
                &[134_217_729],
                &[65_536, 65_536, 65_536],
            ];
            let s = huge.choose(rng).copied().unwrap_or(&[1]);
            raw(&header(descr, s, false), &[0u8; 64])
        }
        3 => raw("{'descr': '<f8', 'shape': (2, x), }", &[0u8; 16]),
        4 => raw("garbage that is no dictionary", &[0u8; 16]),
        5 => b"\x93NUMPX\x01\x00\x10\x00{}".to_vec(),
        6 => {
            let mut g = b"\x93NUMPY\x09\x00".to_vec();
            g.extend([16, 0]);
            g
        }
        7 => {
            let mut g = b"\x93NUMPY\x02\x00".to_vec();
            g.extend(u32::MAX.to_le_bytes());
            g.extend([b' '; 32]);
            g
        }
        8 => Vec::new(),
        9 => raw(&header("<i8", shape, false), &payload(rng, "<i8", n)),
        10 => raw(&header(descr, shape, true), &payload(rng, descr, numel.min(64))),
        11 => raw(&header(">f4", shape, false), &payload(rng, ">f4", numel.min(64))),
        12 => {
            let mut wrong: Vec<usize> = shape.to_vec();
            wrong.push(2);
            let m = wrong.iter().fold(1usize, |a, &d| a.saturating_mul(d)).min(4096);
            raw(&header(descr, &wrong, false), &payload(rng, descr, m))
        }
        13 => raw(&header(descr, &[], false), &payload(rng, descr, 1)),
        14 => raw(&header(descr, &[0, 3], false), &[]),
        _ => {
            let mut g = good();
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..g.len().max(1));
                if let Some(b) = g.get_mut(i) {
                    *b = rng.random();
                }
            }
            g
        }
    };
    DataFile::Bytes(bytes)
}
