//! Writing safetensors shards the way `mx.save_safetensors` lays them out (compact header with
//! keys sorted bytewise, `{"format":"mlx"}` metadata, no padding), except that the data order is
//! ours: readers ignore it, and fixing it up front lets any thread write any tensor.
//!
//! Hand-written rather than `safetensors::serialize_to_file` because that crate chooses the
//! tensor order, writes tensors one at a time from one thread, and pads the header.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::assemble::{AlignedBuf, Assembler, CHUNK, FullUnit, PAGE};
use crate::dtype::DType;
use crate::error::{Error, IoContext, Result};

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

/// Threads that write full units. Direct writes wait for the device, so two keep a request
/// queued at the disk while the other is being set up; they use no CPU while they wait.
const IO_THREADS: usize = 2;

/// Full units waiting for an I/O thread (at most 1 MiB each): enough to ride out a slow write,
/// small enough that memory stays flat. Workers wait when it is full, which is the back-pressure
/// that keeps a slow disk from filling memory.
const QUEUE_UNITS: usize = 16;

/// Units being filled at once: about one per output tensor the workers are writing (a
/// quantized weight, its scales and biases; two of each where a block boundary falls between
/// tensors). Measured peak on Llama 1B and 8B: 6.
const OPEN_UNITS: usize = 8;

/// Unit buffers kept for reuse: one per unit that can be open, queued or being written.
const POOL_UNITS: usize = OPEN_UNITS + QUEUE_UNITS + IO_THREADS;

/// In buffered mode, bytes written to a shard after which its writeback is started (not waited
/// for), so the final fsync has little left to flush.
const WRITEBACK_EVERY: u64 = 64 << 20;

/// The environment variable that turns direct I/O off (`HF2MLX_DIRECT_IO=0`), for file systems
/// where it misbehaves and for comparing the two write paths in benchmarks.
pub const DIRECT_IO_ENV: &str = "HF2MLX_DIRECT_IO";

/// An output file and the two ways of writing it.
struct OutFile {
    path: PathBuf,
    /// Buffered writes: the fallback, and the file's last unit (its length is not page-aligned).
    file: File,
    /// The same file opened with `O_DIRECT`, where the file system allows it.
    direct: Option<File>,
    /// Set when a direct write was refused (EINVAL): the rest goes through the page cache.
    direct_refused: AtomicBool,
    /// Buffered bytes since writeback was last started.
    unflushed: AtomicU64,
}

impl OutFile {
    fn write_unit(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        if let Some(direct) = &self.direct
            && (data.len() as u64).is_multiple_of(PAGE)
            && !self.direct_refused.load(Ordering::Relaxed)
        {
            match direct.write_all_at(data, offset) {
                Ok(()) => return Ok(()),
                // Some file systems accept O_DIRECT at open and refuse the write.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.direct_refused.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.file.write_all_at(data, offset)?;
        let n = data.len() as u64;
        if self.unflushed.fetch_add(n, Ordering::Relaxed) + n >= WRITEBACK_EVERY {
            self.unflushed.store(0, Ordering::Relaxed);
            start_writeback(&self.file);
        }
        Ok(())
    }
}

/// Opens `path` a second time with `O_DIRECT`; `None` where that is unavailable or turned off.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if std::env::var(DIRECT_IO_ENV).is_ok_and(|v| v == "0") {
        return None;
    }
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

struct WriteJob {
    file: Arc<OutFile>,
    unit: FullUnit,
}

/// State shared by the pool's threads and the shard writers.
#[derive(Default)]
struct PoolShared {
    /// The first write error; later writes are dropped.
    error: Mutex<Option<Error>>,
    failed: AtomicBool,
    /// Spent unit buffers, for reuse (allocating 1 MiB afresh costs page faults and zeroing).
    spare: Mutex<Vec<Vec<u8>>>,
}

impl PoolShared {
    fn fail(&self, e: Error) {
        let mut first = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(e);
        }
        self.failed.store(true, Ordering::Relaxed);
    }

    fn spare(&self) -> Option<Vec<u8>> {
        self.spare.lock().ok()?.pop()
    }
}

/// Background threads that write the units of all shards of one conversion.
///
/// Workers hand complete units to the pool and go back to computing; the disk works in
/// parallel. [`WritePool::finish`] waits for the last unit, checks that every byte of every
/// shard was written, and fsyncs.
pub struct WritePool {
    sender: Option<SyncSender<WriteJob>>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<PoolShared>,
}

