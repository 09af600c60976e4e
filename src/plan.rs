//! The conversion plan: built from config.json and the safetensors headers alone, it names every
//! output tensor, where its bytes come from, what happens to them, and which shard they land in.
//! Dry runs, size estimates, the index file and preflight errors all come from here; the
//! executor only streams it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::arch::{self, Arch, apply};
use crate::cast::FloatType;
use crate::config::{self, DtypeSource, Json};
use crate::dtype::{DType, float_name};
use crate::error::{Error, Result};
use crate::quant::method::QuantMethod;
use crate::quant::policy::{self, Override, QuantRequest, Recipe, RecipeContext};
use crate::quant::{Mode, QuantSpec};
use crate::safetensors::{ShardLayout, SourceTensor};
use crate::source::Inventory;

/// mlx-lm's shard limit: 5 GiB (`5 << 30`), not 5 GB.
pub const DEFAULT_MAX_SHARD_SIZE: u64 = 5 << 30;

/// What the user asked for.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    pub hf_path: PathBuf,
    pub mlx_path: PathBuf,
    pub quantize: bool,
    pub q_bits: Option<u32>,
    pub q_group_size: Option<usize>,
    pub q_mode: Mode,
    /// `--quant-predicate`: a mixed recipe name.
    pub quant_predicate: Option<String>,
    /// `--q-bits-embedding`.
    pub q_bits_embedding: Option<u32>,
    /// `--q-override REGEX=SPEC`, in order.
    pub q_overrides: Vec<String>,
    /// `--q-rebalance`: move bits from the input embedding to lm_head ([`crate::quant::rebalance`]).
    pub q_rebalance: bool,
    /// `-d/--dequantize`.
    pub dequantize: bool,
    /// `--quant-method`: how affine layers choose codes, scales and biases.
    pub quant_method: QuantMethod,
    pub dtype: Option<FloatType>,
    pub max_shard_size: u64,
    pub force: bool,
    pub trust_remote_code: bool,
    /// `--check-finite`: scan every floating source tensor for NaN/Inf before writing anything.
    pub check_finite: bool,
    /// `convert --eval`: evaluate the output against the source before installing it.
    pub eval: Option<crate::eval::EvalOptions>,
    /// `--text-only`: convert a vision-language checkpoint with mlx-lm's text-only rules (towers
    /// dropped) instead of keeping its towers for mlx-vlm.
    pub text_only: bool,
}

impl ConvertOptions {
    pub fn new(hf_path: impl Into<PathBuf>, mlx_path: impl Into<PathBuf>) -> Self {
        ConvertOptions {
            hf_path: hf_path.into(),
            mlx_path: mlx_path.into(),
            quantize: false,
            q_bits: None,
            q_group_size: None,
            q_mode: Mode::Affine,
            quant_predicate: None,
            q_bits_embedding: None,
            q_overrides: Vec::new(),
            q_rebalance: false,
            dequantize: false,
            quant_method: QuantMethod::Rtn,
            dtype: None,
            max_shard_size: DEFAULT_MAX_SHARD_SIZE,
            force: false,
            trust_remote_code: false,
            check_finite: false,
            eval: None,
            text_only: false,
        }
    }

    /// The quantization request, validated, if `-q` was given; every bad combination is a
    /// usage error here, before anything is read.
    pub fn quant_request(&self) -> Result<Option<QuantRequest>> {
        if self.quantize && self.dequantize {
            return Err(Error::Usage(
                "-q/--quantize and -d/--dequantize cannot be combined (to re-quantize a quantized \
                 model with other settings, use -q alone)"
                    .into(),
            ));
        }
        if !self.quantize {
            let given = self.q_bits.is_some()
                || self.q_group_size.is_some()
                || self.q_mode != Mode::Affine
                || self.quant_predicate.is_some()
                || self.q_bits_embedding.is_some()
                || !self.q_overrides.is_empty()
                || self.q_rebalance
                || self.quant_method != QuantMethod::Rtn;
            if given {
                return Err(Error::Usage(
                    "--q-bits, --q-group-size, --q-mode, --quant-predicate, --q-bits-embedding, \
                     --q-override, --q-rebalance and --quant-method only apply with -q/--quantize"
                        .into(),
                ));
            }
            return Ok(None);
        }
        if self.quant_method != QuantMethod::Rtn && self.q_mode != Mode::Affine {
            return Err(Error::Usage(format!(
                "--quant-method {} chooses affine codes; it does not apply to --q-mode {} \
                 (drop --quant-method, or use --q-mode affine)",
                self.quant_method.as_str(),
                self.q_mode.as_str()
            )));
        }
        let (gs, bits) = self.q_mode.defaults();
        let spec = QuantSpec {
            mode: self.q_mode,
            group_size: self.q_group_size.unwrap_or(gs),
            bits: self.q_bits.unwrap_or(bits),
        };
        let recipe = match &self.quant_predicate {
            None => None,
            Some(name) => Some(Recipe::parse(name).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown --quant-predicate `{name}`; choose one of {}",
                    Recipe::NAMES.join(", ")
                ))
            })?),
        };
        let overrides = self
            .q_overrides
            .iter()
            .map(|o| Override::parse(o))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        let req = QuantRequest {
            spec,
            group_size_given: self.q_group_size.is_some(),
            recipe,
            embedding_bits: self.q_bits_embedding,
            overrides,
        };
        req.validate().map_err(Error::Usage)?;
        if self.q_rebalance {
            crate::quant::rebalance::validate(&req).map_err(Error::Usage)?;
        }
        Ok(Some(req))
    }
}

/// Where a parameter's values come from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant)] // one per parameter; boxing would only add indirection
pub enum Input {
    /// A stored tensor.
    Tensor { tensor: SourceTensor },
    /// A layer an MLX checkpoint stores quantized (or a pre-quantized source's layer in MLX's
    /// layout, its parts computed from the stored packs); its float values are recovered with
    /// `mx.dequantize`'s arithmetic.
    Quantized {
        weight: Box<Input>,
        scales: Box<Input>,
        biases: Option<Box<Input>>,
        /// nvfp4 tensor scale (one f32, or one per expert of a stacked `[E, out, in]` weight).
        global_scale: Option<Box<Input>>,
        mode: Mode,
        group_size: usize,
        bits: u32,
        /// The float type dequantization computes in (mlx: the scales' dtype for affine,
        /// bfloat16 for the fp modes, float32 with an nvfp4 global scale).
        #[serde(serialize_with = "ser_float")]
        float: FloatType,
    },
    /// Per-expert tensors stacked along a new first axis (`mx.stack(..., axis=0)`).
    Stack { parts: Vec<Input> },
    /// Rows `[start, start+len)` of every block of `block` rows (second-to-last axis) of `of`:
    /// one piece of a fused `gate_up` projection.
    Rows {
        of: Box<Input>,
        block: usize,
        start: usize,
        len: usize,
    },
    /// `mx.moveaxis(of, from, to)`; done in memory, for small tensors (conv kernels).
    MoveAxis {
        of: Box<Input>,
        from: usize,
        to: usize,
    },
    /// `of.reshape(shape)`: the same bytes under another shape; read whole, for small tensors
    /// (streamed row by row when the last axis is unchanged).
    Reshape { of: Box<Input>, shape: Vec<usize> },
    /// A tensor of a GGUF file (`tensor` has its Hugging Face name and shape, dtype F32): GGML
    /// blocks dequantized to f32 rows, with llama.cpp's q/k row interleave undone over
    /// `unpermute_heads` heads if given.
    Gguf {
        tensor: SourceTensor,
        ggml: crate::gguf::GgmlType,
        unpermute_heads: Option<usize>,
    },
    /// An fp8 (E4M3) weight with one inverse scale per `block`×`block` tile, dequantized to
    /// bfloat16 as the deepseek_v3 family's `sanitize` does (`from_fp8(w) * scale_inv`, then
    /// `astype(bfloat16)`); streamed row by row.
    Fp8Blocks {
        weight: Box<Input>,
        scale_inv: Box<Input>,
        block: usize,
        /// A scale that broadcasts against the weight multiplies it elementwise (mistral4).
        broadcast: bool,
    },
    /// `mx.swapaxes(of, -2, -1)`: fused expert tensors stored `[E, in, out]`. Streamed: a block
    /// of output rows is a block of the source's columns.
    Transpose { of: Box<Input> },
    /// A value transform of `of` in its own float type (`v + 1.0`, `v * multiplier`).
    Map {
        of: Box<Input>,
        op: crate::arch::ValueOp,
    },
    /// `of.astype(to)` (round to nearest even): a cast a loader applies before convert's own
    /// dtype step (AWQ sources cast every float tensor to the scales' dtype).
    Cast {
        of: Box<Input>,
        #[serde(serialize_with = "ser_float")]
        to: FloatType,
    },
    /// The same bytes under another dtype and shape (`v.view(uint32)` of packed codes);
    /// streamed row by row when rows keep their byte length.
    View {
        of: Box<Input>,
        #[serde(serialize_with = "ser_dtype")]
        dtype: DType,
        shape: Vec<usize>,
    },
    /// E8M0 exponent bytes (uint8) of power-of-two float scales, as deepseek_v41's `_repack`
    /// computes them: `(log2(of.astype(float32)) + 127).astype(uint8)`, mlx's float → uint8
    /// conversion truncating and wrapping modulo 256 (0 for non-finite values).
    E8m0 { of: Box<Input> },
    /// `mx.repeat(of, times, axis=-2)[..., :rows, :]`: one scale row per `times` weight rows
    /// spread to one per weight row. Streamed: each output row is a copy of a source row.
    RepeatRows {
        of: Box<Input>,
        times: usize,
        rows: usize,
    },
    /// `mx.concatenate(parts, axis=0)`: fused projections (parts agree on every axis but the
    /// first). Streamed: the output's rows are the parts' rows one part after another (a
    /// 1-D concatenation is one row, read whole).
    Concat { parts: Vec<Input> },
    /// Rows of `of` put in RoPE pair order within each block of `block` rows (second-to-last
    /// axis): output row `2i` is row `i`, row `2i + 1` row `block / 2 + i`. Streamed: each
    /// output row is a source row.
    InterleaveHalves { of: Box<Input>, block: usize },
    /// An AWQ/GPTQ `qweight` (int32 `[in, out/8]`, AWQ nibble order) as MLX's uint32
    /// `[out, in/8]` (`source_quant::awq`); streamed by runs of output rows.
    AwqWeight { qweight: Box<Input> },
    /// AWQ/GPTQ biases in MLX layout `[out, in/G]`: `-zeros · scales` (`-8 · scales` without
    /// `qzeros`) in float32, rounded to the scales' dtype; `scales` is the stored `[in/G, out]`.
    AwqBiases {
        qzeros: Option<Box<Input>>,
        scales: Box<Input>,
    },
    /// One part of `mx.quantize(of, group_size, bits)` (affine), in `of`'s float type: what a
    /// sanitize that re-quantizes a layer it had to dequantize stores (deepseek_v3's split of a
    /// quantized `kv_b_proj`). Streamed by rows: each part's row is one row of `of` quantized.
    QuantizedPart {
        of: Box<Input>,
        group_size: usize,
        bits: u32,
        part: crate::arch::QuantPart,
    },
}

