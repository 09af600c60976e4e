//! GGUF (llama.cpp) files as a conversion source: a validating header [`reader`], bit-exact
//! [`dequant`] kernels for the GGML block formats, the Hugging Face view of a file ([`model`]:
//! names, shapes, config), the rebuilt [`tokenizer`], and the [`convert`] glue (planner inputs,
//! executor, `import-gguf`).

pub mod convert;
pub mod dequant;
pub mod model;
pub mod reader;
pub mod tokenizer;

pub use convert::{import, is_gguf};
pub use dequant::{GgmlType, dequantize};
pub use reader::{GgufFile, TensorInfo, Value, parse, read_file};
