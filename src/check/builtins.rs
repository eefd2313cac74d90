//! Built-in distributions: names and signatures (for messages). Built-in functions are in
//! `calls.rs` (the op registry and the constant functions).

/// Distribution names (valid only right of `~`).
pub const DISTRIBUTIONS: &[&str] = &["Normal", "Poisson", "GaussianMixture", "Flat", "score"];

/// Signatures of each distribution, for arity messages.
pub fn dist_signatures(name: &str) -> Vec<String> {
    let s: &[&str] = match name {
        "Normal" => &[
            "Normal(mu, sigma) (prior, sigma > 0)",
            "Normal(mean, sigma) (likelihood, sigma > 0)",
        ],
        "Poisson" => &["Poisson(rate) (likelihood, real data)"],
        "GaussianMixture" => {
            &["GaussianMixture(weights: real[K], means: real[K, ...], sigmas: real[K]) (prior)"]
        }
        "Flat" => &["Flat() (prior; the latent's type must be declared)"],
        _ => &["score(\"file.safetensors\") (prior)"],
    };
    s.iter().map(|x| x.to_string()).collect()
}
