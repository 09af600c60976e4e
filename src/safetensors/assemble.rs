//! Gathers the small, out-of-order writes of the executor into page-aligned units of an output
//! file, so that each unit reaches the disk in one large direct write.
//!
//! Why: the executor produces a few KB per block per output tensor, and tensors are filled in
//! source order, not file order. Buffered `pwrite`s of those pieces cost a copy into the page
//! cache, zeroing of new pages, and (with two workers on one file) ext4's inode lock; profiled on
//! an 8B model that was half of all CPU time. Direct I/O needs page-aligned offsets, lengths and
//! buffers, which the pieces are not; units give them that.
//!
//! A file is cut at every 1 MiB and around every tensor boundary: the page a boundary falls in
//! is a unit of its own. Such pages are not held back (tensors are filled at different times,
//! so a page shared by two could wait for most of the conversion, and there is one per
//! tensor); their bytes are handed back to be written through the page cache at once. Every
//! other unit lies inside one tensor, so the memory held by half-filled units is bounded by
//! the tensors being written at the moment, not by the model.
//!
//! Pure bookkeeping, no I/O: [`Assembler::write`] hands back the units it completed and the
//! pieces to write through.

use std::collections::HashMap;
use std::ops::Range;

/// Direct I/O alignment (offsets, lengths and memory): the page size, which also covers the
/// logical block size of every disk in use.
pub const PAGE: u64 = 4096;

/// The largest unit. 1 MiB direct writes run at the disk's sequential speed here (measured with
/// dd: 64 KiB blocks were slower, 256 KiB–1 MiB equal).
pub const CHUNK: u64 = 1 << 20;

/// A buffer whose data starts on a page boundary, as direct I/O requires of memory.
///
/// Built on a `Vec` with a page of slack rather than a custom allocation, so that it is safe
/// code; the slack is 0.4% of a 1 MiB unit.
#[derive(Debug)]
pub struct AlignedBuf {
    vec: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// A buffer of `len` bytes, reusing `recycled`'s allocation if it is large enough.
    pub fn new(len: usize, recycled: Option<Vec<u8>>) -> AlignedBuf {
        let need = len + PAGE as usize;
        let mut vec = match recycled {
            Some(v) if v.capacity() >= need => v,
            _ => Vec::with_capacity(need),
        };
        // The contents are overwritten before use; zeroing keeps this free of `unsafe`.
        vec.resize(need, 0);
        let start = vec.as_ptr().align_offset(PAGE as usize);
        AlignedBuf { vec, start, len }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.vec[self.start..self.start + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.vec[self.start..self.start + self.len]
    }

    /// The allocation, for reuse.
    pub fn into_vec(self) -> Vec<u8> {
        self.vec
    }
}

/// A unit that has received all its bytes.
#[derive(Debug)]
pub struct FullUnit {
    /// Offset in the file (a multiple of [`PAGE`]).
    pub offset: u64,
    /// The unit's bytes; its length is a multiple of [`PAGE`] except for the file's last unit.
    pub data: AlignedBuf,
}

/// Where the units of one file begin and end.
#[derive(Debug)]
struct UnitMap {
    /// Sorted page-aligned cuts around tensor boundaries, from 0 to the file length.
    cuts: Vec<u64>,
}

impl UnitMap {
    fn new(boundaries: impl IntoIterator<Item = u64>, file_len: u64) -> UnitMap {
        let mut cuts = vec![0, file_len];
        for b in boundaries {
            let floor = b / PAGE * PAGE;
            cuts.push(floor.min(file_len));
            cuts.push((floor + PAGE).min(file_len));
        }
        cuts.sort_unstable();
        cuts.dedup();
        UnitMap { cuts }
    }

    fn file_len(&self) -> u64 {
        *self.cuts.last().unwrap_or(&0)
    }

    /// The unit that holds byte `offset` (which must lie in the file).
    fn unit_at(&self, offset: u64) -> Range<u64> {
        // cuts[0] == 0 <= offset < file_len == cuts[last], so 1 <= i <= last.
        let i = self.cuts.partition_point(|&c| c <= offset);
        let chunk = offset / CHUNK * CHUNK;
        self.cuts[i - 1].max(chunk)..self.cuts[i].min(chunk + CHUNK)
    }
}

/// A unit that has received some of its bytes.
#[derive(Debug)]
struct OpenUnit {
    data: AlignedBuf,
    filled: u64,
}

/// Why a write could not be taken: either is a bug in the caller, never bad user input.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    #[error("write of {len} bytes at {offset} runs past the end of the file ({file_len} bytes)")]
    PastEnd {
        offset: u64,
        len: u64,
        file_len: u64,
    },
    #[error("bytes {offset}..{end} were written twice")]
    Overlap { offset: u64, end: u64 },
}

