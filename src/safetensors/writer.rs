//! Writing safetensors shards the way `mx.save_safetensors` lays them out (compact header with
//! keys sorted bytewise, `{"format":"mlx"}` metadata, no padding), except that the data order is
//! ours: readers ignore it, and fixing it up front lets any thread write any tensor.
//!
//! Hand-written rather than `safetensors::serialize_to_file` because that crate chooses the
//! tensor order, writes tensors one at a time from one thread, and pads the header.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dtype::DType;
use crate::error::{IoContext, Result};

/// One tensor's place in a shard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TensorSlot {
    pub name: String,
    #[serde(serialize_with = "crate::dtype::serialize_dtype")]
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Offset from the start of the data section.
    pub offset: u64,
    pub nbytes: u64,
}

/// The complete layout of one output file, known before any data is produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShardLayout {
    pub file_name: String,
    pub tensors: Vec<TensorSlot>,
}

impl ShardLayout {
    /// Lays out `(name, dtype, shape)` contiguously, in mlx's data order (see [`super::mlx_order`]).
    pub fn new(
        file_name: String,
        tensors: impl IntoIterator<Item = (String, DType, Vec<usize>)>,
    ) -> Self {
        let mut tensors: Vec<TensorSlot> = tensors
            .into_iter()
            .map(|(name, dtype, shape)| {
                let nbytes = shape.iter().product::<usize>() as u64 * dtype.size() as u64;
                TensorSlot {
                    name,
                    dtype,
                    shape,
                    offset: 0,
                    nbytes,
                }
            })
            .collect();
        // Slots stay in the given (module) order; their bytes are laid out in the order mlx
        // writes them, so the file is byte-identical to mlx-lm's.
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        let order = super::mlx_order::mlx_data_order(&names);
        let mut offset = 0;
        for i in order {
            tensors[i].offset = offset;
            offset += tensors[i].nbytes;
        }
        ShardLayout { file_name, tensors }
    }

    pub fn data_len(&self) -> u64 {
        self.tensors.iter().map(|t| t.nbytes).sum()
    }

    /// The header JSON exactly as nlohmann's `dump()` writes it for mlx: compact, keys sorted.
    pub fn header_json(&self) -> String {
        let mut entries: Vec<(&str, String)> = self
            .tensors
            .iter()
            .map(|t| {
                let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
                let v = format!(
                    "{{\"data_offsets\":[{},{}],\"dtype\":\"{}\",\"shape\":[{}]}}",
                    t.offset,
                    t.offset + t.nbytes,
                    t.dtype.as_str(),
                    shape.join(",")
                );
                (t.name.as_str(), v)
            })
            .collect();
        entries.push(("__metadata__", "{\"format\":\"mlx\"}".to_string()));
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_string(k)))
            .collect();
        format!("{{{}}}", body.join(","))
    }

    /// Total file size.
    pub fn file_len(&self) -> u64 {
        8 + self.header_json().len() as u64 + self.data_len()
    }
}

/// A JSON string literal with nlohmann's escaping (UTF-8 kept as is).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Bytes written to a shard after which its writeback is started (not waited for).
const WRITEBACK_EVERY: u64 = 64 << 20;

/// An output shard being filled. The file is created at its full size up front; tensors are
/// written with positional writes, so threads never share a cursor.
///
/// Writeback starts while the conversion runs (every [`WRITEBACK_EVERY`] bytes), so the disk
/// works in parallel with the kernels and the fsync of the commit has little left to flush:
/// once the kernels run at memory speed, writing the output back is what the end of a
/// conversion waits for.
pub struct ShardWriter {
    path: PathBuf,
    file: File,
    data_start: u64,
    /// Bytes written since writeback was last started.
    unflushed: AtomicU64,
}

impl ShardWriter {
    pub fn create(path: &Path, layout: &ShardLayout) -> Result<ShardWriter> {
        let header = layout.header_json();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .at(path)?;
        let mut head = Vec::with_capacity(8 + header.len());
        head.extend_from_slice(&(header.len() as u64).to_le_bytes());
        head.extend_from_slice(header.as_bytes());
        file.write_all_at(&head, 0).at(path)?;
        let data_start = head.len() as u64;
        file.set_len(data_start + layout.data_len()).at(path)?;
        Ok(ShardWriter {
            path: path.to_path_buf(),
            file,
            data_start,
            unflushed: AtomicU64::new(0),
        })
    }

    /// Writes `bytes` at `offset` bytes into the tensor that starts at `slot_offset`.
    pub fn write_at(&self, slot_offset: u64, offset: u64, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all_at(bytes, self.data_start + slot_offset + offset)
            .at(&self.path)?;
        let n = bytes.len() as u64;
        if self.unflushed.fetch_add(n, Ordering::Relaxed) + n >= WRITEBACK_EVERY {
            self.unflushed.store(0, Ordering::Relaxed);
            start_writeback(&self.file);
        }
        Ok(())
    }

    /// Flushes the file to disk.
    pub fn finish(self) -> Result<()> {
        self.file.sync_all().at(&self.path)
    }
}

/// Asks the kernel to start writing the file's dirty pages to disk, without waiting.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range takes plain integers; the descriptor belongs to `file`, which is
    // borrowed (hence open) for the whole call. A failure is ignored on purpose: this is only a
    // hint, and the fsync at the end reports any real I/O error.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Elsewhere the final fsync does all the writeback.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File) {}
