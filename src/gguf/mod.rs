//! GGUF (llama.cpp) files as a conversion source: a validating header [`reader`], bit-exact
//! [`dequant`] kernels for the GGML block formats.

pub mod dequant;
pub mod reader;

pub use dequant::{GgmlType, dequantize};
pub use reader::{GgufFile, TensorInfo, Value, parse, read_file};