impl WritePool {
    /// Starts the threads and fills the buffer pool, for `output_bytes` of shard data.
    ///
    /// The pool is allocated (and its pages touched) up front, as many buffers as can be
    /// filled, queued or written at once ([`POOL_UNITS`]), but no more than the output needs: memory is then the same
    /// fixed amount for a 1B model as for a 400B one, instead of depending on how full the
    /// queue happened to get, and no page faults or allocator work land in the hot path.
    pub fn start(output_bytes: u64) -> Result<WritePool> {
        let (sender, receiver) = sync_channel::<WriteJob>(QUEUE_UNITS);
        let receiver = Arc::new(Mutex::new(receiver));
        let pooled = output_bytes.div_ceil(CHUNK).min(POOL_UNITS as u64) as usize;
        let spare = (0..pooled)
            .map(|_| AlignedBuf::new(CHUNK as usize, None).into_vec())
            .collect();
        let shared = Arc::new(PoolShared {
            spare: Mutex::new(spare),
            ..PoolShared::default()
        });
        let threads = (0..IO_THREADS)
            .map(|i| {
                let receiver = Arc::clone(&receiver);
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("hf2mlx-write-{i}"))
                    .spawn(move || io_thread(&receiver, &shared))
                    .map_err(|e| Error::io("write thread", e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(WritePool {
            sender: Some(sender),
            threads,
            shared,
        })
    }

    /// Waits for all writes, then checks and fsyncs every shard. A write error is returned
    /// first; `complete` says whether the caller finished all its work (if not, the shards are
    /// left as they are, to be discarded, and the caller reports its own error).
    pub fn finish(mut self, shards: Vec<ShardWriter>, complete: bool) -> Result<()> {
        let mut files = Vec::with_capacity(shards.len());
        let mut incomplete = None;
        for s in shards {
            let assembler = s.assembler.into_inner().unwrap_or_else(|p| p.into_inner());
            if complete && incomplete.is_none() && !assembler.is_complete() {
                incomplete = Some(Error::Plan(format!(
                    "internal error: {} bytes of {} were never written",
                    assembler.unwritten(),
                    s.file.path.display()
                )));
            }
            files.push(s.file);
        }
        self.join();
        if let Some(e) = self.shared.error.lock().ok().and_then(|mut e| e.take()) {
            return Err(e);
        }
        if !complete {
            return Ok(());
        }
        if let Some(e) = incomplete {
            return Err(e);
        }
        for f in files {
            f.file.sync_all().at(&f.path)?;
        }
        Ok(())
    }

    /// Closes the queue and waits for the threads to write what is in it.
    fn join(&mut self) {
        drop(self.sender.take());
        for t in self.threads.drain(..) {
            // A panicking write thread already recorded nothing; surface it as an error.
            if t.join().is_err() {
                self.shared.fail(Error::io(
                    "write thread",
                    std::io::Error::other("a write thread panicked"),
                ));
            }
        }
    }
}

impl Drop for WritePool {
    /// On an early return the threads still finish (or drop) their queue before the temporary
    /// output folder is removed. Shard writers hold senders too, so they must be dropped
    /// first: declare the pool before them.
    fn drop(&mut self) {
        self.shared.failed.store(true, Ordering::Relaxed);
        self.join();
    }
}

fn io_thread(receiver: &Mutex<Receiver<WriteJob>>, shared: &PoolShared) {
    loop {
        let job = match receiver.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(WriteJob { file, unit }) = job else {
            return; // every sender is gone: the conversion is over
        };
        if !shared.failed.load(Ordering::Relaxed)
            && let Err(e) = file.write_unit(unit.offset, unit.data.as_slice())
        {
            shared.fail(Error::io(&file.path, e));
        }
        // Only whole chunks are reused (see `Assembler::write`); the pool never outgrows the
        // number of units that can be in flight.
        let data = unit.data.into_vec();
        if data.capacity() >= (CHUNK + PAGE) as usize
            && let Ok(mut spare) = shared.spare.lock()
            && spare.len() < POOL_UNITS
        {
            spare.push(data);
        }
    }
}

/// An output shard being filled. The file is created at its full size up front; any thread
/// writes any tensor's bytes at their place, and the shard's [`Assembler`] turns them into
/// page-aligned units for the [`WritePool`].
pub struct ShardWriter {
    file: Arc<OutFile>,
    data_start: u64,
    assembler: Mutex<Assembler>,
    sender: SyncSender<WriteJob>,
    shared: Arc<PoolShared>,
}

impl ShardWriter {
    pub fn create(path: &Path, layout: &ShardLayout, pool: &WritePool) -> Result<ShardWriter> {
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
        let data_start = head.len() as u64;
        let file_len = data_start + layout.data_len();
        file.set_len(file_len).at(path)?;
        let boundaries = std::iter::once(data_start).chain(
            layout
                .tensors
                .iter()
                .map(|t| data_start + t.offset + t.nbytes),
        );
        let sender = pool
            .sender
            .clone()
            .ok_or_else(|| Error::Plan("internal error: the write pool is closed".into()))?;
        let w = ShardWriter {
            file: Arc::new(OutFile {
                path: path.to_path_buf(),
                direct: open_direct(path),
                file,
                direct_refused: AtomicBool::new(false),
                unflushed: AtomicU64::new(0),
            }),
            data_start,
            assembler: Mutex::new(Assembler::new(boundaries, file_len)),
            sender,
            shared: Arc::clone(&pool.shared),
        };
        w.write_file_at(0, &head)?;
        Ok(w)
    }

    /// Writes `bytes` at `offset` bytes into the tensor that starts at `slot_offset`.
    pub fn write_at(&self, slot_offset: u64, offset: u64, bytes: &[u8]) -> Result<()> {
        self.write_file_at(self.data_start + slot_offset + offset, bytes)
    }

    fn write_file_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        if self.shared.failed.load(Ordering::Relaxed) {
            // The pool holds the real error; `WritePool::finish` returns it.
            return Err(Error::io(
                &self.file.path,
                std::io::Error::other("an earlier write failed"),
            ));
        }
        let (mut full, mut through) = (Vec::new(), Vec::new());
        self.assembler
            .lock()
            .map_err(|_| Error::Plan("internal error: a worker panicked".into()))?
            .write(offset, bytes, &mut full, &mut through, &mut || {
                self.shared.spare()
            })
            .map_err(|e| {
                Error::Plan(format!("internal error: {}: {e}", self.file.path.display()))
            })?;
        // Boundary pages: a few KB per tensor, written through the page cache from here.
        for (at, range) in through {
            self.file
                .file
                .write_all_at(&bytes[range], at)
                .at(&self.file.path)?;
        }
        for unit in full {
            let job = WriteJob {
                file: Arc::clone(&self.file),
                unit,
            };
            if self.sender.send(job).is_err() {
                return Err(Error::io(
                    &self.file.path,
                    std::io::Error::other("the write threads stopped"),
                ));
            }
        }
        Ok(())
    }
}

/// Drops the file's pages that earlier calls have written back, then asks the kernel to start
/// writing the dirty ones, without waiting for either.
///
/// Dropping is what keeps the buffered path near the direct one: without it a multi-GB output
/// fills the page cache, and once memory is short every new page of output costs the writer a
/// direct reclaim that evicts the (warm) input, which the readers then fetch from disk again.
/// `POSIX_FADV_DONTNEED` only drops clean pages, so pages still dirty or under writeback stay
/// until a later call (or the final fsync) has written them: nothing unwritten is lost.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: both are plain syscalls taking integers; the descriptor belongs to `file`, which is
    // borrowed (hence open) for the whole call. Failures are ignored on purpose: these are only
    // hints, and the fsync at the end reports any real I/O error.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Elsewhere the final fsync does all the writeback.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_is_filled_up_front_but_never_beyond_the_output() {
        for (output_bytes, buffers) in [
            (0, 0),
            (1, 1),
            (3 * CHUNK, 3),
            (3 * CHUNK + 1, 4),
            (1 << 40, POOL_UNITS),
        ] {
            let pool = WritePool::start(output_bytes).unwrap();
            let spare = pool.shared.spare.lock().unwrap();
            assert_eq!(spare.len(), buffers, "{output_bytes} bytes of output");
            // Whole chunks with alignment slack, so any unit can take any of them.
            assert!(
                spare
                    .iter()
                    .all(|v| v.capacity() >= (CHUNK + PAGE) as usize)
            );
        }
    }
}