impl crate::arch::Payload for Input {
    fn shape(&self) -> Vec<usize> {
        Input::shape(self)
    }
    fn stack(parts: Vec<Self>) -> Self {
        Input::Stack { parts }
    }
    fn rows(self, block: usize, start: usize, len: usize) -> Self {
        Input::Rows {
            of: Box::new(self),
            block,
            start,
            len,
        }
    }
    fn move_axis(self, from: usize, to: usize) -> Self {
        Input::MoveAxis {
            of: Box::new(self),
            from,
            to,
        }
    }
    fn reshape(self, shape: Vec<usize>) -> Self {
        Input::Reshape {
            of: Box::new(self),
            shape,
        }
    }
    fn fp8_blocks(self, scale_inv: Self, block: usize, broadcast: bool) -> Self {
        Input::Fp8Blocks {
            weight: Box::new(self),
            scale_inv: Box::new(scale_inv),
            block,
            broadcast,
        }
    }
    fn swap_last_axes(self) -> Self {
        Input::Transpose { of: Box::new(self) }
    }
    fn view_words(self) -> Self {
        let shape = crate::arch::Payload::view_words(Input::shape(&self));
        Input::View {
            of: Box::new(self),
            dtype: DType::U32,
            shape,
        }
    }
    fn view_bytes_as_words(self) -> Self {
        self.view_as_u32()
    }
    fn e8m0_exponents(self) -> Self {
        if self.storage_dtype().mlx_storage() == DType::U8 {
            self
        } else {
            Input::E8m0 { of: Box::new(self) }
        }
    }
    fn repeat_rows(self, times: usize, rows: usize) -> Self {
        Input::RepeatRows {
            of: Box::new(self),
            times,
            rows,
        }
    }
    fn concat(parts: Vec<Self>) -> Self {
        Input::Concat { parts }
    }
    fn interleave_halves(self, block: usize) -> Self {
        Input::InterleaveHalves {
            of: Box::new(self),
            block,
        }
    }
    fn is_bytes(&self) -> bool {
        self.storage_dtype().mlx_storage() == DType::U8
    }
    fn dequantize_affine(self, scales: Self, biases: Self, group_size: usize, bits: u32) -> Self {
        // `mx.dequantize` computes in the scales' dtype.
        let float = scales.float_type().unwrap_or(FloatType::BF16);
        Input::Quantized {
            weight: Box::new(self),
            scales: Box::new(scales),
            biases: Some(Box::new(biases)),
            global_scale: None,
            mode: Mode::Affine,
            group_size,
            bits,
            float,
        }
    }
    fn quantize_affine_part(
        self,
        group_size: usize,
        bits: u32,
        part: crate::arch::QuantPart,
    ) -> Self {
        Input::QuantizedPart {
            of: Box::new(self),
            group_size,
            bits,
            part,
        }
    }
    fn view_as_u32(self) -> Self {
        let size = self.storage_dtype().size();
        if self.storage_dtype() == DType::U32 {
            return self;
        }
        let mut shape = Input::shape(&self);
        if let Some(n) = shape.last_mut() {
            *n = *n * size / 4;
        }
        Input::View {
            of: Box::new(self),
            dtype: DType::U32,
            shape,
        }
    }
    fn view_u32(self) -> Self {
        let shape = Input::shape(&self);
        Input::View {
            of: Box::new(self),
            dtype: DType::U32,
            shape,
        }
    }
    fn map_values(self, op: crate::arch::ValueOp) -> Self {
        Input::Map {
            of: Box::new(self),
            op,
        }
    }
    fn cast_floats(self, to: FloatType) -> Self {
        match self.float_type() {
            Some(f) if f != to => Input::Cast {
                of: Box::new(self),
                to,
            },
            _ => self,
        }
    }
}

impl Input {
    /// The stored dtype of the values (of the leaves, for composite inputs).
    pub fn storage_dtype(&self) -> DType {
        match self {
            Input::Tensor { tensor } => tensor.dtype,
            Input::Gguf { .. } => DType::F32,
            Input::Quantized { float, .. } => DType::from_float(*float),
            Input::Stack { parts } => parts.first().map_or(DType::U8, Input::storage_dtype),
            Input::Rows { of, .. }
            | Input::MoveAxis { of, .. }
            | Input::Reshape { of, .. }
            | Input::Transpose { of }
            | Input::Map { of, .. } => of.storage_dtype(),
            Input::Fp8Blocks { .. } => DType::BF16,
            Input::Cast { to, .. } => DType::from_float(*to),
            Input::View { dtype, .. } => *dtype,
            Input::AwqWeight { .. } => DType::U32,
            Input::AwqBiases { scales, .. } => scales.storage_dtype(),
            Input::E8m0 { .. } => DType::U8,
            Input::RepeatRows { of, .. } | Input::InterleaveHalves { of, .. } => of.storage_dtype(),
            Input::Concat { parts } => parts.first().map_or(DType::U8, Input::storage_dtype),
            Input::QuantizedPart { of, part, .. } => match part {
                crate::arch::QuantPart::Weight => DType::U32,
                crate::arch::QuantPart::Scales | crate::arch::QuantPart::Biases => {
                    of.storage_dtype()
                }
            },
        }
    }

