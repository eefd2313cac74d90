//! `score("file.safetensors")`: a learned score network prior. Registered for lists and messages; the
//! checker reads the file's header for the latent's type and the session loads the network.

use super::{Distribution, Param, ParamKind, Role, Signature, Support};

pub struct Score;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[Param {
        name: "file",
        what: "the score file",
        ty: "",
        kind: ParamKind::ScoreFile,
        default: None,
    }],
    notes: &[],
}];

impl Distribution for Score {
    fn name(&self) -> &'static str {
        "score"
    }

    fn summary(&self) -> &'static str {
        "a network written by `uq train` (VE noise-conditional or VP/DDPM), or a Hugging Face diffusers `UNet2DModel` folder (VP; docs/priors.md); the latent's type comes from its header or config"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }
}
