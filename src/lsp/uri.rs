//! `file:` URIs ↔ paths, and where the embedded standard library's modules are on disk.

use crate::check::STDLIB;
use lsp_types::Uri;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The local path of a `file:` URI (percent-decoded); `None` for other schemes.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file://host/path`: only the empty host and `localhost` are local.
    let path = match rest.strip_prefix("localhost") {
        Some(p) if p.starts_with('/') => p,
        _ => rest,
    };
    if !path.starts_with('/') {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let bytes = decode(path)?;
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

fn decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// The `file:` URI of an absolute path.
pub fn from_path(path: &Path) -> Option<Uri> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut s = String::from("file://");
    for b in abs.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).ok()
}

/// The file of the stdlib module `name` for an editor to open: the source tree's `stdlib/NAME.uq`
/// when this binary was built from it and the file is unchanged, else a copy of the embedded text
/// that uq writes under the user's cache folder (`$XDG_CACHE_HOME/uq/stdlib-VERSION/`).
pub fn stdlib_file(name: &str) -> Option<PathBuf> {
    let (_, text) = STDLIB.iter().find(|(n, _)| *n == name)?;
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("stdlib")
        .join(format!("{name}.uq"));
    if std::fs::read_to_string(&built).is_ok_and(|t| t == *text) {
        return Some(built);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let dir = cache
        .join("uq")
        .join(format!("stdlib-{}", env!("CARGO_PKG_VERSION")));
    let file = dir.join(format!("{name}.uq"));
    if std::fs::read_to_string(&file).is_ok_and(|t| t == *text) {
        return Some(file);
    }
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(&file, text).ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_through_uris() {
        let p = Path::new("/tmp/a dir/ü.uq");
        let uri = from_path(p).expect("a uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%BC.uq");
        assert_eq!(to_path(&uri).as_deref(), Some(p));
        let other = Uri::from_str("untitled:Untitled-1").expect("a uri");
        assert_eq!(to_path(&other), None);
    }

    #[test]
    fn stdlib_modules_have_files_with_their_text() {
        for (name, text) in STDLIB {
            let file = stdlib_file(name).expect("a stdlib file");
            assert_eq!(std::fs::read_to_string(file).ok().as_deref(), Some(*text));
        }
        assert_eq!(stdlib_file("no_such_module"), None);
    }
}