    /// The logical (float) shape.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Input::Tensor { tensor } | Input::Gguf { tensor, .. } => tensor.shape.clone(),
            Input::Quantized { weight, bits, .. } => {
                let mut s = weight.shape();
                if let Some(k) = s.last_mut() {
                    *k = *k * 32 / *bits as usize;
                }
                s
            }
            Input::Stack { parts } => {
                let mut s = vec![parts.len()];
                s.extend(parts.first().map(Input::shape).unwrap_or_default());
                s
            }
            Input::Rows { of, block, len, .. } => {
                let mut s = of.shape();
                let n = s.len();
                if n >= 2 {
                    s[n - 2] = s[n - 2] / (*block).max(1) * len;
                }
                s
            }
            Input::MoveAxis { of, from, to } => {
                let mut s = of.shape();
                let d = s.remove(*from);
                s.insert(*to, d);
                s
            }
            Input::Reshape { shape, .. } => shape.clone(),
            Input::Fp8Blocks { weight, .. } => weight.shape(),
            Input::Transpose { of } => {
                let mut s = of.shape();
                let n = s.len();
                if n >= 2 {
                    s.swap(n - 2, n - 1);
                }
                s
            }
            Input::Map { of, .. } | Input::Cast { of, .. } => of.shape(),
            Input::View { shape, .. } => shape.clone(),
            Input::E8m0 { of } => of.shape(),
            Input::RepeatRows { of, rows, .. } => {
                let mut s = of.shape();
                let n = s.len();
                if n >= 2 {
                    s[n - 2] = *rows;
                }
                s
            }
            Input::AwqWeight { qweight } => {
                let s = qweight.shape();
                match s.as_slice() {
                    [n_in, n_out_8] => vec![n_out_8 * 8, n_in / 8],
                    _ => s,
                }
            }
            Input::AwqBiases { scales, .. } => {
                let mut s = scales.shape();
                s.reverse();
                s
            }
            Input::Concat { parts } => {
                let mut s = parts.first().map(Input::shape).unwrap_or_default();
                if let Some(d) = s.first_mut() {
                    *d = parts
                        .iter()
                        .map(|p| p.shape().first().copied().unwrap_or(0))
                        .sum();
                }
                s
            }
            Input::InterleaveHalves { of, .. } => of.shape(),
            Input::QuantizedPart {
                of,
                group_size,
                bits,
                part,
            } => crate::arch::Payload::quantize_affine_part(of.shape(), *group_size, *bits, *part),
        }
    }

    /// The stored tensors this input reads.
    pub fn sources(&self) -> Vec<&SourceTensor> {
        match self {
            Input::Tensor { tensor } | Input::Gguf { tensor, .. } => vec![tensor],
            Input::Quantized {
                weight,
                scales,
                biases,
                global_scale,
                ..
            } => {
                let mut v = weight.sources();
                v.extend(scales.sources());
                v.extend(biases.iter().flat_map(|b| b.sources()));
                v.extend(global_scale.iter().flat_map(|g| g.sources()));
                v
            }
            Input::AwqWeight { qweight } => qweight.sources(),
            Input::AwqBiases { qzeros, scales } => {
                let mut v = scales.sources();
                v.extend(qzeros.iter().flat_map(|z| z.sources()));
                v
            }
            Input::Stack { parts } | Input::Concat { parts } => {
                parts.iter().flat_map(Input::sources).collect()
            }
            Input::InterleaveHalves { of, .. } | Input::QuantizedPart { of, .. } => of.sources(),
            Input::Rows { of, .. }
            | Input::MoveAxis { of, .. }
            | Input::Reshape { of, .. }
            | Input::Transpose { of }
            | Input::Map { of, .. }
            | Input::Cast { of, .. }
            | Input::View { of, .. }
            | Input::E8m0 { of }
            | Input::RepeatRows { of, .. } => of.sources(),
            Input::Fp8Blocks {
                weight, scale_inv, ..
            } => {
                let mut v = weight.sources();
                v.extend(scale_inv.sources());
                v
            }
        }
    }

    /// Whether reading this input transposes somewhere (the executor then reads more rows per
    /// block, so each strided source read is long enough).
    pub fn transposes(&self) -> bool {
        match self {
            Input::Transpose { .. } | Input::AwqWeight { .. } | Input::AwqBiases { .. } => true,
            Input::Tensor { .. } | Input::Quantized { .. } | Input::Gguf { .. } => false,
            Input::Stack { parts } | Input::Concat { parts } => parts.iter().any(Input::transposes),
            Input::InterleaveHalves { of, .. } | Input::QuantizedPart { of, .. } => of.transposes(),
            Input::Fp8Blocks { weight, .. } => weight.transposes(),
            Input::Rows { of, .. }
            | Input::MoveAxis { of, .. }
            | Input::Reshape { of, .. }
            | Input::Map { of, .. }
            | Input::Cast { of, .. }
            | Input::View { of, .. }
            | Input::E8m0 { of }
            | Input::RepeatRows { of, .. } => of.transposes(),
        }
    }

    /// The float type of the values this input yields, if it is floating.
    pub fn float_type(&self) -> Option<FloatType> {
        match self {
            Input::Quantized { float, .. } => Some(*float),
            other => other.storage_dtype().float_type(),
        }
    }
}

/// What happens to a parameter's values.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// Bytes copied unchanged (non-float tensors, or floats already in the target dtype).
    Copy,
    /// Values converted to a float type with round-to-nearest-even (a cast, or the output of a
    /// dequantization).
    Float {
        #[serde(serialize_with = "ser_float")]
        to: FloatType,
    },
    /// Rounded to `float` (the weight dtype T), then quantized; scales/biases are stored as T.
    Quantize {
        #[serde(serialize_with = "ser_float")]
        float: FloatType,
        mode: Mode,
        group_size: usize,
        bits: u32,
    },
}

fn ser_dtype<S: serde::Serializer>(t: &DType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

fn ser_float<S: serde::Serializer>(t: &FloatType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(float_name(*t))
}

/// An output tensor's place: shard index and slot index in that shard's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub shard: usize,
    pub slot: usize,
}

/// One model parameter (as mlx-lm's model has it after `sanitize`) and how to produce it.
#[derive(Clone, Debug, Serialize)]
pub struct ParamPlan {
    /// Parameter path, e.g. `model.layers.0.mlp.up_proj.weight`.
    pub name: String,
    pub input: Input,
    #[serde(flatten)]
    pub op: Op,
    /// Where its outputs go: one placement, or weight/scales[/biases] for a quantized weight.
    pub outputs: Vec<Placement>,
}

impl ParamPlan {
    /// Elements along the last axis: the unit the executor streams in.
    pub fn row_len(&self) -> usize {
        self.input.shape().last().copied().unwrap_or(1).max(1)
    }

    pub fn rows(&self) -> usize {
        let n: usize = self.input.shape().iter().product();
        n / self.row_len()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub source_dir: PathBuf,
    pub model_type: String,
    pub arch: &'static str,
    /// Whether the output keeps the vision/audio towers for mlx-vlm (else a text model for
    /// mlx-lm).
    pub multimodal: bool,
    /// Whether the output is a speech model for mlx-audio (its config.json and processor files).
    pub audio: bool,
    /// Cast target for floating tensors, if any.
    #[serde(serialize_with = "ser_opt_float")]
    pub dtype: Option<FloatType>,
    /// The `quantization` entry of the output config.json, if the output is quantized.
    pub quantization: Option<Json>,
    /// How affine layers are quantized (recorded in the model card, never in config.json).
    pub quant_method: QuantMethod,
    /// Parameters in module-tree order.
    pub params: Vec<ParamPlan>,
    pub shards: Vec<ShardLayout>,
    /// The config.json text to write.
    #[serde(skip)]
    pub config_text: String,
    /// Files copied from the source folder unchanged.
    pub copied_files: Vec<String>,
    /// Sum of all output tensor bytes (the index's `total_size`).
    pub total_size: u64,
    /// Unquantized parameter count (the index's `total_parameters`).
    pub total_parameters: u64,
    /// Source tensors that `sanitize` dropped.
    pub dropped: Vec<String>,
    /// Notes for the user (e.g. dtype decisions).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub weight_files: Vec<PathBuf>,
    /// What the plan was built from, to re-plan with other settings (size estimates).
    #[serde(skip)]
    pub inventory: Inventory,
}

fn ser_opt_float<S: serde::Serializer>(
    t: &Option<FloatType>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(float_name(*t)),
        None => s.serialize_none(),
    }
}

impl Plan {
    /// `total_size * 8 / total_parameters`, the figure mlx-lm prints after quantizing.
    pub fn bits_per_weight(&self) -> f64 {
        if self.total_parameters == 0 {
            return 0.0;
        }
        self.total_size as f64 * 8.0 / self.total_parameters as f64
    }

