//! `--shard-from-env`: the shard index from a cluster scheduler's environment (SLURM job arrays,
//! Kubernetes indexed Jobs) as the first global chain of this run.

/// The variables read, in order.
pub const SHARD_VARS: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

/// The shard index from `get(var)` (the first of [`SHARD_VARS`] that is set), or why there is none.
pub fn shard_index(get: impl Fn(&str) -> Option<String>) -> Result<u64, String> {
    for var in SHARD_VARS {
        if let Some(v) = get(var) {
            return v.trim().parse::<u64>().map_err(|_| {
                format!(
                    "--shard-from-env: {var}={v:?} is not a whole number; it must be the array task's index"
                )
            });
        }
    }
    Err(format!(
        "--shard-from-env: neither {} nor {} is set (run under a SLURM job array or a Kubernetes indexed Job, or give --chain-offset K)",
        SHARD_VARS[0], SHARD_VARS[1]
    ))
}

/// The first chain of shard `index` of `chains` chains each.
pub fn chain_offset(index: u64, chains: u64) -> Result<u64, String> {
    index
        .checked_mul(chains)
        .filter(|k| *k <= u32::MAX as u64)
        .ok_or_else(|| {
            format!("--shard-from-env: shard {index} × {chains} chains is too large a chain index")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_first_then_kubernetes_and_clear_errors() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            shard_index(env(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("JOB_COMPLETION_INDEX", "5")
            ])),
            Ok(3)
        );
        assert_eq!(shard_index(env(&[("JOB_COMPLETION_INDEX", "5")])), Ok(5));
        let none = shard_index(env(&[])).unwrap_err();
        assert!(
            none.contains("SLURM_ARRAY_TASK_ID") && none.contains("--chain-offset"),
            "{none}"
        );
        let bad = shard_index(env(&[("SLURM_ARRAY_TASK_ID", "1-3")])).unwrap_err();
        assert!(bad.contains("not a whole number"), "{bad}");
        assert_eq!(chain_offset(3, 2), Ok(6));
        assert!(chain_offset(u64::MAX, 2).is_err());
    }
}
