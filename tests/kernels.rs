//! Bit-exactness of the quantization / cast kernels against mlx 0.32.4 (CPU).
//!
//! The reference vectors in `tests/fixtures/kernels/` are produced by mlx itself with
//! `tools/gen_kernel_vectors.py` (format documented there: safetensors files whose
//! `__metadata__.cases` lists the cases). Every comparison is on raw bits.

use std::collections::HashMap;

use hf2mlx::cast::{self, FloatType};
use hf2mlx::quant::fp::{self, FpMode};
use hf2mlx::quant::{affine, pack};
use proptest::prelude::*;
use serde_json::Value;

// ------------------------------------------------------------------------------ fixture loading

struct Fixture {
    tensors: HashMap<String, (String, Vec<usize>, std::ops::Range<usize>)>,
    data: Vec<u8>,
    cases: Vec<Value>,
}

impl Fixture {
    fn load(name: &str) -> Fixture {
        // HF2MLX_KERNEL_VECTORS points at a larger set made with `gen_kernel_vectors.py DIR --scale N`
        let dir = std::env::var("HF2MLX_KERNEL_VECTORS")
            .unwrap_or_else(|_| format!("{}/tests/fixtures/kernels", env!("CARGO_MANIFEST_DIR")));
        let path = format!("{dir}/{name}");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Map<String, Value> =
            serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let base = 8 + n;
        let mut tensors = HashMap::new();
        let mut cases = Vec::new();
        for (k, v) in header {
            if k == "__metadata__" {
                cases = serde_json::from_str(v["cases"].as_str().unwrap()).unwrap();
                continue;
            }
            let dtype = v["dtype"].as_str().unwrap().to_string();
            let shape = v["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let off = v["data_offsets"].as_array().unwrap();
            let (a, b) = (
                off[0].as_u64().unwrap() as usize,
                off[1].as_u64().unwrap() as usize,
            );
            tensors.insert(k, (dtype, shape, base + a..base + b));
        }
        Fixture {
            tensors,
            data: bytes,
            cases,
        }
    }

    fn bytes(&self, name: &str) -> &[u8] {
        let (_, _, r) = self
            .tensors
            .get(name)
            .unwrap_or_else(|| panic!("missing tensor {name}"));
        &self.data[r.clone()]
    }

    fn dtype(&self, name: &str) -> &str {
        &self.tensors[name].0
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        let t = float_type(self.dtype(name));
        let b = self.bytes(name);
        let mut out = vec![0f32; b.len() / t.size()];
        cast::decode_to_f32(t, b, &mut out);
        out
    }

    fn u32s(&self, name: &str) -> Vec<u32> {
        assert!(matches!(self.dtype(name), "U32" | "F32"), "{name}");
        self.bytes(name)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    fn u16s(&self, name: &str) -> Vec<u16> {
        self.bytes(name)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

fn float_type(s: &str) -> FloatType {
    match s {
        "F32" | "float32" => FloatType::F32,
        "F16" | "float16" => FloatType::F16,
        "BF16" | "bfloat16" => FloatType::BF16,
        _ => panic!("not a float dtype: {s}"),
    }
}

fn encode(t: FloatType, x: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; x.len() * t.size()];
    cast::encode_from_f32(t, x, &mut out);
    out
}

/// Collects mismatches so one run reports all failing cases, not just the first.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check_bytes(&mut self, what: &str, got: &[u8], want: &[u8], elem: usize) {
        if got != want {
            let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0) / elem * elem;
            self.0.push(format!(
                "{what}: first difference at element {} got {:02x?} want {:02x?}",
                i / elem,
                &got[i..(i + elem).min(got.len())],
                &want[i..(i + elem).min(want.len())]
            ));
        }
    }

    fn check_u32(&mut self, what: &str, got: &[u32], want: &[u32]) {
        if got != want {
            let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
            self.0.push(format!(
                "{what}: word {i} got {:#010x} want {:#010x}",
                got[i], want[i]
            ));
        }
    }