    /// Peak memory the executor needs, estimated from the plan: a few block buffers per worker
    /// thread plus anything handled whole (axis moves), plus the plan itself. Independent of
    /// the model's size by design.
    pub fn peak_memory_estimate(&self) -> u64 {
        let threads = rayon::current_num_threads() as u64;
        let block = crate::exec::BLOCK_ELEMS as u64;
        let row_max = self
            .params
            .iter()
            .map(|p| p.row_len() as u64)
            .max()
            .unwrap_or(1);
        // Transposing inputs read at least TRANSPOSE_ROWS rows per block.
        let transposed = self
            .params
            .iter()
            .filter(|p| p.input.transposes())
            .map(|p| (crate::exec::TRANSPOSE_ROWS * p.row_len()) as u64)
            .max()
            .unwrap_or(0);
        // source bytes + f32 values + packed words + output bytes, per element of a block
        let per_thread = block.max(row_max).max(transposed) * (4 + 4 + 4 + 4);
        let whole: u64 = self
            .params
            .iter()
            .filter(|p| matches!(p.input, Input::MoveAxis { .. } | Input::Reshape { .. }))
            .map(|p| p.input.sources().iter().map(|t| t.nbytes).sum::<u64>() * 2)
            .max()
            .unwrap_or(0);
        let plan_bytes = (self.params.len() as u64) * 1024;
        16 * 1024 * 1024 + threads * per_thread + whole + plan_bytes
    }

    /// Source bytes the executor reads.
    pub fn input_bytes(&self) -> u64 {
        self.params
            .iter()
            .flat_map(|p| p.input.sources())
            .map(|t| t.nbytes)
            .sum()
    }

    /// The `model.safetensors.index.json` text, as `save_model` writes it.
    pub fn index_json(&self) -> String {
        let mut weight_map: Vec<(&str, &str)> = self
            .shards
            .iter()
            .flat_map(|s| {
                s.tensors
                    .iter()
                    .map(move |t| (t.name.as_str(), s.file_name.as_str()))
            })
            .collect();
        weight_map.sort_unstable();
        let mut meta = Map::new();
        meta.insert("total_size".into(), Value::from(self.total_size));
        meta.insert(
            "total_parameters".into(),
            Value::from(self.total_parameters),
        );
        let mut wm = Map::new();
        for (k, v) in weight_map {
            wm.insert(k.into(), Value::from(v));
        }
        let mut index = Map::new();
        index.insert("metadata".into(), Value::Object(meta));
        index.insert("weight_map".into(), Value::Object(wm));
        crate::pyjson::to_string_indent4(&Value::Object(index))
    }
}

/// Builds the plan for a local checkpoint folder, reading only config files and headers.
pub fn build(opts: &ConvertOptions) -> Result<Plan> {
    // Usage errors first, then an unsupported architecture, before the folder is scanned.
    opts.quant_request()?;
    if crate::gguf::is_gguf(&opts.hf_path) {
        return build_from(opts, &crate::gguf::convert::inventory(&opts.hf_path)?);
    }
    crate::source::check_links(&opts.hf_path)?;
    let cfg = config::load_config(&opts.hf_path)?;
    resolve_conversion(&cfg, &opts.hf_path, opts)?;
    build_from(opts, &Inventory::local(&opts.hf_path)?)
}

/// A parameter after sanitize: either a plain tensor or the parts of an MLX-quantized layer.
#[allow(clippy::large_enum_variant)] // one per parameter, moved once into its plan
enum Param {
    Plain(Input),
    Quantized {
        weight: Input,
        scales: Input,
        biases: Option<Input>,
        global_scale: Option<Input>,
        spec: QuantSpec,
    },
}

