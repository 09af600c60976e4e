//! `--check-finite`: a separate, read-only pass over a checkpoint's floating tensors that counts
//! NaN and ±Inf values. Conversion itself treats such values exactly as mlx does (they quantize
//! bit for bit like `mx.quantize`); this pass only tells the user they are there, because a
//! model with NaN weights usually means a broken fine-tune or a bad download.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::safetensors::Checkpoint;

/// Bytes read per step: bounded memory whatever the tensor size.
const CHUNK: u64 = 4 << 20;

/// A tensor holding non-finite values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonFinite {
    pub tensor: String,
    pub file: PathBuf,
    pub nan: u64,
    pub inf: u64,
    pub elements: u64,
}

/// Counts NaN and Inf in one little-endian buffer of `dtype` elements.
pub fn count(dtype: DType, bytes: &[u8]) -> (u64, u64) {
    let (mut nan, mut inf) = (0u64, 0u64);
    let mut tally = |exp_all_ones: bool, mantissa_zero: bool| {
        if exp_all_ones {
            if mantissa_zero {
                inf += 1;
            } else {
                nan += 1;
            }
        }
    };
    match dtype {
        DType::F32 => {
            for c in bytes.chunks_exact(4) {
                let b = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                tally(b & 0x7f80_0000 == 0x7f80_0000, b & 0x007f_ffff == 0);
            }
        }
        DType::BF16 => {
            for c in bytes.chunks_exact(2) {
                let b = u16::from_le_bytes([c[0], c[1]]);
                tally(b & 0x7f80 == 0x7f80, b & 0x007f == 0);
            }
        }
        DType::F16 => {
            for c in bytes.chunks_exact(2) {
                let b = u16::from_le_bytes([c[0], c[1]]);
                tally(b & 0x7c00 == 0x7c00, b & 0x03ff == 0);
            }
        }
        DType::F64 => {
            for c in bytes.chunks_exact(8) {
                let b = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
                tally(
                    b & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000,
                    b & 0x000f_ffff_ffff_ffff == 0,
                );
            }
        }
        _ => {}
    }
    (nan, inf)
}

/// Scans every F16/BF16/F32/F64 tensor of the given shards (opened read-only) and returns those
/// with NaN or Inf values, in file then header order.
pub fn scan(files: &[PathBuf]) -> Result<Vec<NonFinite>> {
    let ckpt = Checkpoint::open(files)?;
    let floats: Vec<_> = ckpt
        .tensors
        .iter()
        .filter(|t| matches!(t.dtype, DType::F16 | DType::BF16 | DType::F32 | DType::F64))
        .collect();
    let found = floats
        .par_iter()
        .map(|t| -> Result<Option<NonFinite>> {
            let esize = t.dtype.size() as u64;
            let step = CHUNK / esize * esize;
            let mut buf = Vec::new();
            let (mut nan, mut inf) = (0, 0);
            let mut at = 0;
            while at < t.nbytes {
                let n = step.min(t.nbytes - at);
                buf.resize(n as usize, 0);
                ckpt.read_at(t.file, t.offset + at, &mut buf)?;
                let (a, b) = count(t.dtype, &buf);
                nan += a;
                inf += b;
                at += n;
            }
            Ok((nan + inf > 0).then(|| NonFinite {
                tensor: t.name.clone(),
                file: ckpt.files[t.file].clone(),
                nan,
                inf,
                elements: t.nbytes / esize,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// The report printed for `--check-finite`.
pub fn report(found: &[NonFinite]) -> String {
    let mut s = format!(
        "{} tensor{} contain NaN or Inf values:\n",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
    for f in found {
        s.push_str(&format!(
            "  {} ({}): {} NaN, {} Inf of {} values\n",
            f.tensor,
            f.file.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            f.nan,
            f.inf,
            f.elements
        ));
    }
    s.push_str(
        "The conversion would keep them exactly as mlx-lm does; run without --check-finite to \
         convert anyway.",
    );
    s
}

/// `--check-finite`: Ok when every floating tensor is finite, else an error listing the
/// offenders (nothing is written).
pub fn check(files: &[PathBuf]) -> Result<()> {
    let found = match files {
        [one] if crate::gguf::is_gguf(one) => crate::gguf::convert::scan_finite(one)?,
        _ => scan(files)?,
    };
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::NonFinite(report(&found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_float_format() {
        let f32s: Vec<u8> = [1.0f32, f32::NAN, f32::INFINITY, -f32::INFINITY, 1e-40]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(count(DType::F32, &f32s), (1, 2));
        let bf: Vec<u8> = [0x3f80u16, 0x7fc0, 0xff80, 0x0001]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(count(DType::BF16, &bf), (1, 1));
        let h: Vec<u8> = [0x3c00u16, 0x7e00, 0x7c00, 0xfc00, 0x0001]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(count(DType::F16, &h), (1, 2));
        assert_eq!(count(DType::U8, &[0xff; 8]), (0, 0));
    }
}
