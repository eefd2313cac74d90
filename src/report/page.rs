//! The report's page in order: the run at a glance, warnings, the model and the planner's reason, the
//! summary table, one section per latent, the sampler, and the provenance.

use super::html::{esc, kv, none, table, Page};
use super::load::{ModelSource, Run};
use super::{images, sampler, scalars, ReportError};
use crate::output::format_value;
use ndarray::ArrayD;

/// The whole page of `run`; `truth` is (latent index, true values) from `--truth`.
pub(super) fn build(run: &Run, truth: Option<(usize, &ArrayD<f64>)>) -> Result<String, ReportError> {
    let s = &run.summary;
    let name = run
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| run.dir.display().to_string());
    let mut page = Page::default();
    page.section("run", "Run");
    let status = if s.partial {
        "<b>partial</b>: interrupted; only the draws made so far".to_string()
    } else {
        "complete".to_string()
    };
    page.push(&format!(
        r#"<div class="reason"><b>{}</b>: {}</div>"#,
        esc(&s.sampler),
        esc(&s.reason)
    ));
    page.push(&kv(&[
        ("folder", esc(&run.dir.display().to_string())),
        ("status", status),
        (
            "chains × draws",
            format!("{} × {} (warm-up {})", s.chains, s.draws, s.warmup),
        ),
        ("seed", s.seed.to_string()),
        ("wall time", format!("{} s", format_value(s.wall_seconds))),
        (
            "worst R̂ / bulk ESS / tail ESS",
            format!(
                "{} / {} / {}",
                format_value(s.rhat_max),
                format_value(s.ess_bulk_min),
                format_value(s.ess_tail_min)
            ),
        ),
        ("uq version", esc(&s.provenance.uq_version)),
        (
            "command",
            format!("<code>{}</code>", esc(&s.provenance.command.join(" "))),
        ),
    ]));

    page.section("warnings", &format!("Warnings ({})", s.warnings.len()));
    if s.warnings.is_empty() {
        page.push(&none("the run raised no warnings"));
    }
    for w in &s.warnings {
        page.push(&format!(
            r#"<div class="warn"><b>{:?}</b>: {}</div>"#,
            w.kind,
            esc(&w.message)
        ));
    }
    for p in s
        .predictive
        .iter()
        .filter(|p| p.p_value < 0.05 || p.p_value > 0.95)
    {
        page.push(&format!(
            r#"<div class="warn">posterior predictive check: {} of <b>{}</b> has p = {} (observed {} against replicates {} ± {})</div>"#,
            esc(&p.statistic),
            esc(&p.data),
            format_value(p.p_value),
            format_value(p.observed),
            format_value(p.replicate_mean),
            format_value(p.replicate_sd)
        ));
    }

    page.section("model", "Model");
    page.push(&format!(
        r#"<div class="reason">Planner: <b>{}</b> — {}</div>"#,
        esc(&s.sampler),
        esc(&s.reason)
    ));
    match &run.model {
        ModelSource::Found { path, text, same } => {
            page.push(&format!(
                "<p><code>{}</code></p><pre>{}</pre>",
                esc(path),
                esc(text)
            ));
            if !same {
                page.push(r#"<div class="warn">This file changed since the run (its SHA-256 differs from the one recorded): the run used another version.</div>"#);
            }
        }
        ModelSource::Missing(why) => page.push(&none(&format!("model source not shown: {why}"))),
    }
    let inputs: Vec<Vec<String>> = s
        .provenance
        .imports
        .iter()
        .map(|f| ("import", f))
        .chain(s.provenance.data.iter().map(|f| ("data", f)))
        .chain(s.provenance.priors.iter().map(|f| ("prior", f)))
        .map(|(kind, f)| {
            vec![
                kind.to_string(),
                esc(f.name.as_deref().unwrap_or("")),
                esc(&f.path),
                esc(&f
                    .sha256
                    .as_deref()
                    .map_or("unreadable".into(), |h| h[..h.len().min(12)].to_string())),
            ]
        })
        .collect();
    if !inputs.is_empty() {
        page.push(&table(&["input", "name", "path", "SHA-256 (start)"], &inputs));
    }

    page.section("summary", "Summary table");
    scalars::summary_table(&mut page, &run.latents);

    for (k, l) in run.latents.iter().enumerate() {
        let dims: Vec<String> = l.shape.iter().map(usize::to_string).collect();
        page.section(
            &format!("latent-{k}"),
            &format!("{} [{}]", l.name, dims.join("×")),
        );
        if l.is_image() {
            let t = truth.filter(|(i, _)| *i == k).map(|(_, a)| a);
            images::section(&mut page, l, t)?;
        } else {
            if truth.is_some_and(|(i, _)| i == k) {
                page.push(&none("--truth is compared with 2-D latents only"));
            }
            scalars::section(&mut page, l);
        }
    }
    if s.latents.is_empty() {
        page.push(&none("the run has no latents"));
    }

    page.section("sampler", "Sampler");
    sampler::section(&mut page, run);

    page.section("provenance", "Options");
    let opts: Vec<(&str, String)> = s
        .provenance
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), esc(&v.to_string())))
        .collect();
    if opts.is_empty() {
        page.push(&none("the run records no options"));
    } else {
        page.push(&kv(&opts));
    }
    let heading = format!("uq run <code>{}</code>", esc(&name));
    Ok(page.finish(&format!("uq report: {name}"), &heading))
}
