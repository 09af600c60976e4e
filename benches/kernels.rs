//! Kernel throughput, in bytes of bf16 input per second on one core: the numbers that bound how
//! fast a conversion can go (`cargo bench --bench kernels`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hf2mlx::cast::{self, FloatType};
use hf2mlx::quant::{affine, fp};

/// 1 Mi elements of N(0, 0.02)-like bf16 values (deterministic, no rand dependency).
fn input() -> (Vec<u8>, Vec<f32>) {
    let n = 1 << 20;
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

fn kernels(c: &mut Criterion) {
    let (bytes, x) = input();
    let n = x.len();
    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut out = vec![0f32; n];
    g.bench_function("decode bf16", |b| {
        b.iter(|| cast::decode_to_f32(FloatType::BF16, &bytes, &mut out))
    });
    for (bits, gs) in [(4u32, 64usize), (3, 64), (8, 64), (4, 32)] {
        let mut words = vec![0u32; n * bits as usize / 32];
        let (mut s, mut bi) = (vec![0f32; n / gs], vec![0f32; n / gs]);
        g.bench_function(format!("affine {bits}-bit g{gs}"), |b| {
            b.iter(|| affine::quantize(&x, gs, bits, &mut words, &mut s, &mut bi))
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

criterion_group!(benches, kernels);
criterion_main!(benches);