    fn assert_none(self, total: usize) {
        if !self.0.is_empty() {
            let n = self.0.len();
            let shown: Vec<_> = self.0.into_iter().take(40).collect();
            panic!("{n} of {total} checks failed:\n{}", shown.join("\n"));
        }
    }
}

// ------------------------------------------------------------------------------ affine

#[test]
fn affine_matches_mlx() {
    let fx = Fixture::load("affine.safetensors");
    let mut fails = Failures::default();
    let mut checks = 0;
    assert!(
        fx.cases.len() >= 100,
        "too few affine cases: {}",
        fx.cases.len()
    );
    for case in &fx.cases {
        let id = case["id"].as_str().unwrap();
        let t = float_type(case["dtype"].as_str().unwrap());
        let bits = case["bits"].as_u64().unwrap() as u32;
        let gs = case["gs"].as_u64().unwrap() as usize;
        let x = fx.f32s(case["x"].as_str().unwrap());
        let n_groups = x.len() / gs;
        let mut words = vec![0u32; x.len() * bits as usize / 32];
        let mut scales = vec![0f32; n_groups];
        let mut biases = vec![0f32; n_groups];
        affine::quantize(&x, gs, bits, &mut words, &mut scales, &mut biases);
        fails.check_u32(&format!("{id} words"), &words, &fx.u32s(&format!("{id}/w")));
        fails.check_bytes(
            &format!("{id} scales"),
            &encode(t, &scales),
            fx.bytes(&format!("{id}/scales")),
            t.size(),
        );
        fails.check_bytes(
            &format!("{id} biases"),
            &encode(t, &biases),
            fx.bytes(&format!("{id}/biases")),
            t.size(),
        );
        checks += 3;
        if case["deq"].as_bool().unwrap() {
            // dequantize mlx's own outputs (scales/biases as stored in T)
            let w = fx.u32s(&format!("{id}/w"));
            let s = fx.f32s(&format!("{id}/scales"));
            let b = fx.f32s(&format!("{id}/biases"));
            let mut out = vec![0f32; x.len()];
            affine::dequantize(&w, &s, &b, gs, bits, t, &mut out);
            fails.check_bytes(
                &format!("{id} deq"),
                &encode(t, &out),
                fx.bytes(&format!("{id}/deq")),
                t.size(),
            );
            checks += 1;
        }
    }
    fails.assert_none(checks);
}

// ------------------------------------------------------------------------------ fp modes

fn fp_mode(s: &str) -> FpMode {
    match s {
        "mxfp4" => FpMode::Mxfp4,
        "nvfp4" => FpMode::Nvfp4,
        "mxfp8" => FpMode::Mxfp8,
        _ => panic!("{s}"),
    }
}

#[test]
fn fp_modes_match_mlx() {
    let fx = Fixture::load("fp.safetensors");
    let mut fails = Failures::default();
    let mut checks = 0;
    let mut seen_tables = 0;
    for case in &fx.cases {
        let id = case["id"].as_str().unwrap();
        let mode = fp_mode(case["mode"].as_str().unwrap());
        // a number, or a string such as "inf" for values JSON cannot spell
        let g = match &case["global_scale"] {
            Value::String(v) => Some(v.parse::<f32>().unwrap()),
            v => v.as_f64().map(|v| v as f32),
        };
        let (words, scales) = if case.get("table").is_some() {
            seen_tables += 1;
            (
                fx.u32s(&format!("{id}/words")),
                fx.bytes(&format!("{id}/scales")).to_vec(),
            )
        } else {
            let t = float_type(case["dtype"].as_str().unwrap());
            let x = fx.f32s(case["x"].as_str().unwrap());
            let mut words = vec![0u32; x.len() * mode.bits() as usize / 32];
            let mut scales = vec![0u8; x.len() / mode.group_size()];
            fp::quantize(mode, t, &x, g, &mut words, &mut scales);
            let want_w = fx.u32s(&format!("{id}/w"));
            let want_s = fx.bytes(&format!("{id}/scales"));
            fails.check_u32(&format!("{id} words"), &words, &want_w);
            fails.check_bytes(&format!("{id} scales"), &scales, want_s, 1);
            checks += 2;
            (want_w, want_s.to_vec())
        };
        for odt in case["deq_dtypes"].as_array().unwrap() {
            let odt = odt.as_str().unwrap();
            let name = format!("{id}/deq/{odt}");
            let out_t = float_type(odt);
            // with a global scale mlx promotes the nvfp4 output to float32 whatever dtype= says
            let stored_t = float_type(fx.dtype(&name));
            if g.is_some() && mode == FpMode::Nvfp4 {
                assert_eq!(stored_t, FloatType::F32, "{name}");
            } else {
                assert_eq!(stored_t, out_t, "{name}");
            }
            let n = words.len() * 32 / mode.bits() as usize;
            let mut out = vec![0f32; n];
            fp::dequantize(mode, out_t, &words, &scales, g, &mut out);
            fails.check_bytes(
                &name,
                &encode(stored_t, &out),
                fx.bytes(&name),
                stored_t.size(),
            );
            checks += 1;
        }
    }
    assert!(seen_tables >= 4 && checks > 200, "fixture looks truncated");
    fails.assert_none(checks);
}