/// The units of one file being filled.
#[derive(Debug)]
pub struct Assembler {
    map: UnitMap,
    open: HashMap<u64, OpenUnit>,
    /// Bytes in units that went out.
    completed: u64,
}

impl Assembler {
    /// An assembler for a file of `file_len` bytes whose contents change owner at
    /// `boundaries` (tensor starts and ends).
    pub fn new(boundaries: impl IntoIterator<Item = u64>, file_len: u64) -> Assembler {
        Assembler {
            map: UnitMap::new(boundaries, file_len),
            open: HashMap::new(),
            completed: 0,
        }
    }

    /// Copies `bytes` to `offset` and appends the units this completes to `full`.
    /// `recycle` supplies spent buffers (of a whole chunk) for new units, small ones included:
    /// drawing every unit from one pool of equal buffers keeps the allocator from fragmenting
    /// over the thousands of tensor-sized units of a large model. When it has none, a unit gets
    /// a fresh buffer of its own size.
    ///
    /// Bytes that fall in a boundary page are not copied: their `(file offset, range of
    /// bytes)` is appended to `through`, to be written as they are.
    pub fn write(
        &mut self,
        mut offset: u64,
        bytes: &[u8],
        full: &mut Vec<FullUnit>,
        through: &mut Vec<(u64, Range<usize>)>,
        recycle: &mut dyn FnMut() -> Option<Vec<u8>>,
    ) -> Result<(), AssembleError> {
        let file_len = self.map.file_len();
        if offset + bytes.len() as u64 > file_len {
            return Err(AssembleError::PastEnd {
                offset,
                len: bytes.len() as u64,
                file_len,
            });
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let unit = self.map.unit_at(offset);
            let n = (unit.end - offset).min((bytes.len() - pos) as u64) as usize;
            let unit_len = unit.end - unit.start;
            if unit_len <= PAGE {
                self.completed += n as u64;
                through.push((offset, pos..pos + n));
                offset += n as u64;
                pos += n;
                continue;
            }
            let open = self.open.entry(unit.start).or_insert_with(|| {
                let recycled = recycle();
                OpenUnit {
                    data: AlignedBuf::new(unit_len as usize, recycled),
                    filled: 0,
                }
            });
            if open.filled + n as u64 > unit_len {
                return Err(AssembleError::Overlap {
                    offset,
                    end: offset + n as u64,
                });
            }
            let at = (offset - unit.start) as usize;
            open.data.as_mut_slice()[at..at + n].copy_from_slice(&bytes[pos..pos + n]);
            open.filled += n as u64;
            if open.filled == unit_len
                && let Some(done) = self.open.remove(&unit.start)
            {
                self.completed += unit_len;
                full.push(FullUnit {
                    offset: unit.start,
                    data: done.data,
                });
            }
            offset += n as u64;
            pos += n;
        }
        Ok(())
    }

    /// Bytes of the file that have not gone out yet.
    pub fn unwritten(&self) -> u64 {
        self.map.file_len().saturating_sub(self.completed)
    }

    /// Whether every byte went out once: a unit written twice over stays open or overfills,
    /// and a boundary page written twice leaves the count short of another.
    pub fn is_complete(&self) -> bool {
        self.open.is_empty() && self.completed == self.map.file_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of the test file: position mod 251.
    fn pattern(offset: u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((offset as usize + i) % 251) as u8)
            .collect()
    }

    /// Writes the pattern at `offset`, applying write-through pieces to `file` at once.
    fn fill(a: &mut Assembler, offset: u64, len: usize, full: &mut Vec<FullUnit>, file: &mut [u8]) {
        let bytes = pattern(offset, len);
        let mut through = Vec::new();
        a.write(offset, &bytes, full, &mut through, &mut || None)
            .unwrap();
        for (at, r) in through {
            assert!(r.len() as u64 <= PAGE);
            file[at as usize..at as usize + r.len()].copy_from_slice(&bytes[r]);
        }
    }

    fn write(a: &mut Assembler, offset: u64, bytes: &[u8]) -> Result<(), AssembleError> {
        a.write(offset, bytes, &mut Vec::new(), &mut Vec::new(), &mut || {
            None
        })
    }