/// Builds the plan from an inventory (local or remote).
pub fn build_from(opts: &ConvertOptions, inv: &Inventory) -> Result<Plan> {
    let quant = opts.quant_request()?;
    let dir = inv.dir.as_path();
    let cfg = inv.config.clone();
    let arch = resolve_conversion(&cfg, dir, opts)?;
    let multimodal = arch::vlm::is_multimodal(arch);
    let audio = arch::audio::is_audio(arch);
    if multimodal || audio {
        crate::multimodal::refuse_mlx_input(inv)?;
    }
    // A pre-quantized source mlx-lm's loader maps onto MLX quantized layers (AWQ, ...).
    // ModelOpt exports may keep their settings in hf_quant_config.json only.
    let quant_source_cfg = crate::source_quant::with_hf_quant_config(&cfg, dir);
    let source_format =
        crate::source_quant::SourceFormat::detect(&quant_source_cfg).map_err(|msg| {
            Error::Config {
                file: dir.join("config.json"),
                msg,
            }
        })?;
    if source_format.is_none() {
        refuse_prequantized(&cfg, dir, arch)?;
    }
    crate::source_quant::refuse_unmapped_packs(source_format.as_ref(), &quant_source_cfg, arch)
        .map_err(|msg| Error::Config {
            file: dir.join("config.json"),
            msg,
        })?;
    // A GGUF inventory brings its own inputs (dequantized GGML tensors under HF names).
    let (tensors, named) = match crate::gguf::convert::named_inputs(inv)? {
        Some(gguf) => gguf,
        None => {
            let tensors = inv.tensors()?;
            let named: Vec<(String, Input)> = tensors
                .iter()
                .map(|t| (t.name.clone(), Input::Tensor { tensor: t.clone() }))
                .collect();
            (tensors, named)
        }
    };
    let input_quant = match &source_format {
        Some(f) => Some(f.mlx_quantization()),
        None => cfg.get("quantization").and_then(Value::as_object).cloned(),
    };
    // fp8 sources the model dequantizes are float after sanitize: `-d` then only drops their
    // `quantization_config`, as mlx-lm does.
    if opts.dequantize && input_quant.is_none() && !arch::dequantizes_fp8(arch, &cfg) {
        return Err(Error::Usage(format!(
            "-d/--dequantize needs an MLX-quantized model, but {} has no `quantization` in config.json",
            dir.join("config.json").display()
        )));
    }

    let mut notes = Vec::new();
    let dtype = config::resolve_dtype(&cfg, opts.dtype);
    match dtype {
        Some((t, src)) => notes.push(format!(
            "floating tensors cast to {} ({})",
            float_name(t),
            match src {
                DtypeSource::Flag => "--dtype",
                DtypeSource::TorchDtype => "config torch_dtype",
                DtypeSource::TextConfigDtype => "config text_config.dtype",
            }
        )),
        None => {
            if let Some(v5) = config::has_only_v5_dtype(&cfg) {
                let converter = if audio {
                    "like mlx-audio, tensors keep the dtype the model's own sanitize gives them \
                     (Whisper: float16)"
                } else {
                    "like mlx-lm, tensors keep their stored dtypes"
                };
                notes.push(format!(
                    "config.json says \"dtype\": \"{v5}\" but has no torch_dtype; {converter} \
                     (pass --dtype {v5} to cast)"
                ));
            }
        }
    }
    let dtype = dtype.map(|(t, _)| t);

    // sanitize: rename/drop by the architecture's rules.
    let kept = apply::sanitize(arch, &cfg, named).map_err(Error::Plan)?;
    // mlx-lm's loader rewrites pre-quantized packs after `sanitize`.
    let kept = match &source_format {
        Some(f) => f.transform(kept).map_err(|msg| {
            Error::Source(format!("{}: {msg}", dir.join("config.json").display()))
        })?,
        None => kept,
    };
    let kept_sources: std::collections::HashSet<&str> = kept
        .iter()
        .flat_map(|(_, i)| i.sources())
        .map(|t| t.name.as_str())
        .collect();
    // The config is checked against what the model loads: tensors sanitize drops (MTP layers
    // past `num_hidden_layers`, vision towers) are not the text model's.
    let loaded: Vec<SourceTensor> = tensors
        .iter()
        .filter(|t| kept_sources.contains(t.name.as_str()))
        .cloned()
        .collect();
    crate::validate::check(&cfg, dir, &inv.weight_files, &loaded)?;
    let dropped: Vec<String> = tensors
        .iter()
        .filter(|t| !kept_sources.contains(t.name.as_str()))
        .map(|t| t.name.clone())
        .collect();
    let mut sorted = kept;
    sorted.sort_by(|a, b| apply::module_order(arch, &a.0, &b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::Plan(format!(
            "two checkpoint tensors become the same parameter `{}` after renaming; the checkpoint \
             mixes key layouts",
            w[0].0
        )));
    }
    let params = group_quantized(sorted, input_quant.as_ref(), dir)?;

    // mlx-audio's recipe builder needs `model.layers`, which some of its models lack.
    if audio
        && quant.as_ref().is_some_and(|q| q.recipe.is_some())
        && arch::audio::refuses_recipes(arch)
    {
        return Err(Error::Usage(format!(
            "mixed recipes (--quant-predicate) need the model's layer count, which \
             mlx-audio's `{}` model does not expose (mlx_audio.convert refuses it too); use \
             -q with --q-bits, or --q-override REGEX=BITS for per-layer bits",
            arch.name
        )));
    }
    // It also raises when no module is named `down_proj` (Whisper's MLP is `mlp1`/`mlp2`):
    // refuse as it does rather than guess which layers deserve the high bits.
    if audio
        && quant.as_ref().is_some_and(|q| q.recipe.is_some())
        && !params.iter().any(|(n, _)| n.contains("down_proj"))
    {
        return Err(Error::Usage(format!(
            "mixed recipes (--quant-predicate) pick their high-bit layers by `down_proj`, which \
             `{}` does not have (mlx_audio.convert refuses it too); use -q with --q-bits, or \
             --q-override REGEX=BITS for per-layer bits",
            arch.name
        )));
    }
    // --q-rebalance: its overrides go in front of the user's (which still win), from the
    // quantizable layers and their shapes.
    let quant = match quant {
        Some(mut q) if opts.q_rebalance => {
            let layers: Vec<(&str, Vec<usize>)> = params
                .iter()
                .filter_map(|(name, p)| {
                    let Param::Plain(i) = p else { return None };
                    let (shape, layer) = (i.shape(), name.strip_suffix(".weight")?);
                    (apply::is_quantizable(arch, name, &shape) && !apply::is_tower(arch, layer))
                        .then_some((layer, shape))
                })
                .collect();
            match crate::quant::rebalance::overrides(q.spec.bits, &layers) {
                Ok(o) => {
                    q.overrides.splice(0..0, o);
                }
                Err(note) => notes.push(note),
            }
            Some(q)
        }
        q => q,
    };
    // Recipe layout, from the layers that can be quantized (`named_modules` with `down_proj`).
    let recipe_ctx = match &quant {
        Some(q) if q.recipe.is_some() => {
            let layers: Vec<&str> = params
                .iter()
                .filter_map(|(name, p)| {
                    let shape = match p {
                        Param::Plain(i) => i.shape(),
                        Param::Quantized { .. } => vec![1, 1],
                    };
                    let layer = name.strip_suffix(".weight").unwrap_or(name);
                    (apply::is_quantizable(arch, name, &shape) && !apply::is_tower(arch, layer))
                        .then(|| name.strip_suffix(".weight").unwrap_or(name))
                })
                .collect();
            let ctx = RecipeContext::from_layers(layers.iter().copied());
            if ctx.is_none() {
                return Err(Error::Plan(
                    "this model has no numbered layers to apply a mixed recipe to; use -q with \
                     --q-bits or --q-override instead"
                        .into(),
                ));
            }
            ctx
        }
        _ => None,
    };

    // Per-parameter operation, and the flat list of outputs in module order.
    let quant_cfg: Option<Json> = match (&quant, &input_quant) {
        // mlx-lm's `quantize_model` on a model its loader quantized keeps that entry and adds
        // one per layer it quantizes.
        (Some(_), Some(iq)) if source_format.is_some() => Some(iq.clone()),
        (Some(q), _) => Some(q.spec.config_entry()),
        (None, Some(iq)) if !opts.dequantize => Some(iq.clone()),
        _ => None,
    };
    let ctx = ParamContext {
        opts,
        quant: quant.as_ref(),
        arch,
        cfg: &cfg,
        dtype,
        recipe_ctx: recipe_ctx.as_ref(),
        weight_files: &inv.weight_files,
        keep_source_layers: source_format.is_some(),
    };
    let mut state = PlanState {
        planned: Vec::with_capacity(params.len()),
        outputs: Vec::new(),
        quant_cfg,
        notes,
    };
    let mut total_parameters: u64 = 0;
    // mlx-lm counts the parameters of leaf modules only (`get_total_parameters`): arrays a module
    // holds next to submodules (mamba's `A_log`, `D`) are left out.
    let inner_modules: std::collections::HashSet<String> = params
        .iter()
        .flat_map(|(n, _)| {
            let owner = n.rsplit_once('.').map_or("", |(o, _)| o);
            owner
                .match_indices('.')
                .map(move |(i, _)| owner[..i].to_string())
        })
        .collect();
    for (name, param) in params {
        let (input, logical_float) = ctx.param_input(&name, param)?;
        if !inner_modules.contains(name.rsplit_once('.').map_or("", |(o, _)| o)) {
            total_parameters += input.shape().iter().product::<usize>() as u64;
        }
        ctx.plan_param(name, input, logical_float, &mut state)?;
    }
    let PlanState {
        planned,
        outputs,
        quant_cfg,
        notes,
    } = state;
    // Greedy sharding in module order, exactly like `make_shards`.
    let (shards, placements) = make_shards(outputs, opts.max_shard_size);
    let params = planned
        .into_iter()
        .map(|(mut p, first, n)| {
            p.outputs = placements[first..first + n].to_vec();
            p
        })
        .collect::<Vec<_>>();
    let total_size = shards.iter().map(|s| s.data_len()).sum();
    // mlx-audio writes config.json as the file says, without mlx-lm's generation-config eos.
    let mut out_cfg = if audio {
        crate::audio::source_config(dir, &cfg)
    } else {
        cfg.clone()
    };
    for edit in arch.config_edits {
        edit.apply(&mut out_cfg);
    }
    if opts.dequantize || quant.is_some() || source_format.is_some() {
        out_cfg.remove("quantization");
        out_cfg.remove("quantization_config");
    }
    // A pre-quantized source's output carries the entry mlx-lm's loader made (unless -d).
    let out_quant = quant_cfg
        .clone()
        .filter(|_| quant.is_some() || source_format.is_some());
    let config_text = if audio {
        crate::audio::output_config(out_cfg, out_quant, arch.name)
    } else if multimodal {
        crate::multimodal::output_config(out_cfg, out_quant)
    } else {
        // mlx-lm's `save` keeps `vision_config` for a text model that keeps its vision tower
        // (`"vision_tower" in model.model`: muse_spark).
        let keeps_vision = params
            .iter()
            .any(|p| p.name.starts_with("model.vision_tower."));
        let vision = out_cfg
            .get("vision_config")
            .cloned()
            .filter(|_| keeps_vision);
        let (mut saved, text) = config::output_config(out_cfg, out_quant);
        match vision {
            Some(v) => {
                saved.insert("vision_config".into(), v);
                saved.sort_keys();
                crate::pyjson::to_string_indent4(&Value::Object(saved))
            }
            None => text,
        }
    };
    let copied_files: Vec<String> = inv
        .copied_files
        .iter()
        .filter(|n| {
            if crate::arch::audio::is_side_file(n) {
                audio && crate::arch::audio::copies_side_file(arch, n)
            } else {
                multimodal || audio || crate::source::is_copied_file(n)
            }
        })
        .cloned()
        .collect();

    let plan = Plan {
        source_dir: dir.to_path_buf(),
        model_type: config::model_type(&cfg).unwrap_or_default().to_string(),
        arch: arch.name,
        multimodal,
        audio,
        dtype,
        quantization: quant_cfg,
        quant_method: if quant.is_some() {
            opts.quant_method
        } else {
            QuantMethod::Rtn
        },
        params,
        shards,
        config_text,
        copied_files,
        total_size,
        total_parameters,
        dropped,
        notes,
        weight_files: inv.weight_files.clone(),
        inventory: inv.clone(),
    };
    Ok(plan)
}

/// What every parameter's decision depends on: the request and the model, fixed for a plan.
struct ParamContext<'a> {
    opts: &'a ConvertOptions,
    quant: Option<&'a QuantRequest>,
    arch: &'static Arch,
    /// The source's config.json (for the model predicate's configuration-dependent part).
    cfg: &'a Json,
    /// Cast target for floating tensors (`--dtype` or the config's), if any.
    dtype: Option<FloatType>,
    recipe_ctx: Option<&'a RecipeContext>,
    weight_files: &'a [PathBuf],
    /// The source was quantized in a non-MLX format (AWQ, compressed-tensors, ...): mlx-lm's
    /// loader turns its layers into quantized modules, which `-q` keeps as they are.
    keep_source_layers: bool,
}

/// What the parameters' decisions accumulate, in module order.
struct PlanState {
    /// Each parameter's plan with the index of its first output and its output count.
    planned: Vec<(ParamPlan, usize, usize)>,
    /// Every output tensor (name, dtype, shape), in the order they are sharded.
    outputs: Vec<(String, DType, Vec<usize>)>,
    /// The output `quantization` entry, growing per-layer entries as layers are decided.
    quant_cfg: Option<Json>,
    notes: Vec<String>,
}

