//! Output: npy, png and summary.json writers (atomic), and the terminal summary table.
