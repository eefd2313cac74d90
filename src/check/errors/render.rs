//! How each checker error renders: its code, message, labels and help, one match arm per variant.

use super::{CheckError, NameKind};
use crate::diagnostics::{Diagnostic, Severity};
use crate::dist::{self, Role, REGISTRY};
use crate::source::Span;
use std::path::Path;

fn e(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(code, span, message)
}

fn did_you_mean(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| format!("did you mean `{s}`?"))
}

/// The likelihoods that accept complex data.
fn complex_likelihoods() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|d| d.signature(Role::Likelihood).is_some() && d.support().allows_complex())
        .map(|d| d.name())
        .collect()
}

fn sigs(list: &[String]) -> String {
    format!("Available signatures:\n  {}", list.join("\n  "))
}

impl CheckError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        self.diagnostic().code
    }

    /// The one constructor of each rendered message.
    pub fn diagnostic(&self) -> Diagnostic {
        use CheckError::*;
        match self {
            UnknownName { name, span, suggestion } => {
                let d = e("E0101", *span, format!("identifier `{name}` is not in scope"))
                    .with_label("not found in this scope");
                match did_you_mean(suggestion) {
                    Some(h) => d.with_help(h),
                    None => d.with_help("define it with `data`, `let`, `fn` or `prior`, or `import` a module"),
                }
            }
            Duplicate { name, span, first } => e("E0102", *span, format!("`{name}` is defined twice"))
                .with_label("defined again here")
                .with_secondary(*first, "first defined here")
                .with_help("rename one of the two definitions"),
            UsedBeforeDefinition { name, span, def } => {
                e("E0103", *span, format!("`{name}` is used before its definition"))
                    .with_label("used here")
                    .with_secondary(*def, "defined later here")
                    .with_help("move the definition above this use")
            }
            UnknownModule { name, span, suggestion, searched } => {
                let d = e("E0104", *span, format!("module `{name}` not found"))
                    .with_label("no such module")
                    .with_note(format!("searched {searched}"));
                match did_you_mean(suggestion) {
                    Some(h) => d.with_help(h),
                    None => d.with_help("put `NAME.uq` beside the model, or use a module from `stdlib/`"),
                }
            }
            ImportCycle { chain, span } => e("E0105", *span, "import cycle")
                .with_label("this import closes a cycle")
                .with_note(format!("import chain: {}", chain.join(" -> ")))
                .with_help("move the shared definitions into a module that imports neither"),
            ModuleStatement { module, what, span } => {
                e("E0106", *span, format!("module `{module}` contains a {what} statement"))
                    .with_label("not allowed in an imported module")
                    .with_help("an imported module may contain only `fn`, `let` and `import`")
            }
            ShadowsBuiltin { name, span } => {
                e("E0107", *span, format!("`{name}` is a built-in name and cannot be redefined"))
                    .with_label("redefines a built-in")
                    .with_help("choose another name")
            }
            FunctionAsValue { name, span } => e("E0108", *span, format!("function `{name}` used as a value"))
                .with_label("functions must be called")
                .with_help(format!("call it, e.g. `{name}(x)`")),
            ModelUnreadable { path, reason, span } => {
                e("E0109", *span, format!("cannot read model file `{path}`: {reason}"))
                    .with_label("unreadable")
                    .with_help("check the path of the model file")
            }
            ImportsTooDeep { limit, chain, span } => {
                e("E0110", *span, format!("imports nested more than {limit} deep"))
                    .with_label("this import is one too many")
                    .with_note(format!("import chain: {chain}"))
                    .with_help("import the modules the model needs directly, not through a long chain")
            }
            OpType { op, detail, span } => {
                let prefix = format!("`{op}`: ");
                let detail = detail.strip_prefix(&prefix).unwrap_or(detail);
                e("E0201", *span, format!("type mismatch in `{op}`: {detail}"))
                .with_label("ill-typed operation")
                    .with_help("shapes must match exactly, except that scalars broadcast; real ⊗ complex gives complex")
            }
            TooLarge { ty, span } => e("E0202", *span, format!("the type {ty} has too many elements"))
                .with_label("too large")
                .with_help(format!("tensors may have at most {} elements", crate::check::types::MAX_ELEMENTS)),
            ExpectedReal { what, found, span } => {
                e("E0203", *span, format!("{what} must be real, found {found}"))
                    .with_label("complex value here")
                    .with_help("take `re(...)`, `abs(...)` or `abs2(...)` to get a real value")
            }
            LatentType { name, declared, found, span, decl } => e(
                "E0204",
                *span,
                format!("the prior of `{name}` has type {found}, but `{name}` is declared {declared}"),
            )
            .with_label(format!("this prior gives {found}"))
            .with_secondary(*decl, format!("declared {declared} here"))
            .with_help("make the declared type and the prior's parameters agree (scalar parameters broadcast)"),
            ObservationType { name, param, data_ty, mean_ty, span, decl } => e(
                "E0205",
                *span,
                format!("data `{name}` is {data_ty}, but the likelihood's {param} is {mean_ty}"),
            )
            .with_label(format!("this is {mean_ty}"))
            .with_secondary(*decl, format!("`{name}` declared {data_ty} here"))
            .with_help(if data_ty.starts_with("complex") && mean_ty.starts_with("real") {
                "complex data needs a complex mean, e.g. `fft(x)`".to_string()
            } else {
                format!("the {param} must have exactly the data's type and shape")
            }),
            ParamShape { what, detail, span } => e("E0206", *span, format!("{what}: {detail}"))
                .with_label("wrong shape")
                .with_help("parameters are scalars or broadcast to the latent's (or data's) shape by numpy's rules: trailing dimensions equal or 1"),
            BadList { detail, span } => e("E0207", *span, format!("invalid list literal: {detail}"))
                .with_label("here")
                .with_help("lists hold constant numbers (or equally shaped constant lists)"),
            Arity { name, expected, found, span, signatures } => e(
                "E0301",
                *span,
                format!("`{name}` takes {expected}, but {found} {} given", if *found == 1 { "was" } else { "were" }),
            )
            .with_label("wrong number of arguments")
            .with_help(sigs(signatures)),
            ArgType { name, detail, span, signatures } => {
                e("E0302", *span, format!("ill-typed arguments to `{name}`: {detail}"))
                    .with_label("no signature matches")
                    .with_help(sigs(signatures))
            }
            StaticArg { name, what, span } => {
                e("E0303", *span, format!("argument of `{name}` must be {what}"))
                    .with_label("not a suitable constant")
                    .with_help("static arguments are number literals or `let` names bound to numbers")
            }
            FnArity { name, expected, found, span, def } => e(
                "E0304",
                *span,
                format!(
                    "function `{name}` takes {expected} argument{}, but {found} {} given",
                    if *expected == 1 { "" } else { "s" },
                    if *found == 1 { "was" } else { "were" }
                ),
            )
            .with_label("wrong number of arguments")
            .with_secondary(*def, "function defined here"),
            Recursion { chain, span } => e("E0305", *span, "recursive function call")
                .with_label("this call recurses")
                .with_note(format!("call chain: {}", chain.join(" -> ")))
                .with_help("functions are inlined, so they cannot call themselves, directly or indirectly"),
            TensorCallArity { name, found, span } => e(
                "E0306",
                *span,
                format!("tensor `{name}` applied like a function takes one argument, but {found} were given"),
            )
            .with_label("wrong number of arguments")
            .with_help(format!("`{name}(z)` means the pointwise product `{name} * z`")),
            LoadFailed { path, reason, span } => e("E0307", *span, format!("cannot load `{path}`: {reason}"))
                .with_label("in this `load`")
                .with_help("`load` reads a float32/float64/complex64/complex128 `.npy` file beside the model"),
            StringValue { span } => e("E0308", *span, "a string is not a value")
                .with_label("string here")
                .with_help("strings are only file names, in `load(...)`, `score(...)`, `data` and `infer`"),
            TooDeep { limit, chain, span, at } => {
                let d = e("E0309", *span, format!("expressions nested more than {limit} deep"))
                    .with_label("checking this nests too deeply")
                    .with_help("split the expression into steps with `let`, or shorten the chain of functions calling functions");
                let d = if at != span {
                    d.with_secondary(*at, "the limit is reached here")
                } else {
                    d
                };
                if chain.is_empty() {
                    d
                } else {
                    d.with_note(format!("inlined calls: {chain}"))
                }
            }
            TooMuchWork { limit, span } => e(
                "E0310",
                *span,
                format!("the model needs more than {limit} expressions once its functions are inlined"),
            )
            .with_label("inlining this grows too large")
            .with_help("every call is inlined, so a function that calls another twice doubles its size at each level"),
            DistributionAsValue { name, span } => {
                e("E0401", *span, format!("distribution `{name}` used as a value"))
                    .with_label("distributions appear only right of `~`")
                    .with_help(format!("write `prior x ~ {name}(...)` or `y ~ {name}(...)`"))
            }
            NotADistribution { span, suggestion } => {
                let d = e("E0402", *span, "the right of `~` must be a distribution").with_label("not a distribution");
                d.with_help(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "priors: {}; likelihoods: {}",
                        dist::names(Role::Prior).join(", "),
                        dist::names(Role::Likelihood).join(", ")
                    ),
                })
            }
            LikelihoodAsPrior { name, span } => e("E0403", *span, format!("`{name}` cannot be a prior"))
                .with_label("likelihood only")
                .with_help(format!("priors are {}", dist::join_and(&dist::usages(Role::Prior)))),
            PriorAsLikelihood { name, span } => e("E0404", *span, format!("`{name}` cannot be a likelihood"))
                .with_label("prior only")
                .with_help(format!("likelihoods are {}", dist::join_and(&dist::usages(Role::Likelihood)))),
            ObserveNonData { name, kind, span, def } => e(
                "E0405",
                *span,
                format!("only data can be observed, but `{name}` is a {}", kind.describe()),
            )
            .with_label("observed here")
            .with_secondary(*def, "defined here")
            .with_help(if *kind == NameKind::Latent {
                "a latent gets its distribution from its `prior` statement".to_string()
            } else {
                format!("declare it with `data {name} : TYPE`")
            }),
            NoPrior { span } => e("E0406", *span, "the model has no latent variable")
                .with_label("in this model")
                .with_help("add a `prior NAME ~ DIST` statement"),
            DependsOnLatent { what, span } => e("E0407", *span, format!("{what} depends on a latent variable"))
                .with_label("depends on a latent")
                .with_help("bounds, mixture components and observation masks must be fixed (data, constants, `let`s of them); scales and locations may be latents"),
            NotPositive { what, span } => e("E0408", *span, format!("{what} must be positive"))
                .with_label("not positive")
                .with_help("standard deviations are positive numbers"),
            NotSimplex { what, detail, span } => {
                let what = what.strip_prefix("the ").unwrap_or(what);
                e("E0409", *span, format!("invalid {what}: {detail}"))
                    .with_label("weights here")
                    .with_help("weights are non-negative and sum to 1")
            }
            RealOnly { dist, what, span } => e("E0410", *span, format!("{dist} {what} must be real"))
                .with_label("complex here")
                .with_help(format!(
                    "{dist} data and parameters are real; use {} for complex data",
                    complex_likelihoods().join(" or ")
                )),
            ObservedTwice { name, span, first } => e("E0411", *span, format!("data `{name}` is observed twice"))
                .with_label("observed again here")
                .with_secondary(*first, "first observed here")
                .with_help("give each data tensor one likelihood"),
            NeedsDeclaredType { usage, name, span } => {
                e("E0412", *span, format!("`{usage}` cannot determine the type of `{name}`"))
                    .with_label("no type")
                    .with_help(format!("declare it: `prior {name} : real[64, 64] ~ {usage}`"))
            }
            OutputName { name, reason, span } => e("E0414", *span, format!("`{name}` cannot be an output: {reason}"))
                .with_label("not a derived quantity")
                .with_help("`output` names `let`s that depend on latents (latents are written anyway)"),
            KeywordArgument {
                message,
                label,
                help,
                span,
            } => e("E0413", *span, message.clone())
                .with_label(label.clone())
                .with_help(help.clone()),
            DataMissing { name, span } => e("E0501", *span, format!("no file given for data `{name}`"))
                .with_label("declared without a default file")
                .with_help(format!(
                    "pass `--data {name}=PATH` (relative to the working directory), or add a default \
                     relative to the model file: `data {name} : ... = \"file.npy\"`"
                )),
            UnknownDataOverride { name, span, suggestion } => {
                let d = e("E0502", *span, format!("`--data {name}=...` names no data declaration"))
                    .with_label("not declared in the model");
                match did_you_mean(suggestion) {
                    Some(h) => d.with_help(h),
                    None => d.with_help("only names declared with `data` can be bound"),
                }
            }
            DataUnreadable { name, path, reason, span, on_command_line } => {
                let d = e("E0503", *span, format!("cannot read `{path}` for data `{name}`: {reason}"));
                if *on_command_line {
                    d.with_label("given here").with_help(
                        "check the path: a path given with `--data` (or `:data`) is relative to the working directory",
                    )
                } else {
                    d.with_label("declared here with this default file").with_help(
                        "check the path: a declared default path is relative to the model file's folder",
                    )
                }
            }
            DataCorrupt { name, path, reason, span } if crate::check::is_cfl(Path::new(path)) => e(
                "E0504",
                *span,
                format!("`{path}` (for data `{name}`) is not a valid BART .cfl/.hdr pair: {reason}"),
            )
            .with_label("data declared here")
            .with_help("write it with BART, or from numpy with BART's python/cfl.py `writecfl` (docs/data.md)"),
            DataCorrupt { name, path, reason, span } => {
                e("E0504", *span, format!("`{path}` (for data `{name}`) is not a valid .npy file: {reason}"))
                    .with_label("data declared here")
                    .with_help("save it with numpy: `np.save(path, array)`")
            }
            DataDtype { name, path, found, declared, span } => e(
                "E0505",
                *span,
                format!("`{path}` holds {found}, but data `{name}` is declared {declared}"),
            )
            .with_label("declared here")
            .with_help("uq reads float32, float64, complex64 and complex128; real files may feed complex data, not the reverse"),
            DataShape { name, path, found, declared, span } => e(
                "E0506",
                *span,
                format!("`{path}` has shape {found}, but data `{name}` is declared {declared}"),
            )
            .with_label("declared here")
            .with_help(if crate::check::is_cfl(Path::new(path)) {
                "a BART pair's shape has BART's dims 0, 1 last and the others, without the trailing 1s, reversed before them (BART [64, 64, 1, 8] is [8, 1, 64, 64]); size-1 axes may be added or left out, the other sizes must agree in order"
            } else {
                "the file's shape must equal the declared shape exactly"
            }),
            DataNonFinite { name, path, count, span } => e(
                "E0507",
                *span,
                format!("`{path}` (for data `{name}`) contains {count} NaN or infinite value(s)"),
            )
            .with_label("declared here")
            .with_help("clean the file: data must be finite"),
            DataOverrideTwice { name, span, first } => e("E0508", *span, format!("`--data {name}` given twice"))
                .with_label("given again here")
                .with_secondary(*first, "first given here")
                .with_help("bind each data name once"),
            ScoreUnreadable { reason, span, declared } => {
                let d = e("E0601", *span, format!("cannot use score file: {reason}"));
                if *declared {
                    Diagnostic { severity: Severity::Warning, ..d }
                        .with_label("the latent's declared type is used for now")
                        .with_help("the file must exist and be readable before sampling")
                } else {
                    d.with_label("the latent's type comes from this file")
                        .with_help("give the path of a file written by `uq train`, or declare the latent's type")
                }
            }
            ScoreType { declared, header, path, span, decl } => e(
                "E0602",
                *span,
                format!("`{path}` models {header}, but the latent is declared {declared}"),
            )
            .with_label(format!("this network produces {header}"))
            .with_secondary(*decl, format!("declared {declared} here"))
            .with_help("declare the latent with the network's image type, or omit the type"),
            ScoreArgs { span } => e("E0603", *span, "`score` takes one file name")
                .with_label("expected a string literal")
                .with_help("write `score(\"model.safetensors\")`"),
            SupnArgs { span } => e("E0605", *span, "`supn` takes a file name and the latent z")
                .with_label("expected a string literal and a latent")
                .with_help("write `supn(\"model.safetensors\", z)` with `prior z : real[M] ~ Normal(0, 1)`"),
            SupnFile { reason, span } => e("E0606", *span, format!("cannot use SUPN file: {reason}"))
                .with_label("the image's type and the latent's size come from this file")
                .with_help("give the path of a file written by `uq train --kind supn` (relative to the model file, then models/)"),
            PriorUnbuildable { message, help, span } => {
                let d = e("E0604", *span, message.clone());
                match help {
                    Some(h) => d.with_help(h.clone()),
                    None => d,
                }
            }
            UnknownSampler { name, span, suggestion, known } => {
                let d = e("E0701", *span, format!("unknown sampler `{name}`")).with_label("not a sampler");
                match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`? Samplers: {known}")),
                    None => d.with_help(format!("samplers: {known}")),
                }
            }
            InferValue { key, span } => e("E0702", *span, format!("the value of `{key}` must be a number or a string"))
                .with_label("not a constant")
                .with_help("write e.g. `eps = 0.01` or `init = \"adjoint\"`"),
            DuplicateInferKey { key, span, first } => e("E0703", *span, format!("`{key}` is set twice"))
                .with_label("set again here")
                .with_secondary(*first, "first set here")
                .with_help("set each option once"),
            MultipleInfer { span, first } => e("E0704", *span, "more than one `infer` statement")
                .with_label("second `infer`")
                .with_secondary(*first, "first `infer` here")
                .with_help("keep one `infer` statement"),
            InferOption { message, span } => e("E0705", *span, format!("invalid sampler option: {message}"))
                .with_label("this option")
                .with_help("`uq sample --help` and docs/options.md list every option and which sampler reads it"),
            ImpossibleSampler { message, span } => e("E0706", *span, format!("impossible sampler choice: {message}"))
                .with_label("this sampler cannot run the model")
                .with_help("remove the `infer` line or `--sampler` to let uq choose"),
        }
    }
}