impl ParamContext<'_> {
    /// The float type a floating parameter ends up in: the cast target where the model allows
    /// casting it, else its own.
    fn target_of(&self, name: &str, float: Option<FloatType>) -> Option<FloatType> {
        match (float, self.dtype) {
            (Some(_), Some(t)) if apply::may_cast(self.arch, name) => Some(t),
            (f, _) => f,
        }
    }

    /// The input a sanitized parameter is read from, and the float type its values have.
    fn param_input(&self, name: &str, param: Param) -> Result<(Input, Option<FloatType>)> {
        match param {
            Param::Plain(i) => {
                for t in i.sources() {
                    check_loadable(t, self.weight_files)?;
                }
                let f = i.float_type();
                Ok((i, f))
            }
            Param::Quantized {
                weight,
                scales,
                biases,
                global_scale,
                spec,
            } => {
                // mlx-lm's `dequantize_model` (-d) calls `mx.dequantize` without the layer's
                // nvfp4 global scale, so its weights are off by that factor; ours apply it, a
                // deliberate difference (tests/interop.rs, tests/prequant_sources.rs).
                // Affine dequantizes in the scales' dtype after mlx-lm's cast step; the fp modes
                // in bfloat16 (mlx's default), or in --dtype when given; with an nvfp4 global
                // scale mlx computes in float32.
                let float = match spec.mode {
                    Mode::Affine => {
                        let s = scales
                            .storage_dtype()
                            .float_type()
                            .unwrap_or(FloatType::BF16);
                        let layer = name.strip_suffix(".weight").unwrap_or(name);
                        self.target_of(&format!("{layer}.scales"), Some(s))
                            .unwrap_or(s)
                    }
                    _ if global_scale.is_some() => FloatType::F32,
                    _ => self.opts.dtype.unwrap_or(FloatType::BF16),
                };
                // convert's dtype cast reaches a stored global scale before `-d` dequantizes
                // with it (mlx-lm casts every floating parameter the model allows).
                let layer = name.strip_suffix(".weight").unwrap_or(name);
                let global_scale = global_scale.map(|g| {
                    match self.target_of(&format!("{layer}.global_scale"), g.float_type()) {
                        Some(t) if Some(t) != g.float_type() => Input::Cast {
                            of: Box::new(g),
                            to: t,
                        },
                        _ => g,
                    }
                });
                let input = Input::Quantized {
                    weight: Box::new(weight),
                    scales: Box::new(scales),
                    biases: biases.map(Box::new),
                    global_scale: global_scale.map(Box::new),
                    mode: spec.mode,
                    group_size: spec.group_size,
                    bits: spec.bits,
                    float,
                };
                Ok((input, Some(float)))
            }
        }
    }

    /// Decides one parameter: which op (copy, cast, quantize, or keep a stored quantized
    /// layer's parts), in which dtype, and which output tensors it adds.
    fn plan_param(
        &self,
        name: String,
        input: Input,
        logical_float: Option<FloatType>,
        state: &mut PlanState,
    ) -> Result<()> {
        let (opts, quant) = (self.opts, self.quant);
        // An explicit --dtype also decides the dtype of dequantized fp layers (mlx-lm always
        // gives bfloat16 there).
        let flag_dtype = opts.dtype;
        let shape = input.shape();
        let decision = match (quant, logical_float) {
            (Some(q), Some(_)) => policy::decide(
                self.arch,
                &name,
                &shape,
                q,
                self.recipe_ctx,
                &mut state.notes,
            ),
            _ => None,
        };
        // The model predicate's configuration-dependent part.
        let layer_path = name.strip_suffix(".weight").unwrap_or(&name);
        // A recipe replaces the model's predicate and a --q-override overrides it.
        let decided_elsewhere = quant.is_some_and(|q| {
            q.recipe.is_some() || q.overrides.iter().any(|o| o.pattern.is_match(layer_path))
        });
        let decision = decision.filter(|_| {
            decided_elsewhere || !apply::float_in_layer(self.arch, self.cfg, layer_path)
        });
        // Dequantized layers keep the dtype dequantization gives (mlx-lm casts before it
        // dequantizes): affine the cast scales' dtype, fp modes bfloat16 unless --dtype says.
        let target = match &input {
            Input::Quantized {
                mode: Mode::Affine,
                float,
                ..
            } => Some(*float),
            Input::Quantized { .. } if decision.is_none() || opts.dequantize => {
                Some(flag_dtype.unwrap_or(FloatType::BF16))
            }
            _ => self.target_of(&name, logical_float),
        };
        let stored_spec = match &input {
            Input::Quantized {
                mode,
                group_size,
                bits,
                ..
            } => Some(QuantSpec {
                mode: *mode,
                group_size: *group_size,
                bits: *bits,
            }),
            _ => None,
        };
        let layer = name.strip_suffix(".weight").unwrap_or(&name).to_string();
        let base = layer.clone();
        let outputs = &mut state.outputs;
        let first = outputs.len();

        // A quantized input layer is kept as stored when nothing asks to change it: no -q/-d,
        // or -q deciding the very same settings (re-quantizing would only lose precision).
        let keep_stored = match (&input, &decision) {
            (Input::Quantized { .. }, _) if opts.dequantize => false,
            // mlx-lm's loader made these layers quantized modules, which `-q` leaves alone.
            (Input::Quantized { .. }, _) if self.keep_source_layers => true,
            (Input::Quantized { .. }, Some(d)) => Some(d.spec) == stored_spec,
            (Input::Quantized { .. }, None) => quant.is_none(),
            _ => false,
        };
        if keep_stored {
            let Input::Quantized {
                weight,
                scales,
                biases,
                global_scale,
                ..
            } = input
            else {
                unreachable!()
            };
            let spec = stored_spec.unwrap_or(QuantSpec {
                mode: Mode::Affine,
                group_size: 64,
                bits: 4,
            });
            // (A loader-quantized source's layers are covered by its global entry.)
            if let (Some(q), Some(qc)) = (quant, state.quant_cfg.as_mut())
                && spec != q.spec
                && !self.keep_source_layers
            {
                qc.insert(layer.clone(), Value::Object(spec.config_entry()));
            }
            let parts = [
                ("weight", Some(weight)),
                ("scales", Some(scales)),
                ("biases", biases),
                ("global_scale", global_scale),
            ];
            for (suffix, part) in parts {
                let Some(input) = part else { continue };
                let input = *input;
                let pname = format!("{layer}.{suffix}");
                let shape = input.shape();
                let (op, dt) = plain_op(&input, self.target_of(&pname, input.float_type()));
                outputs.push((pname.clone(), dt, shape));
                state.planned.push((
                    ParamPlan {
                        name: pname,
                        input,
                        op,
                        outputs: Vec::new(),
                    },
                    outputs.len() - 1,
                    1,
                ));
            }
            return Ok(());
        }

        let op = if let (Some(d), Some(t)) = (&decision, target) {
            // On top of a loader-quantized model every newly quantized layer gets its entry.
            let entry = match &d.config_entry {
                None if self.keep_source_layers => Some(d.spec.config_entry()),
                e => e.clone(),
            };
            if let (Some(qc), Some(entry)) = (state.quant_cfg.as_mut(), entry) {
                qc.insert(layer.clone(), Value::Object(entry));
            }
            check_quantizable_shape(&name, &shape, &d.spec)?;
            for (suffix, dt, shape) in d.spec.output_tensors(&shape, DType::from_float(t)) {
                outputs.push((format!("{base}.{suffix}"), dt, shape));
            }
            Op::Quantize {
                float: t,
                mode: d.spec.mode,
                group_size: d.spec.group_size,
                bits: d.spec.bits,
            }
        } else {
            let (op, out_dtype) = match &input {
                Input::Quantized { float, .. } => {
                    let t = target.unwrap_or(*float);
                    (Op::Float { to: t }, DType::from_float(t))
                }
                other => plain_op(other, target),
            };
            outputs.push((name.clone(), out_dtype, shape.clone()));
            op
        };
        let n_out = outputs.len() - first;
        state.planned.push((
            ParamPlan {
                name,
                input,
                op,
                outputs: Vec::new(),
            },
            first,
            n_out,
        ));
        Ok(())
    }
}

/// Output size and bits per weight under one setting.
#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    pub setting: String,
    pub total_size: u64,
    pub bits_per_weight: f64,
}

