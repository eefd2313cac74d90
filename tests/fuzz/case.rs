//! A fuzz case (model text, `--data` files, REPL or not), its data files, and saving it to disk.

use super::npy;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use uq::syntax::ast::{ElemType, StmtKind};

/// A file bound with `--data`: bytes written to the scratch folder, or a path used as is.
#[derive(Clone, Debug)]
pub enum DataFile {
    Bytes(Vec<u8>),
    Path(String),
}

#[derive(Clone, Debug)]
pub struct Case {
    pub model: String,
    /// `--data NAME=FILE` bindings, in order.
    pub data: Vec<(String, DataFile)>,
    /// Also feed the model to a REPL session, line by line.
    pub repl: bool,
}

/// Paths that are not regular `.npy` files: devices, folders, a FIFO, links, nothing.
pub fn special_paths(scratch: &Path) -> Vec<String> {
    let s = |p: &str| scratch.join(p).display().to_string();
    vec![
        "/dev/zero".into(),
        "/dev/null".into(),
        "/dev/urandom".into(),
        scratch.display().to_string(),
        s("pipe.npy"),
        s("missing.npy"),
        s("link_to_zero.npy"),
        s("loop.npy"),
        String::new(),
    ]
}

/// The scratch folder's fixed contents: a FIFO, links, modules to import (a 70-deep chain too).
pub fn prepare_scratch(scratch: &Path) {
    let _ = std::fs::create_dir_all(scratch);
    #[cfg(unix)]
    {
        let fifo = scratch.join("pipe.npy");
        if !fifo.exists() {
            let c = std::ffi::CString::new(fifo.display().to_string()).unwrap_or_default();
            // SAFETY: a plain libc call with a valid NUL-terminated path.
            unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        }
        let _ = std::os::unix::fs::symlink("/dev/zero", scratch.join("link_to_zero.npy"));
        let _ = std::os::unix::fs::symlink(scratch.join("loop.npy"), scratch.join("loop.npy"));
    }
    for i in 0..70 {
        let text = format!("import chain{}\nfn c{i}(x) = x + {i}\n", i + 1);
        let _ = std::fs::write(scratch.join(format!("chain{i}.uq")), text);
    }
    let _ = std::fs::write(scratch.join("chain70.uq"), "fn c70(x) = x\n");
    let _ = std::fs::write(scratch.join("selfimp.uq"), "import selfimp\nfn s(x) = x\n");
    let _ = std::fs::write(scratch.join("helpers.uq"), "fn h(x) = 2 * x\nlet k = 3\n");
}

/// The `data` declarations of `text` (name, element type, shape), from its syntax tree.
fn declared(text: &str) -> Vec<(String, bool, Vec<usize>)> {
    let (program, _) = uq::syntax::parse(uq::source::FileId(0), text);
    program
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Data { name, ty, .. } => Some((
                name.name.clone(),
                ty.elem == ElemType::Complex,
                ty.dims.iter().map(|(d, _)| *d).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// Bindings for the model's data: mostly files that fit the declaration, else broken ones.
pub fn bindings(rng: &mut ChaCha8Rng, text: &str, scratch: &Path) -> Vec<(String, DataFile)> {
    let mut out = Vec::new();
    for (name, complex, shape) in declared(text) {
        let file = match rng.random_range(0..10) {
            0..=4 => npy::fitting(rng, complex, &shape),
            5..=7 => npy::broken(rng, complex, &shape),
            8 => DataFile::Path(special_paths(scratch).choose(rng).cloned().unwrap_or_default()),
            _ => continue,
        };
        out.push((name, file));
    }
    match rng.random_range(0..12) {
        0 => out.push(("not_declared".into(), npy::fitting(rng, false, &[2]))),
        1 if !out.is_empty() => {
            let again = out[0].clone();
            out.push(again);
        }
        _ => {}
    }
    out
}

/// Write the case into a new folder under `root` (model, data files, the `uq check` command that
/// replays it); returns the folder.
pub fn save(case: &Case, root: &Path, why: &str) -> PathBuf {
    let hash = fnv(case.model.as_bytes());
    let dir = root.join(format!("{hash:016x}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("model.uq"), &case.model);
    let mut args = String::new();
    for (i, (name, file)) in case.data.iter().enumerate() {
        let path = match file {
            DataFile::Bytes(b) => {
                let p = format!("f{i}.npy");
                let _ = std::fs::write(dir.join(&p), b);
                p
            }
            DataFile::Path(p) => p.clone(),
        };
        args.push_str(&format!(" --data {name}={path}"));
    }
    let readme = format!(
        "{why}\n\nreplay (in this folder): uq check model.uq{args}\nrepl: {}\n",
        case.repl
    );
    let _ = std::fs::write(dir.join("README.txt"), readme);
    dir
}

/// FNV-1a, for stable file names.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
