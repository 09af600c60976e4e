//! Quantization formats as self-contained, pure kernels (`affine`, `fp`, `pack`) plus the
//! format-level description ([`QuantSpec`]) the planner uses to size outputs before any tensor
//! data is read.

pub mod affine;
pub mod fp;
pub mod method;
pub mod pack;
pub mod policy;
pub mod rebalance;

use crate::dtype::DType;

/// A quantization mode as mlx names it (`mx.quantize(..., mode=...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Affine,
    Mxfp4,
    Nvfp4,
    Mxfp8,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Affine, Mode::Mxfp4, Mode::Nvfp4, Mode::Mxfp8];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Affine => "affine",
            Mode::Mxfp4 => "mxfp4",
            Mode::Nvfp4 => "nvfp4",
            Mode::Mxfp8 => "mxfp8",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The fp kernel for this mode; `None` for affine.
    pub fn fp(self) -> Option<fp::FpMode> {
        match self {
            Mode::Affine => None,
            Mode::Mxfp4 => Some(fp::FpMode::Mxfp4),
            Mode::Nvfp4 => Some(fp::FpMode::Nvfp4),
            Mode::Mxfp8 => Some(fp::FpMode::Mxfp8),
        }
    }

    /// mlx-lm's per-mode defaults (`quantize_model`): (group_size, bits).
    pub fn defaults(self) -> (usize, u32) {
        match self {
            Mode::Affine => (64, 4),
            Mode::Mxfp4 => (32, 4),
            Mode::Nvfp4 => (16, 4),
            Mode::Mxfp8 => (32, 8),
        }
    }
}

/// One layer's quantization: what `to_quantized(group_size, bits, mode)` receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuantSpec {
    pub mode: Mode,
    pub group_size: usize,
    pub bits: u32,
}

impl QuantSpec {
    /// Checks the combination the way `mx.quantize` does, so a bad request fails before any work.
    pub fn validate(&self) -> Result<(), String> {
        match self.mode {
            Mode::Affine => {
                if ![32, 64, 128].contains(&self.group_size) {
                    return Err(format!(
                        "affine quantization supports group sizes 32, 64 and 128, not {}",
                        self.group_size
                    ));
                }
                if ![1, 2, 3, 4, 5, 6, 8].contains(&self.bits) {
                    return Err(format!(
                        "affine quantization supports 1, 2, 3, 4, 5, 6 or 8 bits, not {}",
                        self.bits
                    ));
                }
            }
            fp => {
                let (gs, bits) = fp.defaults();
                if self.group_size != gs || self.bits != bits {
                    return Err(format!(
                        "{} quantization requires --q-group-size {gs} and --q-bits {bits} \
                         (got group size {} and {} bits)",
                        fp.as_str(),
                        self.group_size,
                        self.bits
                    ));
                }
            }
        }
        Ok(())
    }

    /// Shapes and dtypes of the tensors a quantized weight of `shape` (last axis = input dim)
    /// becomes, in mlx's parameter order: weight, scales[, biases].
    pub fn output_tensors(
        &self,
        shape: &[usize],
        float: DType,
    ) -> Vec<(&'static str, DType, Vec<usize>)> {
        let (lead, k) = shape.split_at(shape.len() - 1);
        let k = k[0];
        let with_last = |n: usize| {
            let mut s = lead.to_vec();
            s.push(n);
            s
        };
        let words = with_last(k * self.bits as usize / 32);
        let groups = with_last(k / self.group_size);
        match self.mode {
            Mode::Affine => vec![
                ("weight", DType::U32, words),
                ("scales", float, groups.clone()),
                ("biases", float, groups),
            ],
            _ => vec![("weight", DType::U32, words), ("scales", DType::U8, groups)],
        }
    }

    pub fn fp_mode(&self) -> Option<fp::FpMode> {
        self.mode.fp()
    }

    /// The dict config.json records for a layer quantized this way (`quantization[layer]`),
    /// and the global `quantization` entry itself.
    pub fn config_entry(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("group_size".into(), self.group_size.into());
        m.insert("bits".into(), self.bits.into());
        m.insert("mode".into(), self.mode.as_str().into());
        m
    }
}
