//! Safetensors element types, as they appear in checkpoint headers.

use crate::cast::FloatType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F16,
    BF16,
    F32,
    F64,
    F8E4M3,
    F8E5M2,
    F8E8M0,
}

impl DType {
    const NAMES: [(DType, &'static str); 16] = [
        (DType::Bool, "BOOL"),
        (DType::U8, "U8"),
        (DType::I8, "I8"),
        (DType::U16, "U16"),
        (DType::I16, "I16"),
        (DType::U32, "U32"),
        (DType::I32, "I32"),
        (DType::U64, "U64"),
        (DType::I64, "I64"),
        (DType::F16, "F16"),
        (DType::BF16, "BF16"),
        (DType::F32, "F32"),
        (DType::F64, "F64"),
        (DType::F8E4M3, "F8_E4M3"),
        (DType::F8E5M2, "F8_E5M2"),
        (DType::F8E8M0, "F8_E8M0"),
    ];

    pub fn parse(s: &str) -> Option<DType> {
        Self::NAMES.iter().find(|(_, n)| *n == s).map(|(d, _)| *d)
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(d, _)| *d == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 | DType::F8E4M3 | DType::F8E5M2 | DType::F8E8M0 => {
                1
            }
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// The float types mlx computes in. F8 checkpoints load into mlx as raw `uint8`, so they are
    /// not "floating" for casting purposes, exactly as in mlx-lm.
    pub fn float_type(self) -> Option<FloatType> {
        match self {
            DType::F32 => Some(FloatType::F32),
            DType::F16 => Some(FloatType::F16),
            DType::BF16 => Some(FloatType::BF16),
            _ => None,
        }
    }

    pub fn from_float(t: FloatType) -> DType {
        match t {
            FloatType::F32 => DType::F32,
            FloatType::F16 => DType::F16,
            FloatType::BF16 => DType::BF16,
        }
    }

    /// The dtype mlx writes back for a tensor it loaded as this type (F8 loads as uint8).
    pub fn mlx_storage(self) -> DType {
        match self {
            DType::F8E4M3 | DType::F8E5M2 | DType::F8E8M0 => DType::U8,
            d => d,
        }
    }
}

/// `--dtype` / config names → float type.
pub fn parse_float_name(s: &str) -> Option<FloatType> {
    match s {
        "float16" => Some(FloatType::F16),
        "bfloat16" => Some(FloatType::BF16),
        "float32" => Some(FloatType::F32),
        _ => None,
    }
}

pub fn float_name(t: FloatType) -> &'static str {
    match t {
        FloatType::F16 => "float16",
        FloatType::BF16 => "bfloat16",
        FloatType::F32 => "float32",
    }
}

/// Serde helper: a dtype as its safetensors name.
pub fn serialize_dtype<S: serde::Serializer>(d: &DType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}