/// What the same checkpoint would become under the common settings (float, affine 2–8 bit,
/// mxfp4, nvfp4, mxfp8), keeping the user's dtype and the model's own rules. Metadata only.
pub fn estimates(plan: &Plan, opts: &ConvertOptions) -> Vec<Estimate> {
    let base = ConvertOptions {
        quantize: false,
        q_bits: None,
        q_group_size: None,
        q_mode: Mode::Affine,
        quant_predicate: None,
        q_bits_embedding: None,
        q_overrides: Vec::new(),
        q_rebalance: false,
        dequantize: plan.inventory.config.contains_key("quantization"),
        ..opts.clone()
    };
    let mut settings: Vec<(String, ConvertOptions)> = vec![("float (no -q)".into(), base.clone())];
    for bits in [8, 6, 5, 4, 3, 2] {
        let o = ConvertOptions {
            quantize: true,
            q_bits: Some(bits),
            dequantize: false,
            ..base.clone()
        };
        settings.push((format!("affine {bits}-bit g64"), o));
    }
    for mode in [Mode::Mxfp8, Mode::Mxfp4, Mode::Nvfp4] {
        let o = ConvertOptions {
            quantize: true,
            q_mode: mode,
            dequantize: false,
            ..base.clone()
        };
        settings.push((mode.as_str().to_string(), o));
    }
    settings
        .into_iter()
        .filter_map(|(setting, o)| {
            let p = build_from(&o, &plan.inventory).ok()?;
            Some(Estimate {
                setting,
                total_size: p.total_size,
                bits_per_weight: p.bits_per_weight(),
            })
        })
        .collect()
}

/// Copy or cast of an unquantized input, and its output dtype.
fn plain_op(i: &Input, target: Option<FloatType>) -> (Op, DType) {
    match (i.float_type(), target) {
        (Some(f), Some(to)) if f != to => (Op::Float { to }, DType::from_float(to)),
        _ => (Op::Copy, i.storage_dtype().mlx_storage()),
    }
}

/// Groups `X.weight` (uint32) + `X.scales` [+ `X.biases`] of an MLX-quantized checkpoint (or
/// of a pre-quantized source already in MLX's layout) into one quantized parameter, with its
/// settings from config.json's `quantization` (per-layer entry, else the global one checked
/// against the shapes, else inferred like mlx-lm's `infer_quant_config` where the shapes allow
/// only one answer).
fn group_quantized(
    sorted: Vec<(String, Input)>,
    input_quant: Option<&Json>,
    dir: &Path,
) -> Result<Vec<(String, Param)>> {
    let Some(qcfg) = input_quant else {
        return Ok(sorted
            .into_iter()
            .map(|(n, t)| (n, Param::Plain(t)))
            .collect());
    };
    let by_name: HashMap<&str, &Input> = sorted.iter().map(|(n, i)| (n.as_str(), i)).collect();
    let mut quantized: HashMap<String, (QuantSpec, bool, bool)> = HashMap::new();
    for (name, _) in &sorted {
        let Some(layer) = name.strip_suffix(".scales") else {
            continue;
        };
        let Some(w) = by_name.get(format!("{layer}.weight").as_str()) else {
            continue;
        };
        if w.storage_dtype() != DType::U32 {
            continue;
        }
        let has_biases = by_name.contains_key(format!("{layer}.biases").as_str());
        let Some(t) = by_name.get(name.as_str()) else {
            continue;
        };
        let spec =
            // E8M0 scales (F8_E8M0) load as uint8 in mlx, like MLX's own scales.
            layer_spec(layer, &w.shape(), t.storage_dtype().mlx_storage(), &t.shape(), qcfg).map_err(|msg| {
                Error::Config {
                    file: dir.join("config.json"),
                    msg,
                }
            })?;
        let has_global = by_name.contains_key(format!("{layer}.global_scale").as_str());
        quantized.insert(layer.to_string(), (spec, has_biases, has_global));
    }
    let mut out = Vec::new();
    let mut parts: HashMap<String, Input> = HashMap::new();
    for (name, input) in sorted {
        let layer = name
            .strip_suffix(".weight")
            .or_else(|| name.strip_suffix(".scales"))
            .or_else(|| name.strip_suffix(".biases"))
            .or_else(|| name.strip_suffix(".global_scale"));
        match layer.filter(|l| quantized.contains_key(*l)) {
            Some(l) => {
                let (spec, has_biases, has_global) = quantized[l];
                let (w, s, b, g) = (
                    format!("{l}.weight"),
                    format!("{l}.scales"),
                    format!("{l}.biases"),
                    format!("{l}.global_scale"),
                );
                parts.insert(name, input);
                let complete = parts.contains_key(&w)
                    && parts.contains_key(&s)
                    && (!has_biases || parts.contains_key(&b))
                    && (!has_global || parts.contains_key(&g));
                if complete {
                    let (weight, scales) = (parts.remove(&w), parts.remove(&s));
                    let biases = parts.remove(&b);
                    let global_scale = parts.remove(&g);
                    if let (Some(weight), Some(scales)) = (weight, scales) {
                        out.push((
                            w,
                            Param::Quantized {
                                weight,
                                scales,
                                biases,
                                global_scale,
                                spec,
                            },
                        ));
                    }
                }
            }
            None => out.push((name, Param::Plain(input))),
        }
    }
    Ok(out)
}

/// The settings a stored quantized layer was packed with, from its weight's and scales'
/// shapes and the scales' dtype.
fn layer_spec(
    layer: &str,
    w_shape: &[usize],
    s_dtype: DType,
    s_shape: &[usize],
    qcfg: &Json,
) -> std::result::Result<QuantSpec, String> {
    let wk = *w_shape.last().unwrap_or(&0);
    let sk = *s_shape.last().unwrap_or(&0);
    // mlx's strict load checks every shape: one scale row per weight row.
    let rows_match = w_shape.len() == s_shape.len()
        && w_shape[..w_shape.len().saturating_sub(1)] == s_shape[..s_shape.len().saturating_sub(1)];
    let fits = |spec: &QuantSpec| {
        rows_match
            && spec.bits > 0
            && (wk * 32).is_multiple_of(spec.bits as usize)
            && wk * 32 / spec.bits as usize == sk * spec.group_size
            && (s_dtype == DType::U8) == (spec.mode != Mode::Affine)
    };
    let from_dict = |d: &Json| {
        let mode = d
            .get("mode")
            .and_then(Value::as_str)
            .and_then(Mode::parse)
            .unwrap_or(Mode::Affine);
        let (dgs, dbits) = mode.defaults();
        QuantSpec {
            mode,
            group_size: d
                .get("group_size")
                .and_then(Value::as_u64)
                .map_or(dgs, |g| g as usize),
            bits: d
                .get("bits")
                .and_then(Value::as_u64)
                .map_or(dbits, |b| b as u32),
        }
    };
    if let Some(Value::Object(d)) = qcfg.get(layer) {
        let spec = from_dict(d);
        return if fits(&spec) {
            Ok(spec)
        } else {
            Err(format!(
                "quantization entry for `{layer}` ({spec:?}) does not match its tensors' shapes"
            ))
        };
    }
    let global = from_dict(qcfg);
    if fits(&global) {
        return Ok(global);
    }
    let candidates: Vec<QuantSpec> = if s_dtype == DType::U8 {
        [Mode::Nvfp4, Mode::Mxfp4, Mode::Mxfp8]
            .iter()
            .map(|m| {
                let (group_size, bits) = m.defaults();
                QuantSpec {
                    mode: *m,
                    group_size,
                    bits,
                }
            })
            .collect()
    } else {
        [2u32, 3, 4, 5, 6, 8]
            .iter()
            .flat_map(|&bits| {
                [32usize, 64, 128].map(|group_size| QuantSpec {
                    mode: Mode::Affine,
                    group_size,
                    bits,
                })
            })
            .collect()
    };
    let fitting: Vec<QuantSpec> = candidates.into_iter().filter(|c| fits(c)).collect();
    match fitting.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "cannot tell how `{layer}` is quantized: its shapes fit no mlx quantization"
        )),
        _ => Err(format!(
            "cannot tell how `{layer}` is quantized: it does not match the global settings and several \
             bit widths fit its shapes; add its entry to `quantization` in config.json"
        )),
    }
}

