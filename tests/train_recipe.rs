//! `uq train --recipe`: the shipped priors' recipes (models/recipes/) resolve under `--dry-run` and
//! agree with the command each shipped file records; later flags override earlier ones; a bad
//! recipe is a usage error naming its line; a dry run writes nothing.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ndarray::Array3;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Eight 64 × 64 discs of growing radius, as `images.npy` in `dir` (the recipes' image size).
fn discs(dir: &Path) -> PathBuf {
    let data = dir.join("images.npy");
    let images = Array3::from_shape_fn((8, 64, 64), |(i, y, x)| {
        ((y as f32 - 32.0).powi(2) + (x as f32 - 32.0).powi(2) < 200.0 + 40.0 * i as f32) as u8 as f32 * 0.8
    });
    ndarray_npy::write_npy(&data, &images).unwrap();
    data
}

/// `uq train ARGS --dry-run`'s JSON, or the failed run's stderr.
fn dry_run(args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::cargo_bin("uq")
        .unwrap()
        .arg("train")
        .args(args)
        .arg("--dry-run")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "recipe errors are usage errors: {stderr}"
        );
        Err(stderr)
    }
}

/// Flag → value (`""` for a switch) of a whitespace-separated command or recipe, `#` comments out.
fn flags(text: &str) -> BTreeMap<String, String> {
    let words: Vec<&str> = text
        .lines()
        .flat_map(|l| l.split('#').next().unwrap_or("").split_whitespace())
        .collect();
    let mut map = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(flag) = w.strip_prefix("--") {
            let value = words.get(i + 1).filter(|v| !v.starts_with("--"));
            map.insert(flag.to_string(), value.unwrap_or(&"").to_string());
        }
    }
    map
}

#[test]
fn each_shipped_recipe_resolves_and_matches_the_command_its_file_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = discs(dir.path());
    let out = dir.path().join("m.safetensors");
    let mut recipes: Vec<PathBuf> = std::fs::read_dir("models/recipes")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flags"))
        .collect();
    recipes.sort();
    assert!(recipes.len() >= 4, "{recipes:?}");
    for recipe in &recipes {
        let stem = recipe.file_stem().unwrap().to_str().unwrap();
        let model = Path::new("models").join(format!("{stem}.safetensors"));
        let (_, meta) = uq::score::read_safetensors(&model).unwrap();
        let mine = flags(&std::fs::read_to_string(recipe).unwrap());
        let theirs = flags(&meta["train_command"]);
        // Every setting both name is the same (JAX's script shares uq train's flag names).
        let shared: Vec<_> = mine.keys().filter(|k| theirs.contains_key(*k)).collect();
        assert!(shared.len() >= 6, "{stem}: {shared:?}");
        for k in shared {
            assert_eq!(mine[k], theirs[k], "{stem}: --{k}");
        }
        if meta.contains_key("train_framework") {
            // A run stopped by a time budget: the recipe gives the steps it took.
            assert_eq!(mine["steps"], meta["train_steps"], "{stem}");
        }

        let args = [
            "--recipe",
            recipe.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ];
        let plan = dry_run(&[&args[..], &["--out", out.to_str().unwrap()]].concat()).unwrap();
        let cfg = &plan["config"];
        assert_eq!(plan["kind"], meta["kind"], "{stem}");
        let channels: Vec<String> = cfg["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(channels.join(","), meta["channels"], "{stem}");
        assert_eq!(cfg["batch"].to_string(), meta["train_batch"], "{stem}");
        assert_eq!(cfg["seed"].to_string(), meta["train_seed"], "{stem}");
        let lr: f64 = meta["train_lr"].parse().unwrap();
        assert_eq!(cfg["lr"].as_f64(), Some(lr), "{stem}");
        if let Some(ema) = meta.get("train_ema") {
            assert_eq!(cfg["ema"].as_f64(), Some(ema.parse().unwrap()), "{stem}");
        }
        assert_eq!(
            plan["data"],
            data.to_str().unwrap(),
            "{stem}: --data after the recipe wins"
        );
        assert_eq!(
            plan["init"].as_str(),
            mine.get("init").map(String::as_str),
            "{stem}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a dry run writes nothing"
    );
}

#[test]
fn later_flags_override_earlier_ones_and_bad_recipes_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = discs(dir.path());
    let (data, out) = (data.to_str().unwrap(), dir.path().join("m.safetensors"));
    let out = out.to_str().unwrap();
    let vp = "models/recipes/mri64_vp.flags";
    let after = dry_run(&["--recipe", vp, "--data", data, "--out", out, "--batch", "4"]).unwrap();
    assert_eq!(after["config"]["batch"], 4);
    let before = dry_run(&["--batch", "4", "--recipe", vp, "--data", data, "--out", out]).unwrap();
    assert_eq!(before["config"]["batch"], 8);
    let aniso = |flags: &[&str]| {
        let mut argv = vec![
            "--recipe",
            "models/recipes/mri64_ve3.flags",
            "--data",
            data,
            "--out",
            out,
        ];
        argv.extend_from_slice(flags);
        dry_run(&argv).unwrap()["config"]["augment_params"]["aniso"].clone()
    };
    assert_eq!(aniso(&[]), true, "the recipe's --aniso");
    assert_eq!(aniso(&["--no-aniso"]), false, "a later --no-aniso undoes it");
    assert_eq!(
        aniso(&["--no-aniso", "--aniso"]),
        true,
        "the later of the two wins"
    );
    let command: Vec<&str> = before["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        command.windows(2).any(|w| w == ["--augment", "full"]),
        "{command:?}"
    );

    let nested = dir.path().join("nested.flags");
    std::fs::write(
        &nested,
        "--batch 2\n# a comment\n--recipe models/recipes/mri64_vp.flags\n",
    )
    .unwrap();
    let e = dry_run(&["--recipe", nested.to_str().unwrap(), "--data", data, "--out", out]).unwrap_err();
    assert!(
        e.contains("nested.flags:3: a recipe cannot name another recipe"),
        "{e}"
    );
    let e = dry_run(&[
        "--recipe",
        "models/recipes/none.flags",
        "--data",
        data,
        "--out",
        out,
    ])
    .unwrap_err();
    assert!(
        e.contains("--recipe models/recipes/none.flags: cannot read it"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "data and recipe only"
    );
}
