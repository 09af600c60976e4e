//! Safetensors, our way: a header parser that validates as strictly as the audited `safetensors`
//! crate (and needs only the header bytes, so it works on HTTP range reads too), a positional
//! multi-shard reader, and a writer whose layout is fixed up front so worker threads can fill
//! tensors in any order (gathered into page-aligned units and written with `O_DIRECT`).

mod assemble;
mod header;
pub mod mlx_order;
mod reader;
mod writer;

pub use header::{Header, MAX_HEADER_LEN, TensorInfo, parse_header};
pub use reader::{Checkpoint, SourceTensor, list_tensors, read_header};
pub use writer::{DIRECT_IO_ENV, ShardLayout, ShardWriter, TensorSlot, WritePool};
