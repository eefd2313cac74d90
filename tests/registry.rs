//! The registries are the single source: every registered sampler and option appears in
//! `uq sample --help`, the REPL's `:help` and `docs/options.md`, and nothing else appears there;
//! every error code of the catalogue is in `docs/errors.md`, and the document lists no other.

use assert_cmd::Command;
use std::collections::BTreeSet;
use uq::check::ALL_CODES;
use uq::session::{reference_markdown, sampler_names, OPTIONS};

fn flag(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

#[test]
fn docs_options_md_is_the_registry_reference() {
    let generated = reference_markdown();
    if std::env::var_os("UQ_BLESS").is_some() {
        std::fs::write("docs/options.md", &generated).unwrap();
    }
    let text = std::fs::read_to_string("docs/options.md").unwrap_or_default();
    assert!(
        text == generated,
        "docs/options.md differs from the registry: run `UQ_BLESS=1 cargo test --test registry`"
    );
    for s in sampler_names().skip(1) {
        assert!(
            text.contains(&format!("| `{s}` |")),
            "docs/options.md lacks sampler {s}"
        );
    }
}

#[test]
fn sample_help_lists_exactly_the_registered_options_and_samplers() {
    let out = Command::cargo_bin("uq")
        .unwrap()
        .args(["sample", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let section = help
        .split("Sampler options")
        .nth(1)
        .expect("`uq sample --help` has a sampler options section");
    let listed: BTreeSet<String> = section
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .collect();
    let registered: BTreeSet<String> = OPTIONS.iter().map(|o| flag(o.key)).collect();
    assert_eq!(
        listed, registered,
        "flags in the sampler options section of --help"
    );
    for s in sampler_names() {
        assert!(help.contains(s), "--help does not name sampler {s}");
    }
}

#[test]
fn repl_help_lists_every_option_and_sampler() {
    let out = Command::cargo_bin("uq")
        .unwrap()
        .arg("repl")
        .write_stdin(":help\n")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| -> BTreeSet<String> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("`:help` has no `{prefix}` line:\n{text}"))
            .split(", ")
            .map(|w| w.trim().to_string())
            .collect()
    };
    let mut keys: BTreeSet<String> = OPTIONS.iter().map(|o| o.key.to_string()).collect();
    keys.insert("sampler".into());
    assert_eq!(line(":sample options: "), keys);
    assert_eq!(line("samplers: "), sampler_names().map(String::from).collect());
}

#[test]
fn every_registered_sampler_is_a_valid_infer_name() {
    let model = |name: &str| format!("prior x : real[2] ~ Normal(0, 1)\ninfer {name}()\n");
    let dir = tempfile::tempdir().unwrap();
    for name in sampler_names() {
        let path = dir.path().join("m.uq");
        std::fs::write(&path, model(name)).unwrap();
        let out = Command::cargo_bin("uq")
            .unwrap()
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("E0701"), "{name}: {stderr}");
    }
}

#[test]
fn docs_errors_md_lists_exactly_the_catalogue() {
    let text = std::fs::read_to_string("docs/errors.md").unwrap();
    let documented: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| E"))
        .filter_map(|l| l.split(' ').next())
        .filter(|c| c.len() == 4 && !c.starts_with("00"))
        .collect();
    let catalogue: BTreeSet<&str> = ALL_CODES.iter().map(|c| &c[1..]).collect();
    assert_eq!(
        documented, catalogue,
        "checker codes in docs/errors.md vs the catalogue (ALL_CODES)"
    );
}