// ------------------------------------------------------------------------------ casts

#[test]
fn casts_match_mlx_astype() {
    let fx = Fixture::load("cast.safetensors");
    let mut fails = Failures::default();
    let bits = fx.u32s("f32_bits");
    let x: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
    for (t, name) in [
        (FloatType::BF16, "f32_to_bf16"),
        (FloatType::F16, "f32_to_f16"),
    ] {
        fails.check_bytes(name, &encode(t, &x), fx.bytes(name), 2);
        // convert_bytes and round_to agree with encode
        let src: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut conv = vec![0u8; x.len() * 2];
        cast::convert_bytes(FloatType::F32, t, &src, &mut conv);
        fails.check_bytes(&format!("{name} (convert_bytes)"), &conv, fx.bytes(name), 2);
        let mut r = x.clone();
        cast::round_to(t, &mut r);
        let mut back = vec![0f32; x.len()];
        cast::decode_to_f32(t, fx.bytes(name), &mut back);
        let rb: Vec<u32> = r.iter().map(|v| v.to_bits()).collect();
        let bb: Vec<u32> = back.iter().map(|v| v.to_bits()).collect();
        fails.check_u32(&format!("{name} (round_to)"), &rb, &bb);
    }
    for (src_t, src, to32, to16, other) in [
        (
            FloatType::F16,
            "f16_bits",
            "f16_to_f32",
            "f16_to_bf16",
            FloatType::BF16,
        ),
        (
            FloatType::BF16,
            "bf16_bits",
            "bf16_to_f32",
            "bf16_to_f16",
            FloatType::F16,
        ),
    ] {
        let raw = fx.bytes(src);
        let mut f = vec![0f32; raw.len() / 2];
        cast::decode_to_f32(src_t, raw, &mut f);
        let got: Vec<u32> = f.iter().map(|v| v.to_bits()).collect();
        fails.check_u32(to32, &got, &fx.u32s(to32));
        let mut conv = vec![0u8; raw.len()];
        cast::convert_bytes(src_t, other, raw, &mut conv);
        fails.check_bytes(to16, &conv, fx.bytes(to16), 2);
        let mut to_f32 = vec![0u8; raw.len() * 2];
        cast::convert_bytes(src_t, FloatType::F32, raw, &mut to_f32);
        fails.check_bytes(
            &format!("{to32} (convert_bytes)"),
            &to_f32,
            fx.bytes(to32),
            4,
        );
        // same type: a copy (payloads preserved)
        let mut same = vec![0u8; raw.len()];
        cast::convert_bytes(src_t, src_t, raw, &mut same);
        fails.check_bytes(&format!("{src} identity"), &same, raw, 2);
    }
    assert!(!fx.u16s("f16_bits").is_empty());
    fails.assert_none(14);
}

