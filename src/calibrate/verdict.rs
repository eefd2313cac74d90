//! The one-paragraph verdict of a calibration, printed in the terminal and kept in calibration.json.

use super::analysis::Analysis;

fn level(a: &Analysis, q: f64) -> Option<&super::CoveragePoint> {
    a.coverage.iter().find(|c| (c.nominal - q).abs() < 1e-9)
}

/// Say whether the ranks look uniform, how the 50% and 90% intervals cover, and which way it errs.
pub fn verdict(a: &Analysis) -> String {
    let mut s = format!("{} repetitions of {} parameters: ", a.reps, a.params);
    let p = a.rank_uniformity_p;
    if p.is_nan() {
        s.push_str(&format!("no uniformity test ({}). ", a.test));
    } else if p < 0.001 {
        s.push_str(&format!(
            "the ranks of the truths are not uniform (p = {p:.2e}, {}): the posterior is miscalibrated. ",
            a.test
        ));
    } else if p < 0.01 {
        s.push_str(&format!(
            "the ranks are borderline (p = {p:.3}, {}): run more repetitions before trusting the intervals. ",
            a.test
        ));
    } else {
        s.push_str(&format!(
            "no evidence against calibration in the ranks (p = {p:.3}, {}). ",
            a.test
        ));
    }
    for q in [0.5, 0.9] {
        if let Some(c) = level(a, q) {
            // Nine levels are looked at: call it off only beyond 3 standard errors.
            let z = (c.empirical - c.nominal) / c.se.max(1e-12);
            let how = if z.abs() <= 3.0 {
                "as nominal"
            } else if c.empirical < c.nominal {
                "too narrow"
            } else {
                "too wide"
            };
            s.push_str(&format!(
                "Central {:.0}% intervals cover {:.1}% ± {:.1}% of the truths ({how}). ",
                100.0 * q,
                100.0 * c.empirical,
                196.0 * c.se,
            ));
        }
    }
    let dev = a.mean_rank - 0.5;
    if dev.abs() > 0.05 {
        let side = if dev > 0.0 { "below" } else { "above" };
        s.push_str(&format!(
            "The mean normalised rank is {:.3}: the posterior sits {side} the truths on average. ",
            a.mean_rank
        ));
    }
    if a.min_kept < 10 {
        s.push_str(&format!(
            "Some ranks rest on {} thinned draws only (effective sample size): draw more for finer ranks.",
            a.min_kept
        ));
    }
    s.trim_end().to_string()
}
