//! `uq train --recipe FILE` (a file of flags, expanded in place; later flags override earlier ones) and `--dry-run`'s resolved settings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::train::TrainArgs;

/// The flag that names a recipe file.
const FLAG: &str = "--recipe";
/// A recipe larger than this is not a list of flags.
const MAX_BYTES: u64 = 1 << 20;

/// `args` (program name first) with the flags of every `--recipe FILE` / `--recipe=FILE` of `uq train`
/// inserted right after it; any other command is returned unchanged. An error names the file and line.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    if args.get(1).and_then(|a| a.to_str()) != Some("train") {
        return Ok(args);
    }
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.into_iter().peekable();
    out.extend(rest.by_ref().take(2));
    while let Some(arg) = rest.next() {
        let text = arg.to_str().map(str::to_owned);
        out.push(arg);
        let file = match text.as_deref() {
            Some("--") => {
                out.extend(rest);
                break;
            }
            // A missing value (nothing, or another flag next) is clap's to report.
            Some(FLAG) => match rest.next_if(|f| !f.as_encoded_bytes().starts_with(b"-")) {
                Some(f) => {
                    out.push(f.clone());
                    PathBuf::from(f)
                }
                None => continue,
            },
            Some(t) => match t.strip_prefix("--recipe=") {
                Some(f) => PathBuf::from(f),
                None => continue,
            },
            None => continue,
        };
        out.extend(read(&file)?.into_iter().map(OsString::from));
    }
    Ok(out)
}

/// The flags of one recipe file.
fn read(path: &Path) -> Result<Vec<String>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("--recipe {shown}: cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "--recipe {shown}: not a file (give a text file of `uq train` flags)"
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "--recipe {shown}: {} bytes; a recipe is a short text file of flags (at most 1 MiB)",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("--recipe {shown}: {e}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("--recipe {shown}: not UTF-8 text (a recipe is a text file of flags)"))?;
    let tokens = tokenize(&text).map_err(|(line, m)| format!("{shown}:{line}: {m}"))?;
    for (i, (line, t)) in tokens.iter().enumerate() {
        if t == FLAG || t.starts_with("--recipe=") {
            return Err(format!(
                "{shown}:{line}: a recipe cannot name another recipe: copy its flags here, or give \
                 both with two --recipe flags on the command line"
            ));
        }
        if i == 0 && (t == "uq" || t == "train" || t.ends_with("/uq")) {
            return Err(format!(
                "{shown}:{line}: a recipe holds `uq train`'s flags, not the command: remove `{t}`"
            ));
        }
    }
    Ok(tokens.into_iter().map(|(_, t)| t).collect())
}

/// Split a recipe into (line, token) pairs, as a shell would: whitespace separates, `#` at the start
/// of a word comments out the rest of the line, `'…'` is literal, `"…"` and a backslash escape, and a
/// backslash at the end of a line continues it.
fn tokenize(text: &str) -> Result<Vec<(usize, String)>, (usize, String)> {
    let mut tokens = Vec::new();
    let mut word: Option<(usize, String)> = None;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                tokens.extend(word.take());
                line += 1;
            }
            c if c.is_whitespace() => tokens.extend(word.take()),
            '#' if word.is_none() => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {
                    tokens.extend(word.take());
                    line += 1;
                }
                Some(e) => word.get_or_insert((line, String::new())).1.push(e),
                None => return Err((line, "a backslash at the end of the file".into())),
            },
            '\'' | '"' => {
                let start = line;
                let w = &mut word.get_or_insert((line, String::new())).1;
                loop {
                    match chars.next() {
                        None => return Err((start, format!("this {c}-quote is never closed"))),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' && matches!(chars.peek(), Some('"' | '\\')) => {
                            w.extend(chars.next());
                        }
                        Some(q) => {
                            if q == '\n' {
                                line += 1;
                            }
                            w.push(q);
                        }
                    }
                }
            }
            c => word.get_or_insert((line, String::new())).1.push(c),
        }
    }
    tokens.extend(word);
    Ok(tokens)
}