#[test]
fn fp8_codec_matches_mlx() {
    let fx = Fixture::load("cast.safetensors");
    let mut fails = Failures::default();
    let got: Vec<u8> = (0..=u16::MAX)
        .map(|i| fp::to_fp8_e4m3(f32::from_bits((i as u32) << 16)))
        .collect();
    fails.check_bytes(
        "to_fp8 over all bf16 patterns",
        &got,
        fx.bytes("to_fp8_bf16grid"),
        1,
    );
    let dec: Vec<u32> = (0..=255u8)
        .map(|c| fp::from_fp8_e4m3(c).to_bits())
        .collect();
    fails.check_u32("from_fp8", &dec, &fx.u32s("from_fp8"));
    fails.assert_none(2);
}

#[test]
fn decode_accepts_unaligned_bytes() {
    let vals = [1.5f32, -2.25, 65504.0, 1e-3];
    for t in [FloatType::F32, FloatType::F16, FloatType::BF16] {
        let enc = encode(t, &vals);
        let mut buf = vec![0u8; enc.len() + 1];
        buf[1..].copy_from_slice(&enc);
        let mut a = vec![0f32; 4];
        let mut b = vec![0f32; 4];
        cast::decode_to_f32(t, &buf[1..], &mut a);
        cast::decode_to_f32(t, &enc, &mut b);
        assert_eq!(a, b);
    }
}

// ------------------------------------------------------------------------------ properties

