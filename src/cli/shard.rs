//! `--shard-from-env`: the shard index from a cluster scheduler's environment (SLURM job arrays,
//! Kubernetes indexed Jobs) as the first global chain of this run, or with `--over` as the block of
//! the stack's slices this task runs.

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

/// The number of array tasks a stack's slices are split over: `--shards N`, else
/// `SLURM_ARRAY_TASK_COUNT`.
pub fn task_count(flag: Option<u64>, get: impl Fn(&str) -> Option<String>) -> Result<u64, String> {
    let n = match flag {
        Some(n) => n,
        None => {
            let v = get("SLURM_ARRAY_TASK_COUNT").ok_or(
                "--over with --shard-from-env: give the number of array tasks with --shards N (SLURM_ARRAY_TASK_COUNT is not set)",
            )?;
            v.trim().parse::<u64>().map_err(|_| {
                format!("--shard-from-env: SLURM_ARRAY_TASK_COUNT={v:?} is not a whole number")
            })?
        }
    };
    if n == 0 {
        return Err("--shards: the number of array tasks must be at least 1".into());
    }
    Ok(n)
}

/// The contiguous block of slices `first..end` of task `index` of `tasks` over `slices` slices:
/// `⌊index·slices/tasks⌋ … ⌊(index+1)·slices/tasks⌋ − 1`, blocks differing in size by one at most.
pub fn slice_range(index: u64, tasks: u64, slices: usize) -> Result<std::ops::Range<usize>, String> {
    if index >= tasks {
        return Err(format!(
            "--shard-from-env: task index {index} is not below the {tasks} array tasks (number the tasks 0…{})",
            tasks - 1
        ));
    }
    if tasks > slices as u64 {
        return Err(format!(
            "--shard-from-env: {tasks} array tasks for a stack of {slices} slices; use at most one task per slice"
        ));
    }
    let at = |k: u64| (k as u128 * slices as u128 / tasks as u128) as usize;
    Ok(at(index)..at(index + 1))
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

    #[test]
    fn slices_split_into_contiguous_blocks_that_cover_the_stack_once() {
        for (slices, tasks) in [(16, 4), (16, 3), (5, 5), (7, 2), (1, 1)] {
            let blocks: Vec<_> = (0..tasks)
                .map(|i| slice_range(i, tasks, slices).unwrap())
                .collect();
            let all: Vec<usize> = blocks.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(all, (0..slices).collect::<Vec<_>>(), "{slices} over {tasks}");
            let sizes: Vec<usize> = blocks.iter().map(|r| r.len()).collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1 && *lo >= 1, "{sizes:?}");
        }
        assert_eq!(slice_range(1, 3, 16), Ok(5..10));
        assert!(slice_range(3, 3, 16).unwrap_err().contains("not below"));
        assert!(slice_range(0, 5, 4)
            .unwrap_err()
            .contains("at most one task per slice"));
        let env = |k: &str| (k == "SLURM_ARRAY_TASK_COUNT").then(|| "4".to_string());
        assert_eq!(task_count(None, env), Ok(4));
        assert_eq!(task_count(Some(2), env), Ok(2));
        assert!(task_count(None, |_| None).unwrap_err().contains("--shards N"));
        assert!(task_count(Some(0), |_| None).is_err());
    }
}
