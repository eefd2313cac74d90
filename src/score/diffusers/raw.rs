//! The serde form of a `UNet2DModel` `config.json`: the keys uq reads, with diffusers' defaults.

use serde::Deserialize;
use serde_json::Value;

fn d_channels3() -> usize {
    3
}
fn d_positional() -> String {
    "positional".into()
}
fn d_true() -> bool {
    true
}
fn d_down() -> Vec<String> {
    [
        "DownBlock2D",
        "AttnDownBlock2D",
        "AttnDownBlock2D",
        "AttnDownBlock2D",
    ]
    .map(String::from)
    .to_vec()
}
fn d_up() -> Vec<String> {
    ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
        .map(String::from)
        .to_vec()
}
fn d_mid() -> Option<String> {
    Some("UNetMidBlock2D".into())
}
fn d_block_out() -> Vec<usize> {
    vec![224, 448, 672, 896]
}
fn d_two() -> usize {
    2
}
fn d_one_f() -> f64 {
    1.0
}
fn d_one() -> usize {
    1
}
fn d_conv() -> String {
    "conv".into()
}
fn d_silu() -> String {
    "silu".into()
}
fn d_head() -> Option<usize> {
    Some(8)
}
fn d_groups() -> Option<usize> {
    Some(32)
}
fn d_eps() -> f64 {
    1e-5
}
fn d_default() -> String {
    "default".into()
}

/// The keys of `UNet2DModel.__init__` uq reads, with diffusers' defaults (`null` where diffusers
/// allows it). Keys uq does not know (`_class_name`, `_diffusers_version`, …) are ignored here and
/// checked in [`UNetSpec::from_json`].
#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub sample_size: Option<Value>,
    #[serde(default = "d_channels3")]
    pub in_channels: usize,
    #[serde(default = "d_channels3")]
    pub out_channels: usize,
    #[serde(default)]
    pub center_input_sample: bool,
    #[serde(default = "d_positional")]
    pub time_embedding_type: String,
    #[serde(default)]
    pub time_embedding_dim: Option<usize>,
    #[serde(default)]
    pub freq_shift: f64,
    #[serde(default = "d_true")]
    pub flip_sin_to_cos: bool,
    #[serde(default = "d_down")]
    pub down_block_types: Vec<String>,
    #[serde(default = "d_mid")]
    pub mid_block_type: Option<String>,
    #[serde(default = "d_up")]
    pub up_block_types: Vec<String>,
    #[serde(default = "d_block_out")]
    pub block_out_channels: Vec<usize>,
    #[serde(default = "d_two")]
    pub layers_per_block: usize,
    #[serde(default = "d_one_f")]
    pub mid_block_scale_factor: f64,
    #[serde(default = "d_one")]
    pub downsample_padding: usize,
    #[serde(default = "d_conv")]
    pub downsample_type: String,
    #[serde(default = "d_conv")]
    pub upsample_type: String,
    #[serde(default = "d_silu")]
    pub act_fn: String,
    #[serde(default = "d_head")]
    pub attention_head_dim: Option<usize>,
    #[serde(default = "d_groups")]
    pub norm_num_groups: Option<usize>,
    #[serde(default)]
    pub attn_norm_num_groups: Option<usize>,
    #[serde(default = "d_eps")]
    pub norm_eps: f64,
    #[serde(default = "d_default")]
    pub resnet_time_scale_shift: String,
    #[serde(default = "d_true")]
    pub add_attention: bool,
    #[serde(default)]
    pub class_embed_type: Option<String>,
    #[serde(default)]
    pub num_class_embeds: Option<usize>,
}
