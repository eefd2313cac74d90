//! The checker's error catalogue: one variant per case, each rendered by exactly one constructor.
//!
//! Codes are stable and documented in `docs/errors.md`: E01xx names, imports and scopes; E02xx types
//! and shapes; E03xx calls, arity and static arguments; E04xx model structure; E05xx data binding;
//! E06xx score files; E07xx `infer`.

use crate::source::Span;

/// What kind of thing a name stands for (for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Data,
    Let,
    Fn,
    Latent,
    Param,
}

impl NameKind {
    pub fn describe(self) -> &'static str {
        match self {
            NameKind::Data => "data",
            NameKind::Let => "`let` binding",
            NameKind::Fn => "function",
            NameKind::Latent => "latent",
            NameKind::Param => "parameter",
        }
    }
}

/// Every way a model can fail the checker or data binding.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckError {
    // ── E01xx: names, imports, scopes ──
    UnknownName {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    Duplicate {
        name: String,
        span: Span,
        first: Span,
    },
    UsedBeforeDefinition {
        name: String,
        span: Span,
        def: Span,
    },
    UnknownModule {
        name: String,
        span: Span,
        suggestion: Option<String>,
        searched: String,
    },
    ImportCycle {
        chain: Vec<String>,
        span: Span,
    },
    ModuleStatement {
        module: String,
        what: &'static str,
        span: Span,
    },
    ShadowsBuiltin {
        name: String,
        span: Span,
    },
    FunctionAsValue {
        name: String,
        span: Span,
    },
    ModelUnreadable {
        path: String,
        reason: String,
        span: Span,
    },
    ImportsTooDeep {
        limit: usize,
        chain: String,
        span: Span,
    },
    // ── E02xx: types and shapes ──
    OpType {
        op: String,
        detail: String,
        span: Span,
    },
    TooLarge {
        ty: String,
        span: Span,
    },
    ExpectedReal {
        what: String,
        found: String,
        span: Span,
    },
    LatentType {
        name: String,
        declared: String,
        found: String,
        span: Span,
        decl: Span,
    },
    ObservationType {
        name: String,
        param: &'static str,
        data_ty: String,
        mean_ty: String,
        span: Span,
        decl: Span,
    },
    ParamShape {
        what: String,
        detail: String,
        span: Span,
    },
    BadList {
        detail: String,
        span: Span,
    },
    // ── E03xx: calls, arity, static arguments ──
    Arity {
        name: String,
        expected: String,
        found: usize,
        span: Span,
        signatures: Vec<String>,
    },
    ArgType {
        name: String,
        detail: String,
        span: Span,
        signatures: Vec<String>,
    },
    StaticArg {
        name: String,
        what: String,
        span: Span,
    },
    FnArity {
        name: String,
        expected: usize,
        found: usize,
        span: Span,
        def: Span,
    },
    Recursion {
        chain: Vec<String>,
        span: Span,
    },
    TensorCallArity {
        name: String,
        found: usize,
        span: Span,
    },
    LoadFailed {
        path: String,
        reason: String,
        span: Span,
    },
    StringValue {
        span: Span,
    },
    TooDeep {
        limit: usize,
        chain: String,
        span: Span,
        at: Span,
    },
    TooMuchWork {
        limit: usize,
        span: Span,
    },
    // ── E04xx: model structure ──
    DistributionAsValue {
        name: String,
        span: Span,
    },
    NotADistribution {
        span: Span,
        suggestion: Option<String>,
    },
    LikelihoodAsPrior {
        name: String,
        span: Span,
    },
    PriorAsLikelihood {
        name: String,
        span: Span,
    },
    ObserveNonData {
        name: String,
        kind: NameKind,
        span: Span,
        def: Span,
    },
    NoPrior {
        span: Span,
    },
    DependsOnLatent {
        what: String,
        span: Span,
    },
    /// A name in an `output` statement that is not a derived quantity.
    OutputName {
        name: String,
        reason: String,
        span: Span,
    },
    /// A keyword argument that does not fit: outside a distribution call, an unknown name, a
    /// parameter given twice, a positional argument after a keyword one, a required one missing.
    KeywordArgument {
        message: String,
        label: String,
        help: String,
        span: Span,
    },
    NotPositive {
        what: String,
        span: Span,
    },
    /// Constant weights that are not a probability vector.
    NotSimplex {
        what: String,
        detail: String,
        span: Span,
    },
    /// Complex data or parameter for a likelihood whose support is real (`Poisson`).
    RealOnly {
        dist: String,
        what: String,
        span: Span,
    },
    ObservedTwice {
        name: String,
        span: Span,
        first: Span,
    },
    /// A prior whose parameters cannot give the latent's type (`Flat()`).
    NeedsDeclaredType {
        usage: String,
        name: String,
        span: Span,
    },
    // ── E05xx: data binding ──
    DataMissing {
        name: String,
        span: Span,
    },
    UnknownDataOverride {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    DataUnreadable {
        name: String,
        path: String,
        reason: String,
        span: Span,
        /// The path was given as `--data NAME=PATH` (or `:data`), not declared as the default.
        on_command_line: bool,
    },
    DataCorrupt {
        name: String,
        path: String,
        reason: String,
        span: Span,
    },
    DataDtype {
        name: String,
        path: String,
        found: String,
        declared: String,
        span: Span,
    },
    DataShape {
        name: String,
        path: String,
        found: String,
        declared: String,
        span: Span,
    },
    DataNonFinite {
        name: String,
        path: String,
        count: usize,
        span: Span,
    },
    DataOverrideTwice {
        name: String,
        span: Span,
        first: Span,
    },
    // ── E06xx: score files ──
    ScoreUnreadable {
        reason: String,
        span: Span,
        declared: bool,
    },
    ScoreType {
        declared: String,
        header: String,
        path: String,
        span: Span,
        decl: Span,
    },
    ScoreArgs {
        span: Span,
    },
    /// `supn(...)` without a file name and a latent argument.
    SupnArgs {
        span: Span,
    },
    /// A `supn("file", z)` file that cannot be read, or whose latent does not fit `z`.
    SupnFile {
        reason: String,
        span: Span,
    },
    /// A prior that cannot be built when the run is prepared (its file fails to load, a parameter
    /// does not fit the latent).
    PriorUnbuildable {
        message: String,
        help: Option<String>,
        span: Span,
    },
    // ── E07xx: infer ──
    UnknownSampler {
        name: String,
        span: Span,
        suggestion: Option<String>,
        /// The registered samplers, listed in the help line.
        known: String,
    },
    InferValue {
        key: String,
        span: Span,
    },
    DuplicateInferKey {
        key: String,
        span: Span,
        first: Span,
    },
    MultipleInfer {
        span: Span,
        first: Span,
    },
    /// An option of `infer` that is unknown, has a bad value or is not read by the sampler.
    InferOption {
        message: String,
        span: Span,
    },
    /// The sampler asked for cannot run on this model.
    ImpossibleSampler {
        message: String,
        span: Span,
    },
}

/// Every code the checker can emit (tests assert each is exercised).
pub const ALL_CODES: &[&str] = &[
    "E0101", "E0102", "E0103", "E0104", "E0105", "E0106", "E0107", "E0108", "E0109", "E0110", "E0201",
    "E0202", "E0203", "E0204", "E0205", "E0206", "E0207", "E0301", "E0302", "E0303", "E0304", "E0305",
    "E0306", "E0307", "E0308", "E0309", "E0310", "E0401", "E0402", "E0403", "E0404", "E0405", "E0406",
    "E0407", "E0408", "E0409", "E0410", "E0411", "E0412", "E0413", "E0414", "E0501", "E0502", "E0503",
    "E0504", "E0505", "E0506", "E0507", "E0508", "E0601", "E0602", "E0603", "E0604", "E0605", "E0606",
    "E0701", "E0702", "E0703", "E0704", "E0705", "E0706",
];

mod render;
