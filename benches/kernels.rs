//! Kernel throughput, in bytes of bf16 input per second on one core: the numbers that bound how
//! fast a conversion can go (`cargo bench --bench kernels`).
//!
//! Inputs are one executor block ([`hf2mlx::exec::BLOCK_ELEMS`] elements), so they stay in L2 as
//! they do in a conversion. Time is the benchmark thread's CPU time, not wall time: on a shared
//! machine, time spent descheduled is not charged to the kernel (cache interference still is).

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hf2mlx::cast::{self, FloatType};
use hf2mlx::quant::method::clipfit;
use hf2mlx::quant::{affine, fp};

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
struct ThreadCpuTime;

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, which is all
    // clock_gettime requires; the clock id is a constant the kernel supports since Linux 2.6.12.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuNanos
    }
}

/// Formats CPU nanoseconds as times and byte throughputs (GiB/s of bf16 input).
struct CpuNanos;

impl ValueFormatter for CpuNanos {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e3, "µs")
        } else {
            (1e6, "ms")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let bytes = match throughput {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => *b as f64,
            Throughput::Elements(e) => *e as f64,
        };
        for v in values.iter_mut() {
            *v = bytes / (*v * 1e-9) / (1u64 << 30) as f64;
        }
        "GiB/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// One block of N(0, 0.02)-like bf16 values (deterministic, no rand dependency).
fn input() -> (Vec<u8>, Vec<f32>) {
    let n = hf2mlx::exec::BLOCK_ELEMS;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut x = Vec::with_capacity(n);
    for _ in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // sum of 4 uniforms: roughly normal
        let u: f32 = (0..4)
            .map(|k| ((state >> (k * 16)) & 0xffff) as f32 / 65536.0)
            .sum::<f32>()
            - 2.0;
        x.push(u * 0.02);
    }
    let mut bytes = vec![0u8; n * 2];
    cast::encode_from_f32(FloatType::BF16, &x, &mut bytes);
    cast::decode_to_f32(FloatType::BF16, &bytes, &mut x);
    (bytes, x)
}

fn kernels(c: &mut Criterion<ThreadCpuTime>) {
    let (bytes, x) = input();
    let n = x.len();
    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut out = vec![0f32; n];
    g.bench_function("decode bf16", |b| {
        b.iter(|| cast::decode_to_f32(FloatType::BF16, &bytes, &mut out))
    });
    let mut enc = vec![0u8; n * 2];
    g.bench_function("encode bf16", |b| {
        b.iter(|| cast::encode_from_f32(FloatType::BF16, &x, &mut enc))
    });
    for (bits, gs) in [
        (4u32, 64usize),
        (3, 64),
        (6, 64),
        (8, 64),
        (4, 32),
        (2, 128),
    ] {
        let mut words = vec![0u32; n * bits as usize / 32];
        let (mut s, mut bi) = (vec![0f32; n / gs], vec![0f32; n / gs]);
        g.bench_function(format!("affine {bits}-bit g{gs}"), |b| {
            b.iter(|| affine::quantize(&x, gs, bits, &mut words, &mut s, &mut bi))
        });
    }
    // clipfit with column weights for rows of 1024 (norm-gain-like spread, up to ~40x).
    let cw: Vec<f32> = (0..1024u32)
        .map(|i| 0.3 + ((i.wrapping_mul(2_654_435_761) >> 20) % 64) as f32 * 0.05)
        .map(|g| g * g)
        .collect();
    for (bits, gs) in [(4u32, 64usize), (3, 64)] {
        let mut words = vec![0u32; n * bits as usize / 32];
        let (mut s, mut bi) = (vec![0f32; n / gs], vec![0f32; n / gs]);
        g.bench_function(format!("clipfit {bits}-bit g{gs}"), |b| {
            b.iter(|| {
                clipfit::quantize(
                    &x,
                    gs,
                    bits,
                    FloatType::BF16,
                    Some(&cw),
                    &mut words,
                    &mut s,
                    &mut bi,
                )
            })
        });
    }
    for mode in [fp::FpMode::Mxfp4, fp::FpMode::Nvfp4, fp::FpMode::Mxfp8] {
        let mut words = vec![0u32; n * mode.bits() as usize / 32];
        let mut scales = vec![0u8; n / mode.group_size()];
        g.bench_function(format!("{mode:?}"), |b| {
            b.iter(|| fp::quantize(mode, FloatType::BF16, &x, None, &mut words, &mut scales))
        });
    }
    g.finish();
}

/// The ceilings the kernels are measured against: how fast one core can bring bytes in at all.
/// `memory read` streams a buffer far larger than the caches (plain loads, summed in 8 lanes so
/// the adds keep up); `page-cache read` is what a conversion's reader does per block: `pread`
/// of 128 KiB from a cached file (a kernel copy, as `cat` does).
fn ceilings(c: &mut Criterion<ThreadCpuTime>) {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    const BIG: usize = 256 << 20;
    let mut g = c.benchmark_group("ceiling");
    g.throughput(Throughput::Bytes(BIG as u64));
    g.sample_size(10);
    let words: Vec<u64> = (0..BIG as u64 / 8).collect();
    g.bench_function("memory read", |b| {
        b.iter(|| {
            let mut acc = [0u64; 8];
            for c in words.chunks_exact(8) {
                for l in 0..8 {
                    acc[l] = acc[l].wrapping_add(c[l]);
                }
            }
            std::hint::black_box(acc)
        })
    });
    let mut file = tempfile::tempfile().expect("a temporary file for the page-cache benchmark");
    let block = vec![7u8; 1 << 20];
    for _ in 0..BIG >> 20 {
        file.write_all(&block).expect("writing the temporary file");
    }
    let mut buf = vec![0u8; 2 * hf2mlx::exec::BLOCK_ELEMS];
    g.bench_function("page-cache read (pread 128 KiB)", |b| {
        b.iter(|| {
            for at in (0..BIG).step_by(buf.len()) {
                file.read_exact_at(&mut buf, at as u64).expect("pread");
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = kernels, ceilings
}
criterion_main!(benches);