    #[test]
    fn units_are_page_aligned_and_cover_the_file() {
        let file_len = 3 * CHUNK + 1234;
        let map = UnitMap::new([100, 5000, CHUNK + 7, 2 * CHUNK], file_len);
        let mut at = 0;
        let mut units = Vec::new();
        while at < file_len {
            let u = map.unit_at(at);
            assert_eq!(u.start, at);
            assert_eq!(u.start % PAGE, 0);
            assert!(u.end - u.start <= CHUNK);
            assert!(u.end == file_len || u.end.is_multiple_of(PAGE), "{u:?}");
            units.push(u.clone());
            at = u.end;
        }
        // Boundary pages are units of their own.
        assert!(units.contains(&(0..PAGE)));
        assert!(units.contains(&(PAGE..2 * PAGE)));
        assert!(units.contains(&(CHUNK..CHUNK + PAGE)));
        assert!(units.contains(&(2 * CHUNK..2 * CHUNK + PAGE)));
        assert_eq!(units.last().unwrap().end, file_len);
    }

    #[test]
    fn out_of_order_writes_assemble_into_the_file() {
        // Two tensors and a header; the writes come in an interleaved, unaligned order.
        let header = 77u64;
        let t1 = header..header + 2 * CHUNK + 333;
        let t2 = t1.end..t1.end + 10_000;
        let file_len = t2.end;
        let mut a = Assembler::new([t1.start, t1.end, t2.end], file_len);
        let mut full = Vec::new();
        let mut file = vec![0u8; file_len as usize];
        fill(&mut a, t2.start + 5000, 5000, &mut full, &mut file);
        let mut at = t1.start;
        while at < t1.end {
            let n = (t1.end - at).min(32 * 1024 + 3);
            fill(&mut a, at, n as usize, &mut full, &mut file);
            at += n;
        }
        fill(&mut a, 0, header as usize, &mut full, &mut file);
        assert!(a.unwritten() > 0 && !a.is_complete());
        fill(&mut a, t2.start, 5000, &mut full, &mut file);
        assert!(a.unwritten() == 0 && a.is_complete());
        let mut seen = file.iter().filter(|&&b| b != 0).count() as u64;
        // Only boundary pages were written through.
        assert!(seen <= 4 * PAGE, "{seen}");
        seen = 0;
        for u in &full {
            let d = u.data.as_slice();
            assert_eq!(u.offset % PAGE, 0);
            assert_eq!(d.as_ptr() as usize % PAGE as usize, 0);
            file[u.offset as usize..u.offset as usize + d.len()].copy_from_slice(d);
            seen += d.len() as u64;
        }
        assert!(seen >= file_len - 4 * PAGE, "{seen}");
        assert!(file.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }

    #[test]
    fn gaps_are_reported_and_overlaps_refused() {
        // Units: [0, 4096) is a boundary page; [4096, 16384) and [16384, 20000) are not.
        let mut a = Assembler::new([10, 20_000], 20_000);
        write(&mut a, 0, &[7; 9000]).unwrap();
        assert_eq!(a.unwritten(), 20_000 - PAGE);
        let e = write(&mut a, 19_999, &[0; 2]);
        assert!(matches!(e, Err(AssembleError::PastEnd { .. })), "{e:?}");
        // Writing the open unit twice over overfills it.
        let e = write(&mut a, PAGE, &[0; 12_000]);
        assert!(matches!(e, Err(AssembleError::Overlap { .. })), "{e:?}");
        // Rewriting a unit that went out reopens it, so the file never completes.
        let mut a = Assembler::new([10, 20_000], 20_000);
        write(&mut a, 0, &[7; 20_000]).unwrap();
        assert!(a.is_complete());
        write(&mut a, 5000, &[7; 100]).unwrap();
        assert!(!a.is_complete());
        // A boundary page written twice leaves the count off.
        let mut a = Assembler::new([10, 20_000], 20_000);
        write(&mut a, 0, &[7; 20_000]).unwrap();
        write(&mut a, 0, &[7; 10]).unwrap();
        assert!(!a.is_complete());
    }

    #[test]
    fn recycled_buffers_are_reused_and_aligned() {
        let v = Vec::with_capacity(3 * PAGE as usize);
        let p = v.as_ptr();
        let b = AlignedBuf::new(PAGE as usize, Some(v));
        assert_eq!(b.as_slice().len(), PAGE as usize);
        assert_eq!(b.as_slice().as_ptr() as usize % PAGE as usize, 0);
        let v = b.into_vec();
        assert_eq!(v.as_ptr(), p);
    }
}