/// `--dry-run`'s output: the resolved settings of a run about to start at `step`, as JSON on stdout.
pub(super) fn print_plan(
    args: &TrainArgs,
    config: serde_json::Value,
    step: usize,
    data_name: &str,
    (train, heldout): (usize, usize),
    checkpoint: &Path,
) -> anyhow::Result<ExitCode> {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let plan = serde_json::json!({
        "kind": format!("{:?}", args.kind).to_lowercase(),
        "config": config,
        "start_step": step,
        "data": data_name,
        "train_images": train,
        "heldout_images": heldout,
        "out": args.out.display().to_string(),
        "checkpoint": checkpoint.display().to_string(),
        "checkpoint_every": args.checkpoint_every,
        "init": path(&args.init),
        "resume": path(&args.resume),
        "command": super::command_line(),
    });
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text).unwrap().into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn splits_like_a_shell_with_comments_quotes_and_continuations() {
        let text = "# mri64 recipe\n--kind ve   --channels 32,64,128 \\\n  --lr 3e-4 # Adam\n\
                    --data 'a b.npy',\"c\\\"d.npy\" --x=\"\"\n";
        assert_eq!(
            words(text),
            [
                "--kind",
                "ve",
                "--channels",
                "32,64,128",
                "--lr",
                "3e-4",
                "--data",
                "a b.npy,c\"d.npy",
                "--x="
            ]
        );
        let lines: Vec<usize> = tokenize(text).unwrap().into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, [2, 2, 2, 2, 3, 3, 4, 4, 4]);
        assert_eq!(words("a#b #c\nd"), ["a#b", "d"]);
        assert!(words("  \n# only comments\n").is_empty());
    }

    #[test]
    fn an_open_quote_names_its_line() {
        assert_eq!(tokenize("--a 1\n--b 'x\ny").unwrap_err().0, 2);
        assert!(tokenize("--a \\").is_err());
    }

    #[test]
    fn flags_go_in_place_and_other_commands_are_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("r.flags");
        std::fs::write(&r, "--batch 128 --lr 3e-4\n").unwrap();
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let rs = r.to_str().unwrap();
        let got = expand(os(&[
            "uq", "train", "--batch", "8", "--recipe", rs, "--lr", "1e-3",
        ]))
        .unwrap();
        assert_eq!(
            got,
            os(&[
                "uq", "train", "--batch", "8", "--recipe", rs, "--batch", "128", "--lr", "3e-4", "--lr",
                "1e-3"
            ])
        );
        let eq = format!("--recipe={rs}");
        let got = expand(os(&["uq", "train", &eq])).unwrap();
        assert_eq!(got, os(&["uq", "train", &eq, "--batch", "128", "--lr", "3e-4"]));
        let sample = os(&["uq", "sample", "--recipe", rs]);
        assert_eq!(expand(sample.clone()).unwrap(), sample);
        let after = os(&["uq", "train", "--", "--recipe", rs]);
        assert_eq!(expand(after.clone()).unwrap(), after);
    }

    #[test]
    fn bad_recipes_are_errors_that_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let run = |p: &str| expand(["uq", "train", "--recipe", p].map(OsString::from).to_vec());
        let nested = write("n.flags", "--lr 1\n\n--recipe other.flags\n");
        assert!(run(&nested)
            .unwrap_err()
            .contains("n.flags:3: a recipe cannot name another"));
        let command = write("c.flags", "uq train --lr 1\n");
        assert!(run(&command).unwrap_err().contains("c.flags:1: a recipe holds"));
        let quote = write("q.flags", "--lr 1 \"x\n");
        assert!(run(&quote)
            .unwrap_err()
            .contains("q.flags:1: this \"-quote is never closed"));
        let missing = dir.path().join("missing.flags");
        assert!(run(missing.to_str().unwrap())
            .unwrap_err()
            .starts_with("--recipe "));
        assert!(run(dir.path().to_str().unwrap())
            .unwrap_err()
            .contains("not a file"));
        let binary = dir.path().join("b.flags");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        assert!(run(binary.to_str().unwrap()).unwrap_err().contains("not UTF-8"));
    }
}
