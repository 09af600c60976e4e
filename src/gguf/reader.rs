//! Parsing and validating a GGUF file's header: metadata key/values and tensor infos.
//!
//! Every length and count in the file is checked against the bytes that remain before it is
//! used to allocate or read, so a truncated or hostile file gives a message, never a panic or a
//! huge allocation. The tensor data itself is not read here: [`GgufFile`] records where each
//! tensor's blocks are, for the executor to `pread` them.

use std::io::Read;

use super::dequant::GgmlType;

/// `GGUF` as a little-endian u32.
const MAGIC: u32 = 0x4655_4747;
/// llama.cpp's GGML_MAX_DIMS.
const MAX_DIMS: u32 = 4;
/// Alignment of the data section when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Arrays nest at most this deep (llama.cpp writes depth 1; deeper is hostile input).
const MAX_NESTING: u32 = 4;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    /// Integer values of any width (and bools) as i64; floats are not integers.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => i64::try_from(v).ok()?,
            Value::I64(v) => v,
            Value::Bool(v) => v.into(),
            _ => return None,
        })
    }

    /// Numbers of any kind as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => self.as_i64().map(|v| v != 0),
        }
    }
}

/// One tensor as the file describes it. `dims` are GGML's (`ne[0]` = the contiguous axis first);
/// [`TensorInfo::shape`] gives the row-major shape numpy and safetensors use.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    /// GGML type id as stored; [`TensorInfo::ggml_type`] decodes it (unsupported types are kept
    /// so a file can be listed, and refused only when the tensor is needed).
    pub type_id: u32,
    /// Absolute byte offset of the tensor's data in the file.
    pub offset: u64,
    pub nbytes: u64,
}

impl TensorInfo {
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    pub fn ggml_type(&self) -> Result<GgmlType, String> {
        GgmlType::from_id(self.type_id).map_err(|e| format!("tensor `{}`: {e}", self.name))
    }

    pub fn numel(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header.
#[derive(Clone, Debug)]
pub struct GgufFile {
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    /// Where the data section starts.
    pub data_start: u64,
}

impl GgufFile {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_i64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// A string array (e.g. `tokenizer.ggml.tokens`).
    pub fn get_strings(&self, key: &str) -> Option<Vec<&str>> {
        self.get(key)?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect()
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }
}

/// A reader that counts what it consumed and refuses to read past `limit` bytes.
struct Cursor<R> {
    inner: R,
    pos: u64,
    limit: u64,
}

impl<R: Read> Cursor<R> {
    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, String> {
        if n > self.remaining() {
            return Err(format!(
                "{what} at byte {} needs {n} bytes but the file ends after {} more",
                self.pos,
                self.remaining()
            ));
        }
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("reading {what} at byte {}: {e}", self.pos))?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let v = self.bytes(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = self.u64(what)?;
        let bytes = self.bytes(len, what)?;
        String::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))
    }

    fn value(&mut self, ty: u32, what: &str, depth: u32) -> Result<Value, String> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("{what}: boolean byte is {b}, not 0 or 1")),
            },
            8 => Value::Str(self.string(what)?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(format!(
                        "{what}: arrays nested more than {MAX_NESTING} deep"
                    ));
                }
                let elem = self.u32(what)?;
                let count = self.u64(what)?;
                // Every element takes at least one byte: a count beyond the remaining bytes
                // is a corrupt file, caught before allocating.
                if count > self.remaining() {
                    return Err(format!(
                        "{what}: array of {count} elements cannot fit in the {} bytes left",
                        self.remaining()
                    ));
                }
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(elem, what, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            t => return Err(format!("{what}: unknown metadata value type {t}")),
        })
    }
}

