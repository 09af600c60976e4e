//! Checkpoints that arrive already quantized in a non-MLX format (fp8 block scales, ...): the
//! kernels that turn their stored codes back into the values mlx-lm's loader computes.

pub mod fp8;
