//! Fuzzes the safetensors header parser with whole files: 8-byte length, JSON, data.
//!
//! Invariants checked on every accepted header: tensors tile the data section exactly, byte
//! lengths are dtype × shape, and writing the header back out (as our shard writer does) parses
//! again to the same tensors.
#![no_main]

use hf2mlx::safetensors::{MAX_HEADER_LEN, ShardLayout, parse_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let n = u64::from_le_bytes(data[..8].try_into().unwrap());
    // read_header's own bound checks, then the parser on what remains.
    if n > MAX_HEADER_LEN || 8 + n > data.len() as u64 {
        return;
    }
    let json = &data[8..8 + n as usize];
    let data_len = (data.len() - 8 - n as usize) as u64;
    let Ok(h) = parse_header(json, data_len) else {
        return;
    };
    let mut spans: Vec<(u64, u64)> = h.tensors.iter().map(|t| (t.begin, t.end)).collect();
    spans.sort();
    let mut pos = 0;
    for (b, e) in spans {
        assert_eq!(b, pos, "tensors must tile the data section");
        pos = e;
    }
    assert_eq!(pos, data_len);
    for t in &h.tensors {
        assert_eq!(t.end - t.begin, t.numel() as u64 * t.dtype.size() as u64);
    }
    // Round trip through the writer's header.
    let layout = ShardLayout::new(
        "model.safetensors".into(),
        h.tensors
            .iter()
            .map(|t| (t.name.clone(), t.dtype, t.shape.clone())),
    );
    let text = layout.header_json();
    let again = parse_header(text.as_bytes(), layout.data_len()).expect("our own header parses");
    assert_eq!(again.tensors.len(), h.tensors.len());
    for (a, b) in again.tensors.iter().zip(&layout.tensors) {
        let _ = a;
        let t = again.tensors.iter().find(|t| t.name == b.name).unwrap();
        assert_eq!((t.dtype, &t.shape, t.begin), (b.dtype, &b.shape, b.offset));
    }
});
