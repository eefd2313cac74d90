//! `config.json` of a diffusers `UNet2DModel`: parsed with serde (diffusers' defaults), checked, and
//! turned into the architecture uq builds; every option uq does not implement is an error naming it.

use super::raw::RawConfig;
use serde_json::Value;

use super::DiffusersError;

/// One down or up block of the U-Net.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct BlockSpec {
    pub attention: bool,
    pub channels: usize,
}

/// The architecture of a supported `UNet2DModel`, as uq builds it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct UNetSpec {
    pub image_shape: [usize; 2],
    pub channels: usize,
    pub center_input: bool,
    pub flip_sin_to_cos: bool,
    pub freq_shift: f64,
    pub time_embed_dim: usize,
    pub down: Vec<BlockSpec>,
    pub up: Vec<BlockSpec>,
    /// `Some(attention)` when there is a `UNetMidBlock2D`.
    pub mid: Option<bool>,
    pub layers_per_block: usize,
    pub mid_scale: f64,
    pub downsample_padding: usize,
    /// `attention_head_dim` (`None`: one head over all channels of the block).
    pub head_dim: Option<usize>,
    pub groups: usize,
    /// Groups of the mid block's attention norm (`None`: no norm there).
    pub mid_attn_groups: Option<usize>,
    pub eps: f64,
    /// `resnet_time_scale_shift = "scale_shift"` (else `"default"`: the embedding is added).
    pub scale_shift: bool,
}

