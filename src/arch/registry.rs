//! model_type → [`Arch`]. Keep the list sorted by module name.

use super::Arch;
use super::llama;

/// Every supported mlx-lm model module.
pub static REGISTRY: &[&Arch] = &[&llama::ARCH];

/// The architecture for a config's `model_type`, following mlx-lm's `MODEL_REMAPPING`.
pub fn find(model_type: &str) -> Option<&'static Arch> {
    REGISTRY
        .iter()
        .copied()
        .find(|a| a.name == model_type || a.aliases.contains(&model_type))
}

/// All accepted `model_type` values (module names and aliases), sorted.
pub fn supported_model_types() -> Vec<&'static str> {
    let mut v: Vec<&str> = REGISTRY
        .iter()
        .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()))
        .collect();
    v.sort_unstable();
    v
}