/// Parses a GGUF header from `r` (positioned at the start of a file of `file_len` bytes) and
/// validates every tensor's extent against the file. Errors are plain messages; the caller adds
/// the file name.
pub fn parse(r: impl Read, file_len: u64) -> Result<GgufFile, String> {
    let mut c = Cursor {
        inner: r,
        pos: 0,
        limit: file_len,
    };
    let magic = c.u32("the magic number").map_err(|_| {
        "file is too short to be GGUF (expected the magic bytes `GGUF`)".to_string()
    })?;
    if magic != MAGIC {
        return Err("not a GGUF file (the first bytes are not `GGUF`)".into());
    }
    let version = c.u32("the version")?;
    match version {
        2 | 3 => {}
        1 => {
            return Err(
                "GGUF version 1 is not supported; re-save the file with a current llama.cpp \
                 (gguf-new-metadata) to get version 3"
                    .into(),
            );
        }
        v if v.swap_bytes() <= 3 => {
            return Err(
                "big-endian GGUF is not supported; convert it with `gguf-convert-endian FILE little`"
                    .into(),
            );
        }
        v => {
            return Err(format!(
                "unsupported GGUF version {v} (2 and 3 are supported)"
            ));
        }
    }
    let n_tensors = c.u64("the tensor count")?;
    let n_kv = c.u64("the metadata count")?;
    // A key/value takes at least 13 bytes and a tensor info at least 28.
    if n_kv > c.remaining() / 13 || n_tensors > c.remaining() / 28 {
        return Err(format!(
            "header claims {n_kv} metadata entries and {n_tensors} tensors, more than a file of \
             {file_len} bytes can hold"
        ));
    }
    let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv as usize);
    for i in 0..n_kv {
        let key = c.string(&format!("metadata key {i}"))?;
        if metadata.iter().any(|(k, _)| *k == key) {
            return Err(format!("metadata key `{key}` appears twice"));
        }
        let ty = c.u32(&format!("type of `{key}`"))?;
        let v = c.value(ty, &format!("metadata `{key}`"), 0)?;
        metadata.push((key, v));
    }
    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, v)) => match v.as_i64() {
            Some(a) if a > 0 && (a as u64).is_power_of_two() => a as u64,
            _ => return Err(format!("`general.alignment` is {v:?}, not a power of two")),
        },
    };
    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors as usize);
    let mut names = std::collections::HashSet::new();
    for i in 0..n_tensors {
        let name = c.string(&format!("name of tensor {i}"))?;
        if !names.insert(name.clone()) {
            return Err(format!("tensor `{name}` is listed twice"));
        }
        let n_dims = c.u32(&format!("dimension count of `{name}`"))?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(format!(
                "tensor `{name}` has {n_dims} dimensions (1 to {MAX_DIMS} allowed)"
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&format!("dimensions of `{name}`"))?);
        }
        let type_id = c.u32(&format!("type of `{name}`"))?;
        let offset = c.u64(&format!("offset of `{name}`"))?;
        let numel = dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= file_len.saturating_mul(8))
            .ok_or_else(|| format!("tensor `{name}` has impossible dimensions {dims:?}"))?;
        if !offset.is_multiple_of(alignment) {
            return Err(format!(
                "tensor `{name}` starts at data offset {offset}, not a multiple of the alignment {alignment}"
            ));
        }
        // Unsupported types are sized when they are used; a supported type is checked now.
        let nbytes = match GgmlType::from_id(type_id) {
            Ok(ty) => {
                if dims[0] % ty.block_len() as u64 != 0 {
                    return Err(format!(
                        "tensor `{name}`: rows of {} elements are not whole {} blocks of {}",
                        dims[0],
                        ty.name(),
                        ty.block_len()
                    ));
                }
                ty.bytes_for(numel)
                    .ok_or_else(|| format!("tensor `{name}` is too large"))?
            }
            Err(_) => 0,
        };
        tensors.push(TensorInfo {
            name,
            dims,
            type_id,
            offset,
            nbytes,
        });
    }
    let data_start = c.pos.div_ceil(alignment) * alignment;
    for t in &mut tensors {
        let start = data_start.checked_add(t.offset);
        match start.and_then(|s| s.checked_add(t.nbytes)) {
            Some(end) if end <= file_len => t.offset += data_start,
            _ => {
                return Err(format!(
                    "tensor `{}` ({} bytes at data offset {}) extends past the end of the file \
                     ({file_len} bytes): the file is truncated; download it again",
                    t.name, t.nbytes, t.offset
                ));
            }
        }
    }
    Ok(GgufFile {
        version,
        metadata,
        tensors,
        data_start,
    })
}

/// Opens and parses the header of the GGUF file at `path`.
pub fn read_file(path: &std::path::Path) -> crate::Result<GgufFile> {
    let file = std::fs::File::open(path).map_err(|e| crate::Error::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| crate::Error::io(path, e))?
        .len();
    parse(std::io::BufReader::with_capacity(1 << 20, file), len).map_err(|msg| {
        crate::Error::Source(format!("{}: invalid GGUF file: {msg}", path.display()))
    })
}