/// The architecture rules for a config. Custom model code (`model_file`, run by mlx-lm only
/// with `--trust-remote-code`) is never executed here: with the flag, a known `model_type`
/// keeps its rules and an unknown one gets the generic decoder rules; without it, refusal.
pub fn resolve_arch(cfg: &Json, dir: &Path, trust_remote_code: bool) -> Result<&'static Arch> {
    let Some(model_type) = config::model_type(cfg) else {
        return Err(Error::Config {
            file: dir.join("config.json"),
            msg: "no `model_type`; hf2mlx needs it to know the architecture".into(),
        });
    };
    if let Some(file) = cfg.get("model_file").and_then(Value::as_str)
        && !trust_remote_code
    {
        return Err(Error::Usage(format!(
            "{} names custom model code (`model_file`: {file}), which mlx-lm only loads with \
             --trust-remote-code. hf2mlx never runs it: pass --trust-remote-code to convert the \
             weights with the rules for `{model_type}` (generic decoder rules if unknown) and copy \
             the *.py files along",
            dir.join("config.json").display()
        )));
    }
    if let Some(why) = arch::refusal(model_type) {
        return Err(Error::Source(format!(
            "{}: model type `{model_type}` is not converted by hf2mlx {}: {why}",
            dir.join("config.json").display(),
            env!("CARGO_PKG_VERSION")
        )));
    }
    let found = arch::find(model_type);
    let arch = match found {
        Some(a) => a,
        None if trust_remote_code => &arch::GENERIC,
        None => {
            return Err(Error::UnsupportedModel {
                model_type: model_type.to_string(),
                version: env!("CARGO_PKG_VERSION"),
                supported: arch::supported_model_types().join(", "),
            });
        }
    };
    refuse_unsupported(arch, cfg, dir)?;
    Ok(arch)
}

/// Refuses configurations of a known model type that its rules do not cover
/// ([`arch::Unsupported`]), naming the config key.
fn refuse_unsupported(arch: &Arch, cfg: &Json, dir: &Path) -> Result<()> {
    for u in arch.unsupported {
        let mut v = Some(&Value::Object(cfg.clone()));
        for k in u.key {
            v = v.and_then(|x| x.get(*k));
        }
        let hit = match v {
            Some(Value::String(s)) => s == u.equals,
            Some(other) => serde_json::from_str::<Value>(u.equals).is_ok_and(|x| x == *other),
            None => false,
        };
        if hit {
            return Err(Error::Source(format!(
                "{}: `{}` = \"{}\" is not supported: {}",
                dir.join("config.json").display(),
                u.key.join("."),
                u.equals,
                u.reason
            )));
        }
    }
    Ok(())
}

/// The rules a conversion uses: a vision-language `model_type` hf2mlx has multimodal rules for
/// keeps its towers (mlx-vlm output) unless `--text-only`; everything else goes through
/// [`resolve_arch`] (mlx-lm's text conversion).
pub fn resolve_conversion(cfg: &Json, dir: &Path, opts: &ConvertOptions) -> Result<&'static Arch> {
    let model_type = config::model_type(cfg).unwrap_or_default();
    if let Some(audio) = arch::audio::find(model_type) {
        if opts.text_only {
            return Err(Error::Usage(format!(
                "`{model_type}` is a speech model converted for mlx-audio; it has no text-only \
                 conversion. Drop --text-only"
            )));
        }
        return Ok(audio);
    }
    match arch::vlm::find_for_config(cfg) {
        Some(vlm) if !opts.text_only => {
            refuse_unsupported(vlm, cfg, dir)?;
            Ok(vlm)
        }
        // A refused mlx-lm module (kimi_vl) says why mlx-lm cannot take it.
        Some(_) if arch::find(model_type).is_none() => Err(Error::Usage(format!(
            "`{model_type}` has no text-only conversion: {}. Drop --text-only to convert it \
             with its vision tower for mlx-vlm",
            arch::refusal(model_type).unwrap_or("mlx-lm has no model for it")
        ))),
        _ => resolve_arch(cfg, dir, opts.trust_remote_code),
    }
}

/// Checkpoints that are already quantized need loader transforms this version doesn't do yet;
/// converting them as floats would silently produce garbage.
fn refuse_prequantized(cfg: &Json, dir: &Path, arch: &Arch) -> Result<()> {
    // MLX checkpoints carry `quantization` (and a copy in `quantization_config`): supported.
    if cfg.contains_key("quantization") {
        return Ok(());
    }
    // fp8 block-scaled checkpoints whose model dequantizes them in sanitize.
    if crate::arch::dequantizes_fp8(arch, cfg) {
        return Ok(());
    }
    let qc = cfg.get("quantization_config").or_else(|| {
        cfg.get("text_config")
            .and_then(|t| t.get("quantization_config"))
    });
    // NVIDIA ModelOpt exports may keep their settings in hf_quant_config.json, which mlx-lm's
    // loader reads when config.json has none.
    let hf_quant: Option<Value> = match qc {
        Some(_) => None,
        None => std::fs::read(dir.join("hf_quant_config.json"))
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null)),
    };
    if let Some(qc) = qc.or(hf_quant.as_ref()) {
        let method = qc
            .get("quant_method")
            .and_then(Value::as_str)
            .or_else(|| qc.get("producer")?.get("name")?.as_str())
            .unwrap_or("unknown");
        let why = match method {
            // The loader maps these, but only sanitize functions of modules hf2mlx refuses
            // (arch::REFUSED) rename the tensors; for every other model the strict load fails.
            "modelopt" => format!(
                "mlx-lm 0.32.2 reads ModelOpt NVFP4 as nvfp4, but only muse_spark's sanitize \
                 renames its `weight_scale`/`weight_scale_2`/`input_scale` tensors, so it cannot \
                 load this `{}` checkpoint either. Use the original float checkpoint and quantize \
                 it with -q --q-mode nvfp4",
                arch.name
            ),
            _ => "hf2mlx cannot convert it yet; use the original float checkpoint".to_string(),
        };
        return Err(Error::Source(format!(
            "{} is a pre-quantized checkpoint (quant_method `{method}`): {why}",
            dir.display()
        )));
    }
    Ok(())
}

/// mlx cannot load these dtypes; fail in the plan rather than write something mlx rejects.
fn check_loadable(t: &SourceTensor, files: &[PathBuf]) -> Result<()> {
    match t.dtype {
        DType::F64 | DType::F8E5M2 => Err(Error::Safetensors {
            file: files[t.file].clone(),
            msg: format!(
                "tensor `{}` is {}, which mlx cannot load; convert the checkpoint to float32 or bfloat16 first",
                t.name,
                t.dtype.as_str()
            ),
        }),
        _ => Ok(()),
    }
}

fn check_quantizable_shape(name: &str, shape: &[usize], spec: &QuantSpec) -> Result<()> {
    let k = shape.last().copied().unwrap_or(0);
    let n: usize = shape.iter().product();
    if shape.len() < 2 || k % spec.group_size != 0 {
        return Err(Error::Plan(format!(
            "cannot quantize `{name}` {shape:?} with group size {}",
            spec.group_size
        )));
    }
    // mlx's CPU fp4 packer reshapes to (-1, 4, 8): it needs N·K to be a multiple of 32.
    if spec.mode == Mode::Nvfp4 && !n.is_multiple_of(32) {
        return Err(Error::Plan(format!(
            "cannot nvfp4-quantize `{name}` {shape:?}: mlx needs its element count to be a multiple of 32"
        )));
    }
    Ok(())
}

/// Greedy split in order: a new shard starts when the next tensor would push the current one
/// past `max` (a tensor larger than `max` gets a shard of its own). Returns layouts and, for each
/// input tensor, its placement.
pub fn make_shards(
    tensors: Vec<(String, DType, Vec<usize>)>,
    max: u64,
) -> (Vec<ShardLayout>, Vec<Placement>) {
    let mut groups: Vec<Vec<(String, DType, Vec<usize>)>> = Vec::new();
    let mut size = 0u64;
    for t in tensors {
        let nbytes = t.2.iter().product::<usize>() as u64 * t.1.size() as u64;
        if groups.is_empty() || size + nbytes > max {
            groups.push(Vec::new());
            size = 0;
        }
        size += nbytes;
        if let Some(g) = groups.last_mut() {
            g.push(t);
        }
    }
    let n = groups.len();
    let mut placements = Vec::new();
    let shards = groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            placements.extend((0..g.len()).map(|slot| Placement { shard: i, slot }));
            let name = if n == 1 {
                "model.safetensors".to_string()
            } else {
                format!("model-{:05}-of-{:05}.safetensors", i + 1, n)
            };
            ShardLayout::new(name, g)
        })
        .collect();
    (shards, placements)
}
