//! Parsing and validating a safetensors header.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::dtype::DType;

/// The reference implementation rejects headers above 100 MB; so do we.
pub const MAX_HEADER_LEN: u64 = 100_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Byte range relative to the start of the data section.
    pub begin: u64,
    pub end: u64,
}

impl TensorInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

#[derive(Clone, Debug)]
pub struct Header {
    /// Tensors in the order the header lists them.
    pub tensors: Vec<TensorInfo>,
    pub metadata: Vec<(String, String)>,
    /// 8 + header length: where the data section starts in the file.
    pub data_start: u64,
}

/// JSON object entries in file order, keeping duplicates (serde_json's map would silently keep
/// the last one, hiding a malformed file).
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = m.next_entry::<String, Value>()? {
                    v.push(e);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses the JSON header (the bytes after the 8-byte length) and validates it against the
/// size of the data section. Errors are plain messages; the caller adds the file name.
pub fn parse_header(json: &[u8], data_len: u64) -> Result<Header, String> {
    let text = std::str::from_utf8(json).map_err(|e| format!("header is not UTF-8 ({e})"))?;
    let Entries(entries) =
        serde_json::from_str(text).map_err(|e| format!("header is not a JSON object ({e})"))?;
    let mut tensors = Vec::with_capacity(entries.len());
    let mut metadata = Vec::new();
    let mut seen = HashSet::new();
    for (name, value) in entries {
        if !seen.insert(name.clone()) {
            return Err(format!("tensor `{name}` is listed twice"));
        }
        if name == "__metadata__" {
            let Value::Object(m) = value else {
                return Err("`__metadata__` must be an object of strings".into());
            };
            for (k, v) in m {
                let Value::String(s) = v else {
                    return Err(format!("`__metadata__.{k}` must be a string"));
                };
                metadata.push((k, s));
            }
            continue;
        }
        tensors.push(parse_entry(&name, &value)?);
    }
    validate_layout(&mut tensors.iter().collect::<Vec<_>>(), data_len)?;
    Ok(Header {
        tensors,
        metadata,
        data_start: 8 + json.len() as u64,
    })
}

fn parse_entry(name: &str, v: &Value) -> Result<TensorInfo, String> {
    if name.is_empty() {
        return Err("a tensor has an empty name".into());
    }
    let obj = v
        .as_object()
        .ok_or_else(|| format!("tensor `{name}`: entry is not an object"))?;
    let dtype_str = obj
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("tensor `{name}`: missing `dtype`"))?;
    let dtype = DType::parse(dtype_str)
        .ok_or_else(|| format!("tensor `{name}`: unknown dtype `{dtype_str}`"))?;
    let shape = obj
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("tensor `{name}`: missing `shape`"))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| format!("tensor `{name}`: shape must be a list of non-negative integers"))?;
    let offs = obj
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2)
        .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
        .ok_or_else(|| {
            format!("tensor `{name}`: `data_offsets` must be two non-negative integers")
        })?;
    let (begin, end) = offs;
    if begin > end {
        return Err(format!(
            "tensor `{name}`: data_offsets [{begin}, {end}] are reversed"
        ));
    }
    let numel = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| format!("tensor `{name}`: shape {shape:?} overflows"))?;
    let expect = numel
        .checked_mul(dtype.size() as u64)
        .ok_or_else(|| format!("tensor `{name}`: shape {shape:?} overflows"))?;
    if end - begin != expect {
        return Err(format!(
            "tensor `{name}`: {dtype_str} {shape:?} needs {expect} bytes but data_offsets span {}",
            end - begin
        ));
    }
    Ok(TensorInfo {
        name: name.to_string(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// Offsets must tile the data section exactly: in bounds, no overlap, no gap (the reference
/// reader's rule; a gap or overlap means a corrupt or hand-crafted file).
fn validate_layout(tensors: &mut Vec<&TensorInfo>, data_len: u64) -> Result<(), String> {
    tensors.sort_by_key(|t| (t.begin, t.end));
    let mut pos = 0u64;
    for t in tensors.iter() {
        if t.begin != pos {
            return Err(if t.begin < pos {
                format!(
                    "tensor `{}` overlaps the tensor before it (offset {})",
                    t.name, t.begin
                )
            } else {
                format!(
                    "gap before tensor `{}` (bytes {pos}..{} are unused)",
                    t.name, t.begin
                )
            });
        }
        pos = t.end;
    }
    if pos != data_len {
        return Err(if pos > data_len {
            format!(
                "tensor data ends at byte {pos} but the file has only {data_len} data bytes (truncated file?)"
            )
        } else {
            format!("{} trailing bytes after the last tensor", data_len - pos)
        });
    }
    Ok(())
}