fn affine_params() -> impl Strategy<Value = (usize, u32)> {
    (
        prop::sample::select(vec![32usize, 64, 128]),
        prop::sample::select(vec![1u32, 2, 3, 4, 5, 6, 8]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pack_unpack_roundtrip(bits in prop::sample::select(vec![1u32, 2, 3, 4, 5, 6, 8]),
                             blocks in 1usize..6, seed in any::<u64>()) {
        let n = blocks * 32;
        let mut s = seed;
        let codes: Vec<u8> = (0..n).map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as u8) & (((1u32 << bits) - 1) as u8)
        }).collect();
        let mut words = vec![0u32; n * bits as usize / 32];
        pack::pack(&codes, bits, &mut words);
        let mut back = vec![0u8; n];
        pack::unpack(&words, bits, &mut back);
        prop_assert_eq!(back, codes);
    }

    /// mlx's own test: |w - dequant(quant(w))| <= |scale| per group (f32, finite inputs).
    #[test]
    fn affine_roundtrip_error_within_scale((gs, bits) in affine_params(),
                                           groups in 1usize..4,
                                           mag in -6i32..6,
                                           raw in prop::collection::vec(-1.0f32..1.0, 512)) {
        let n = gs * groups;
        let m = 10f32.powi(mag);
        let x: Vec<f32> = raw[..n].iter().map(|v| v * m).collect();
        let mut words = vec![0u32; n * bits as usize / 32];
        let mut s = vec![0f32; groups];
        let mut b = vec![0f32; groups];
        affine::quantize(&x, gs, bits, &mut words, &mut s, &mut b);
        let mut out = vec![0f32; n];
        affine::dequantize(&words, &s, &b, gs, bits, FloatType::F32, &mut out);
        for (i, (a, d)) in x.iter().zip(&out).enumerate() {
            let sc = s[i / gs].abs();
            prop_assert!((a - d).abs() <= sc * (1.0 + 1e-5), "x {} deq {} scale {}", a, d, sc);
        }
    }

    #[test]
    fn affine_zeros_roundtrip_exactly((gs, bits) in affine_params(), t in prop::sample::select(vec![FloatType::F32, FloatType::F16, FloatType::BF16])) {
        let x = vec![0f32; gs];
        let mut words = vec![0u32; gs * bits as usize / 32];
        let mut s = [0f32];
        let mut b = [0f32];
        affine::quantize(&x, gs, bits, &mut words, &mut s, &mut b);
        cast::round_to(t, &mut s);
        cast::round_to(t, &mut b);
        let mut out = vec![1f32; gs];
        affine::dequantize(&words, &s, &b, gs, bits, t, &mut out);
        prop_assert!(out.iter().all(|v| *v == 0.0));
    }

    /// mx modes: the error is at most half a grid step of the element format, times the scale.
    #[test]
    fn mx_roundtrip_error_bounds(mode in prop::sample::select(vec![FpMode::Mxfp4, FpMode::Mxfp8]),
                                 mag in -20i32..20,
                                 raw in prop::collection::vec(-1.0f32..1.0, 128)) {
        let m = 2f32.powi(mag);
        let x: Vec<f32> = raw.iter().map(|v| v * m).collect();
        let mut words = vec![0u32; x.len() * mode.bits() as usize / 32];
        let mut sc = vec![0u8; x.len() / 32];
        fp::quantize(mode, FloatType::F32, &x, None, &mut words, &mut sc);
        let mut out = vec![0f32; x.len()];
        fp::dequantize(mode, FloatType::F32, &words, &sc, None, &mut out);
        for (i, (a, d)) in x.iter().zip(&out).enumerate() {
            let p = fp::e8m0_to_f32(sc[i / 32]);
            let bound = match mode {
                FpMode::Mxfp4 => p,                                  // largest half-gap (4..6) is 1
                _ => (a.abs() * 0.0625).max(p * 2f32.powi(-10)),      // 3 mantissa bits / subnormal step
            };
            prop_assert!((a - d).abs() <= bound * (1.0 + 1e-6), "{:?} x {} deq {} scale {}", mode, a, d, p);
        }
    }

    /// nvfp4: error at most one E4M3 scale unit (half-gap 1 at 4..6, plus the scale's own rounding
    /// can push |x/d| up to 6.4 → 6); with and without a global scale.
    #[test]
    fn nvfp4_roundtrip_error_bounds(mag in -3i32..6, gflag in any::<bool>(),
                                    raw in prop::collection::vec(-1.0f32..1.0, 64)) {
        let m = 2f32.powi(mag);
        let mut x: Vec<f32> = raw.iter().map(|v| v * m).collect();
        for g in x.chunks_mut(16) {
            g[0] = m; // keeps every group away from the E4M3 underflow
        }
        let gsc = if gflag { Some(x.iter().fold(0f32, |a, v| a.max(v.abs()))) } else { None };
        let mut words = vec![0u32; x.len() / 8];
        let mut sc = vec![0u8; x.len() / 16];
        fp::quantize(FpMode::Nvfp4, FloatType::F32, &x, gsc, &mut words, &mut sc);
        let mut out = vec![0f32; x.len()];
        fp::dequantize(FpMode::Nvfp4, FloatType::F32, &words, &sc, gsc, &mut out);
        for (i, (a, d)) in x.iter().zip(&out).enumerate() {
            let mut unit = fp::from_fp8_e4m3(sc[i / 16]);
            if let Some(g) = gsc { unit *= g / 2688.0; }
            prop_assert!((a - d).abs() <= unit * 1.0001, "x {} deq {} unit {}", a, d, unit);
        }
    }

    /// Kernels never panic, whatever the float bits.
    #[test]
    fn kernels_accept_any_bits(raw in prop::collection::vec(any::<u32>(), 128),
                               g in prop::option::of(any::<u32>())) {
        let x: Vec<f32> = raw.iter().map(|&b| f32::from_bits(b)).collect();
        for t in [FloatType::F32, FloatType::F16, FloatType::BF16] {
            let mut xt = x.clone();
            cast::round_to(t, &mut xt);
            for mode in [FpMode::Mxfp4, FpMode::Nvfp4, FpMode::Mxfp8] {
                let mut w = vec![0u32; 128 * mode.bits() as usize / 32];
                let mut s = vec![0u8; 128 / mode.group_size()];
                let gs = g.map(f32::from_bits);
                fp::quantize(mode, t, &xt, gs, &mut w, &mut s);
                let mut out = vec![0f32; 128];
                fp::dequantize(mode, t, &w, &s, gs, &mut out);
            }
            let mut w = vec![0u32; 128 * 3 / 32];
            let mut s = vec![0f32; 2];
            let mut b = vec![0f32; 2];
            affine::quantize(&xt, 64, 3, &mut w, &mut s, &mut b);
            let mut out = vec![0f32; 128];
            affine::dequantize(&w, &s, &b, 64, 3, t, &mut out);
        }
    }
}
