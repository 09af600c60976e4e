//! Fuzzes the GGUF header parser and everything that reads the parsed header (the Hugging Face
//! mapping, the tokenizer rebuild, the dequantizers) with whole files.
//!
//! Invariants: no panic anywhere; every accepted tensor of a supported type lies inside the file
//! and its bytes decode.
#![no_main]

use hf2mlx::gguf::{dequantize, model, parse, tokenizer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(f) = parse(data, data.len() as u64) else {
        return;
    };
    for t in &f.tensors {
        let Ok(ty) = t.ggml_type() else { continue };
        let end = t.offset + t.nbytes;
        assert!(end <= data.len() as u64, "tensor past the end of the file");
        if t.numel() <= 1 << 16 {
            let mut out = vec![0f32; t.numel() as usize];
            dequantize(ty, &data[t.offset as usize..end as usize], &mut out)
                .expect("a validated tensor decodes");
        }
    }
    let _ = model::describe(&f);
    let _ = tokenizer::files(&f);
});