impl UNetSpec {
    /// Parse and check `config.json` (its text); `path` names the file in errors.
    pub fn from_json(path: &str, text: &str) -> Result<Self, DiffusersError> {
        let json: Value = serde_json::from_str(text).map_err(|e| DiffusersError::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if let Some(class) = json.get("_class_name").and_then(Value::as_str) {
            if class != "UNet2DModel" {
                return Err(unsupported(
                    path,
                    "_class_name",
                    class,
                    "uq imports `UNet2DModel` only",
                ));
            }
        }
        let raw: RawConfig = serde_json::from_value(json).map_err(|e| DiffusersError::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        raw.check(path)
    }
}

pub(super) fn unsupported(
    path: &str,
    option: &str,
    value: impl std::fmt::Display,
    hint: &str,
) -> DiffusersError {
    DiffusersError::Unsupported {
        path: path.into(),
        option: option.into(),
        value: value.to_string(),
        hint: hint.into(),
    }
}

/// `sample_size` as `[h, w]` (an integer or a pair in diffusers).
fn sample_size(path: &str, v: Option<&Value>) -> Result<[usize; 2], DiffusersError> {
    let bad = |what: String| {
        unsupported(
            path,
            "sample_size",
            what,
            "uq needs the image size: an integer or [height, width]",
        )
    };
    let positive = |v: &Value| v.as_u64().filter(|&n| n > 0).map(|n| n as usize);
    match v {
        None | Some(Value::Null) => Err(bad("null".into())),
        Some(Value::Array(a)) => match a.as_slice() {
            [h, w] => match (positive(h), positive(w)) {
                (Some(h), Some(w)) => Ok([h, w]),
                _ => Err(bad(format!("{a:?}"))),
            },
            _ => Err(bad(format!("{a:?}"))),
        },
        Some(n) => positive(n).map(|s| [s, s]).ok_or_else(|| bad(n.to_string())),
    }
}

/// Strip diffusers' `UNetRes` prefix (an alias it accepts).
fn block_name(s: &str) -> &str {
    s.strip_prefix("UNetRes").unwrap_or(s)
}

impl RawConfig {
    fn check(self, path: &str) -> Result<UNetSpec, DiffusersError> {
        let u = |o: &str, v: &dyn std::fmt::Display, hint: &str| Err(unsupported(path, o, v, hint));
        if self.time_embedding_type != "positional" {
            return u(
                "time_embedding_type",
                &self.time_embedding_type,
                "only `positional` (sinusoidal Timesteps) is implemented",
            );
        }
        if let Some(c) = &self.class_embed_type {
            return u(
                "class_embed_type",
                c,
                "class-conditional models are not supported",
            );
        }
        if let Some(n) = self.num_class_embeds {
            return u(
                "num_class_embeds",
                &n,
                "class-conditional models are not supported",
            );
        }
        if !matches!(self.act_fn.as_str(), "silu" | "swish") {
            return u("act_fn", &self.act_fn, "only `silu` (`swish`) is implemented");
        }
        let scale_shift = match self.resnet_time_scale_shift.as_str() {
            "default" => false,
            "scale_shift" => true,
            o => {
                return u(
                    "resnet_time_scale_shift",
                    &o,
                    "`default` and `scale_shift` are implemented",
                )
            }
        };
        if !(1..=2).contains(&self.in_channels) {
            return u(
                "in_channels",
                &self.in_channels,
                "uq images have 1 channel (real) or 2 (complex as re, im)",
            );
        }
        if self.out_channels != self.in_channels {
            return u(
                "out_channels",
                &self.out_channels,
                "the output must have the input's channels (ε, v or x₀; learned variances are not supported)",
            );
        }
        let Some(groups) = self.norm_num_groups else {
            return u("norm_num_groups", &"null", "give the GroupNorm group count");
        };
        let n = self.block_out_channels.len();
        if n == 0 || self.down_block_types.len() != n || self.up_block_types.len() != n {
            return Err(DiffusersError::Config {
                path: path.into(),
                reason: format!(
                    "block_out_channels ({n}), down_block_types ({}) and up_block_types ({}) must have the same non-zero length",
                    self.down_block_types.len(),
                    self.up_block_types.len()
                ),
            });
        }
        if let Some(&c) = self
            .block_out_channels
            .iter()
            .find(|&&c| c == 0 || !c.is_multiple_of(groups))
        {
            return Err(DiffusersError::Config {
                path: path.into(),
                reason: format!(
                    "block_out_channels has {c}, not a positive multiple of norm_num_groups = {groups}"
                ),
            });
        }
        if self.layers_per_block == 0 {
            return u("layers_per_block", &0, "at least one ResNet layer per block");
        }
        if let Some(0) = self.attention_head_dim {
            return u("attention_head_dim", &0, "give a positive head dimension");
        }
        let block =
            |kind: &str, name: &str, i: usize, channels: usize| -> Result<BlockSpec, DiffusersError> {
                let (plain, attn) = if kind == "down" {
                    ("DownBlock2D", "AttnDownBlock2D")
                } else {
                    ("UpBlock2D", "AttnUpBlock2D")
                };
                let attention = match block_name(name) {
                    n if n == plain => false,
                    n if n == attn => true,
                    _ => {
                        let option = format!("{kind}_block_types[{i}]");
                        return Err(unsupported(
                            path,
                            &option,
                            name,
                            &format!("only `{plain}` and `{attn}` are implemented"),
                        ));
                    }
                };
                Ok(BlockSpec { attention, channels })
            };
        let down = (0..n)
            .map(|i| block("down", &self.down_block_types[i], i, self.block_out_channels[i]))
            .collect::<Result<Vec<_>, _>>()?;
        let up = (0..n)
            .map(|i| {
                block(
                    "up",
                    &self.up_block_types[i],
                    i,
                    self.block_out_channels[n - 1 - i],
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Attention blocks resample by `downsample_type`/`upsample_type` (plain blocks always by conv).
        if down.iter().take(n - 1).any(|b| b.attention) && self.downsample_type != "conv" {
            return u(
                "downsample_type",
                &self.downsample_type,
                "only `conv` is implemented",
            );
        }
        if up.iter().take(n - 1).any(|b| b.attention) && self.upsample_type != "conv" {
            return u("upsample_type", &self.upsample_type, "only `conv` is implemented");
        }
        if self.downsample_padding > 1 {
            return u(
                "downsample_padding",
                &self.downsample_padding,
                "0 or 1 are implemented",
            );
        }
        let mid = match self.mid_block_type.as_deref() {
            None => None,
            Some("UNetMidBlock2D") => Some(self.add_attention),
            Some(o) => {
                return u(
                    "mid_block_type",
                    &o,
                    "only `UNetMidBlock2D` (or null) is implemented",
                )
            }
        };
        let mid_attn_groups = match self.attn_norm_num_groups {
            Some(g) => Some(g),
            None if !scale_shift => Some(groups),
            None => None,
        };
        if let (Some(g), Some(true)) = (mid_attn_groups, mid) {
            if g == 0 || !self.block_out_channels[n - 1].is_multiple_of(g) {
                return u(
                    "attn_norm_num_groups",
                    &g,
                    "it must divide the last block's channels",
                );
            }
        }
        let image_shape = sample_size(path, self.sample_size.as_ref())?;
        let m = 1usize << (n - 1);
        if image_shape.iter().any(|s| !s.is_multiple_of(m)) {
            return Err(DiffusersError::Config {
                path: path.into(),
                reason: format!(
                    "sample_size {}×{} is not divisible by {m} ({n} resolutions)",
                    image_shape[0], image_shape[1]
                ),
            });
        }
        if !(self.norm_eps.is_finite()
            && self.norm_eps > 0.0
            && self.mid_block_scale_factor.is_finite()
            && self.mid_block_scale_factor != 0.0)
        {
            return Err(DiffusersError::Config {
                path: path.into(),
                reason: "norm_eps must be positive and mid_block_scale_factor non-zero".into(),
            });
        }
        let c0 = self.block_out_channels[0];
        if (c0 / 2) as f64 == self.freq_shift {
            return u(
                "freq_shift",
                &self.freq_shift,
                "it must differ from half the first block's channels",
            );
        }
        Ok(UNetSpec {
            image_shape,
            channels: self.in_channels,
            center_input: self.center_input_sample,
            flip_sin_to_cos: self.flip_sin_to_cos,
            freq_shift: self.freq_shift,
            time_embed_dim: self.time_embedding_dim.unwrap_or(c0 * 4),
            down,
            up,
            mid,
            layers_per_block: self.layers_per_block,
            mid_scale: self.mid_block_scale_factor,
            downsample_padding: self.downsample_padding,
            head_dim: self.attention_head_dim,
            groups,
            mid_attn_groups,
            eps: self.norm_eps,
            scale_shift,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let cfg = r#"{"_class_name": "UNet2DModel", "sample_size": 32, "in_channels": 1, "out_channels": 1,
            "block_out_channels": [16, 32], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
            "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "norm_num_groups": 8}"#;
        let s = UNetSpec::from_json("c.json", cfg).unwrap();
        assert_eq!(s.image_shape, [32, 32]);
        assert_eq!(s.time_embed_dim, 64);
        assert_eq!(
            s.up[0],
            BlockSpec {
                attention: true,
                channels: 32
            }
        );
        assert_eq!(s.mid, Some(true));
        assert_eq!(s.mid_attn_groups, Some(8));
        let fourier = cfg.replace(
            "\"sample_size\"",
            "\"time_embedding_type\": \"fourier\", \"sample_size\"",
        );
        let e = UNetSpec::from_json("c.json", &fourier).unwrap_err().to_string();
        assert!(e.contains("time_embedding_type") && e.contains("c.json"), "{e}");
        let e = UNetSpec::from_json("c.json", "{ not json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.json"), "{e}");
        let odd = cfg.replace("\"sample_size\": 32", "\"sample_size\": [31, 32]");
        assert!(UNetSpec::from_json("c.json", &odd).is_err());
    }
}
