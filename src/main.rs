//! The `hf2mlx` command line: argument parsing, progress display and exit codes. All work is
//! done by the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use hf2mlx::cast::FloatType;
use hf2mlx::plan::{ConvertOptions, DEFAULT_MAX_SHARD_SIZE};
use hf2mlx::quant::Mode;
use hf2mlx::quant::method::QuantMethod;

#[derive(Parser)]
#[command(
    name = "hf2mlx",
    version,
    about = "Convert Hugging Face checkpoints to MLX format",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a Hugging Face checkpoint folder into an MLX model folder (flags as mlx_lm.convert).
    Convert(Box<ConvertArgs>),
    /// List the supported model types and the kind of weight rules each uses.
    Architectures {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the Markdown table used in README.md.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Upload a converted model folder to a Hub repo (created if missing); resumes an
    /// interrupted upload without resending what the Hub already has.
    Upload {
        /// The MLX model folder.
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// Target repo ORG/NAME.
        #[arg(value_name = "ORG/NAME")]
        repo: String,
        /// Hub token with write access [default: $HF_TOKEN, else the `hf auth login` token file].
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        /// Create the repo as private (if it does not exist yet).
        #[arg(long)]
        private: bool,
    },
    /// Write a Hugging Face checkpoint (model.safetensors, config.json, tokenizer and generation
    /// files) from a llama.cpp GGUF file: dequantized, q/k permutation undone, tokenizer rebuilt.
    /// To go straight to MLX, give the .gguf file to `convert --hf-path` instead.
    ImportGguf {
        /// The .gguf file.
        #[arg(value_name = "IN.gguf")]
        input: PathBuf,
        /// The checkpoint folder to create.
        #[arg(value_name = "OUT_DIR")]
        output: PathBuf,
        /// Float type of the written weights.
        #[arg(long, value_enum, default_value = "bfloat16")]
        dtype: DtypeArg,
        /// Replace OUT_DIR if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Measure how far converted models are from their source: perplexity, KL divergence of the
    /// next-token distributions (KL(source ‖ model), nats/token, mean and p99) and top-1
    /// agreement, on a built-in English text or --text FILE.
    Eval(EvalArgs),
    /// List converted models in the models folder (size, precision, source repo and commit).
    List {
        /// Folder of converted models [default: $HF2MLX_MODELS, else ./local-models].
        #[arg(long = "models-dir", value_name = "DIR")]
        models_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DtypeArg {
    Float16,
    Bfloat16,
    Float32,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Affine,
    Mxfp4,
    Nvfp4,
    Mxfp8,
}

/// `--quant-method`: one entry per [`QuantMethod`].
#[derive(Clone, Copy, ValueEnum)]
enum QuantMethodArg {
    /// Round to nearest, as mlx-lm (`mx.quantize`): identical output.
    Rtn,
    /// Data-free per-group search over clipping ranges with weighted least-squares refits of
    /// scale and bias: lower KL than rtn at 4 bits but higher at 3 (README), much slower.
    Search,
    /// Data-free per-group clip search and bias refit, errors weighted per input column by an
    /// estimate of that input's mean square: lower KL than rtn (README, Quantization quality).
    Clipfit,
}

#[derive(clap::Args)]
struct ConvertArgs {
    /// Shorthand `convert ORG/NAME OUTPUT_NAME BITS`: the source (Hub id or folder).
    #[arg(
        value_name = "ORG/NAME",
        conflicts_with = "hf_path",
        requires = "output_name"
    )]
    source: Option<PathBuf>,

    /// Shorthand: output folder name inside --models-dir.
    #[arg(
        value_name = "OUTPUT_NAME",
        requires = "bits",
        conflicts_with = "mlx_path"
    )]
    output_name: Option<String>,

    /// Shorthand: 2-8 to quantize (affine), 16 to keep the source dtype, or bf16 / f16 / f32.
    #[arg(value_name = "BITS")]
    bits: Option<String>,

    /// The Hugging Face checkpoint: a local folder, or a Hub id ORG/NAME (downloaded into the
    /// shared Hugging Face cache after a preflight).
    #[arg(
        long = "hf-path",
        visible_alias = "model",
        value_name = "PATH",
        required_unless_present = "source"
    )]
    hf_path: Option<PathBuf>,

    /// Where to write the MLX model. Must not exist (unless --force) [default: mlx_model].
    #[arg(long = "mlx-path", value_name = "PATH")]
    mlx_path: Option<PathBuf>,

    /// Hub source: branch, tag or commit to convert [default: main].
    #[arg(long, value_name = "REV")]
    revision: Option<String>,

    /// Hub token [default: $HF_TOKEN, else the token file of `hf auth login`]. Never printed.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,

    /// Upload the converted model to this Hub repo (created if missing).
    #[arg(long = "upload-repo", value_name = "ORG/NAME")]
    upload_repo: Option<String>,

    /// Shorthand: folder for OUTPUT_NAME [default: $HF2MLX_MODELS, else ./local-models].
    #[arg(long = "models-dir", value_name = "DIR", requires = "output_name")]
    models_dir: Option<PathBuf>,

    /// Quantize the model.
    #[arg(short = 'q', long = "quantize")]
    quantize: bool,

    /// Bits per weight [default: 4 for affine/mxfp4/nvfp4, 8 for mxfp8].
    #[arg(long = "q-bits", value_name = "BITS")]
    q_bits: Option<u32>,

    /// Group size [default: 64 affine, 32 mxfp4/mxfp8, 16 nvfp4].
    #[arg(long = "q-group-size", value_name = "N")]
    q_group_size: Option<usize>,

    /// Quantization mode.
    #[arg(long = "q-mode", value_enum, default_value = "affine")]
    q_mode: ModeArg,

    /// Mixed-precision recipe: more bits for v_proj/down_proj in the first and last eighth of
    /// the layers (and every third), and for lm_head; affine only.
    #[arg(long = "quant-predicate", value_name = "RECIPE", value_parser = [
        "mixed_2_6", "mixed_3_4", "mixed_3_5", "mixed_3_6", "mixed_3_8", "mixed_4_6", "mixed_4_8"])]
    quant_predicate: Option<String>,

    /// Quantize embeddings and lm_head with this many bits (affine).
    #[arg(long = "q-bits-embedding", value_name = "BITS")]
    q_bits_embedding: Option<u32>,

    /// Same size as uniform --q-bits B, spent differently: an untied input embedding gets fewer
    /// bits and lm_head as many more (B-1 / B+1; at 6 bits 4 / 8); affine only.
    #[arg(long = "q-rebalance")]
    q_rebalance: bool,

    /// Per-layer settings, repeatable; the last matching wins. REGEX is searched in the layer
    /// path (e.g. `model.layers.3.mlp.down_proj`); SPEC is `skip`, a bit count (`6`), a mode
    /// (`mxfp8`, `nvfp4`) or MODE:BITS[:GROUP] (`affine:6:64`).
    #[arg(long = "q-override", value_name = "REGEX=SPEC")]
    q_override: Vec<String>,

    /// How affine layers choose codes, scales and biases; every method writes the same MLX
    /// format (see "Quantization quality" in README.md for measured KL).
    #[arg(
        long = "quant-method",
        value_enum,
        value_name = "NAME",
        default_value = "rtn"
    )]
    quant_method: QuantMethodArg,

    /// Dequantize an MLX-quantized model back to float.
    #[arg(short = 'd', long = "dequantize")]
    dequantize: bool,

    /// Float dtype of the output [default: the config's torch_dtype, as mlx-lm].
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,

    /// Largest shard file, e.g. 5GB, 2GiB, 500MB [default: 5GiB, as mlx-lm].
    #[arg(long = "max-shard-size", value_name = "SIZE", value_parser = parse_size)]
    max_shard_size: Option<u64>,

    /// Replace --mlx-path if it exists.
    #[arg(long)]
    force: bool,

    /// Print the conversion plan and exit without writing anything.
    #[arg(long = "dry-run")]
    dry_run: bool,

    /// With --dry-run: print the full plan as JSON.
    #[arg(long, requires = "dry_run")]
    json: bool,

    /// Accepted for compatibility with mlx_lm.convert. hf2mlx never executes model code.
    #[arg(long = "trust-remote-code")]
    trust_remote_code: bool,

    /// For a vision-language checkpoint: write mlx-lm's text-only model (towers dropped)
    /// instead of the default mlx-vlm model with its vision/audio towers.
    #[arg(long = "text-only")]
    text_only: bool,

    /// No progress bar or summary.
    #[arg(long, short = 's')]
    quiet: bool,

    /// After converting, evaluate the output against the source (as `hf2mlx eval`) before
    /// installing it; the numbers go into README.md and hf2mlx-report.json.
    #[arg(long)]
    eval: bool,

    #[command(flatten)]
    eval_text: EvalTextArgs,

    /// First read every floating tensor and stop with a list of those holding NaN or Inf
    /// (name, counts); nothing is written if any does.
    #[arg(long = "check-finite")]
    check_finite: bool,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The source: a Hugging Face checkpoint folder (any float dtype) or an MLX folder.
    #[arg(long, value_name = "SRC")]
    reference: PathBuf,
    /// Converted MLX model folders (ours or mlx-lm's) to compare with the reference.
    #[arg(value_name = "MODEL", required = true)]
    models: Vec<PathBuf>,
    #[command(flatten)]
    text: EvalTextArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Which text `eval` and `convert --eval` run on.
#[derive(clap::Args)]
struct EvalTextArgs {
    /// Evaluate on this UTF-8 text file instead of the built-in English corpus.
    #[arg(long = "text", value_name = "FILE")]
    text_file: Option<PathBuf>,
    /// Tokens per forward pass; the text is cut into independent windows of this length.
    #[arg(long, value_name = "N", default_value_t = hf2mlx::eval::DEFAULT_WINDOW)]
    window: usize,
    /// Evaluate at most this many tokens of the text.
    #[arg(long = "max-tokens", value_name = "N")]
    max_tokens: Option<usize>,
}

impl EvalTextArgs {
    fn options(self) -> hf2mlx::eval::EvalOptions {
        hf2mlx::eval::EvalOptions {
            text_file: self.text_file,
            window: self.window,
            max_tokens: self.max_tokens,
        }
    }
}

fn run_eval(a: EvalArgs) -> Result<(), hf2mlx::Error> {
    let r = hf2mlx::eval::evaluate(&a.reference, &a.models, &a.text.options())?;
    if a.json {
        hf2mlx::outln!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        hf2mlx::out!("{}", r.table());
    }
    Ok(())
}

/// Sizes as mlx-lm's `_parse_size` reads them (decimal units: 4.1MB = 4 100 000 bytes), plus
/// binary units (GiB, MiB, KiB).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 5GB or 500MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        "TIB" => 1024f64.powi(4),
        u => {
            return Err(format!(
                "unknown size unit `{u}` in `{s}` (use B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = (n * mult).round();
    if bytes < 1.0 {
        return Err(format!("shard size `{s}` must be at least one byte"));
    }
    Ok(bytes as u64)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C / SIGTERM / SIGHUP remove the temporary output folder before exiting.
    hf2mlx::output::install_signal_cleanup();
    let result = match cli.command {
        Command::Convert(args) => run_convert(*args),
        Command::Eval(args) => run_eval(args),
        Command::Upload {
            path,
            repo,
            token,
            private,
        } => hf2mlx::hub::upload_command(&path, &repo, token.as_deref(), private),
        Command::ImportGguf {
            input,
            output,
            dtype,
            force,
        } => run_import_gguf(&input, &output, dtype, force),
        Command::List { models_dir } => {
            let dir = hf2mlx::hub::models_dir(models_dir.as_deref());
            hf2mlx::hub::list_models(&dir).map(|m| hf2mlx::out!("{}", hf2mlx::hub::format_list(&m)))
        }
        Command::Architectures { json, markdown } => {
            if markdown {
                hf2mlx::out!("{}", hf2mlx::arch::markdown_table());
                hf2mlx::out!("\n{}", hf2mlx::arch::vlm::markdown_table());
                hf2mlx::out!("\n{}", hf2mlx::arch::audio::markdown_table());
            } else {
                print_architectures(json);
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.kind());
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_convert(mut a: ConvertArgs) -> Result<(), hf2mlx::Error> {
    let hf_path = a.hf_path.clone().or(a.source.clone()).unwrap_or_default();
    let mlx_path = match &a.output_name {
        Some(name) => hf2mlx::hub::models_dir(a.models_dir.as_deref()).join(name),
        None => a
            .mlx_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("mlx_model")),
    };
    if let Some(bits) = &a.bits {
        match hf2mlx::hub::parse_precision(bits)? {
            hf2mlx::hub::Precision::Quantize(b) => {
                if a.q_bits.is_some_and(|q| q != b) {
                    return Err(hf2mlx::Error::Usage(format!(
                        "BITS {b} and --q-bits disagree; give one of them"
                    )));
                }
                a.quantize = true;
                a.q_bits = Some(b);
            }
            hf2mlx::hub::Precision::Float(Some(t)) => {
                a.dtype = Some(match t {
                    FloatType::F16 => DtypeArg::Float16,
                    FloatType::BF16 => DtypeArg::Bfloat16,
                    _ => DtypeArg::Float32,
                })
            }
            hf2mlx::hub::Precision::Float(None) => {}
        }
    }
    let mut opts = ConvertOptions::new(&hf_path, &mlx_path);
    opts.quantize = a.quantize;
    opts.q_bits = a.q_bits;
    opts.q_group_size = a.q_group_size;
    opts.quant_predicate = a.quant_predicate;
    opts.q_bits_embedding = a.q_bits_embedding;
    opts.q_rebalance = a.q_rebalance;
    opts.q_overrides = a.q_override;
    opts.dequantize = a.dequantize;
    opts.quant_method = match a.quant_method {
        QuantMethodArg::Rtn => QuantMethod::Rtn,
        QuantMethodArg::Search => QuantMethod::Search,
        QuantMethodArg::Clipfit => QuantMethod::Clipfit,
    };
    opts.q_mode = match a.q_mode {
        ModeArg::Affine => Mode::Affine,
        ModeArg::Mxfp4 => Mode::Mxfp4,
        ModeArg::Nvfp4 => Mode::Nvfp4,
        ModeArg::Mxfp8 => Mode::Mxfp8,
    };
    opts.dtype = a.dtype.map(|d| match d {
        DtypeArg::Float16 => FloatType::F16,
        DtypeArg::Bfloat16 => FloatType::BF16,
        DtypeArg::Float32 => FloatType::F32,
    });
    opts.max_shard_size = a.max_shard_size.unwrap_or(DEFAULT_MAX_SHARD_SIZE);
    opts.force = a.force;
    opts.trust_remote_code = a.trust_remote_code;
    opts.check_finite = a.check_finite;
    let eval_given = a.eval_text.text_file.is_some()
        || a.eval_text.max_tokens.is_some()
        || a.eval_text.window != hf2mlx::eval::DEFAULT_WINDOW;
    if eval_given && !a.eval {
        return Err(hf2mlx::Error::Usage(
            "--text, --window and --max-tokens only apply with --eval".into(),
        ));
    }
    opts.eval = a.eval.then(|| a.eval_text.options());
    opts.text_only = a.text_only;

    // A Hub id (not an existing folder), an upload, or the shorthand (whose models `hf2mlx list`
    // shows with their source): preflight, download, provenance, upload.
    let repo_id = hf2mlx::hub::classify_source(&hf_path)?;
    if repo_id.is_some() || a.upload_repo.is_some() || a.output_name.is_some() {
        let run = hf2mlx::hub::HubRun {
            repo_id,
            revision: a.revision,
            token: a.token,
            upload_repo: a.upload_repo,
            dry_run: a.dry_run,
            json: a.json,
            quiet: a.quiet,
            command_line: Some(hf2mlx::hub::redacted_command_line(std::env::args())),
        };
        return hf2mlx::hub::convert(&mut opts, &run);
    }
    if a.revision.is_some() {
        return Err(hf2mlx::Error::Usage(format!(
            "--revision applies to Hub sources, but {} is a local folder",
            hf_path.display()
        )));
    }

    // A dry run only scans; a conversion scans in `execute_plan` (so Hub sources are scanned
    // after their download).
    if a.check_finite && a.dry_run {
        let plan = hf2mlx::plan(&opts)?;
        hf2mlx::finite::check(&plan.weight_files)?;
        if !a.quiet {
            eprintln!("--check-finite: every floating tensor is finite");
        }
    }

    if a.dry_run {
        let plan = hf2mlx::plan(&opts)?;
        if a.json {
            hf2mlx::outln!(
                "{}",
                serde_json::to_string_pretty(&plan).unwrap_or_default()
            );
        } else {
            hf2mlx::out!("{}", hf2mlx::report::dry_run_summary(&plan, &opts));
        }
        return Ok(());
    }

    let show_bar = !a.quiet && std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::hidden();
    if show_bar {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    let start = Instant::now();
    let report = hf2mlx::convert(&opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if !a.quiet {
        if opts.check_finite {
            eprintln!("--check-finite: every floating tensor is finite");
        }
        if opts.quantize {
            eprintln!(
                "Quantized model with {:.3} bits per weight.",
                report.bits_per_weight
            );
        }
        eprintln!(
            "Wrote {} ({} tensors in {} file{}, {}) in {:.1}s",
            report.mlx_path.display(),
            report.tensors,
            report.shards,
            if report.shards == 1 { "" } else { "s" },
            hf2mlx::report::human_bytes(report.total_size),
            start.elapsed().as_secs_f64()
        );
    }
    if let Some(q) = &report.quality {
        hf2mlx::out!("{}", q.table());
    }
    Ok(())
}

fn run_import_gguf(
    input: &std::path::Path,
    output: &std::path::Path,
    dtype: DtypeArg,
    force: bool,
) -> Result<(), hf2mlx::Error> {
    if !hf2mlx::gguf::is_gguf(input) {
        return Err(hf2mlx::Error::Usage(format!(
            "{} is not a GGUF file (it must exist and start with the bytes `GGUF`)",
            input.display()
        )));
    }
    let dtype = match dtype {
        DtypeArg::Float16 => FloatType::F16,
        DtypeArg::Bfloat16 => FloatType::BF16,
        DtypeArg::Float32 => FloatType::F32,
    };
    let start = Instant::now();
    let r = hf2mlx::gguf::import(input, output, dtype, force)?;
    eprintln!(
        "Wrote {} ({} {} tensors, {}) in {:.1}s",
        r.path.display(),
        r.tensors,
        r.model_type,
        hf2mlx::report::human_bytes(r.bytes),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_architectures(json: bool) {
    let rows = hf2mlx::arch::REGISTRY;
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|a| {
                serde_json::json!({
                    "module": a.name,
                    "model_types": std::iter::once(a.name).chain(a.aliases.iter().copied()).collect::<Vec<_>>(),
                    "category": a.category.as_str(),
                    "mode": "text",
                })
            })
            .chain(hf2mlx::arch::vlm::REGISTRY.iter().map(|a| {
                serde_json::json!({
                    "module": a.name,
                    "model_types": std::iter::once(a.name).chain(a.aliases.iter().copied()).collect::<Vec<_>>(),
                    "category": a.category.as_str(),
                    "mode": "vlm",
                })
            }))
            .chain(hf2mlx::arch::audio::REGISTRY.iter().map(|a| {
                serde_json::json!({
                    "module": a.name,
                    "model_types": std::iter::once(a.name).chain(a.aliases.iter().copied()).collect::<Vec<_>>(),
                    "category": a.category.as_str(),
                    "mode": "audio",
                })
            }))
            .collect();
        hf2mlx::outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    hf2mlx::outln!("{:<24} {:<15} aliases", "model_type", "rules");
    for a in rows {
        hf2mlx::outln!(
            "{:<24} {:<15} {}",
            a.name,
            a.category.as_str(),
            a.aliases.join(", ")
        );
    }
    hf2mlx::outln!(
        "\nvision-language (default: towers kept, mlx-vlm output; --text-only: mlx-lm text model)"
    );
    hf2mlx::outln!("{:<24} {:<15} aliases", "model_type", "mode");
    for a in hf2mlx::arch::vlm::REGISTRY {
        hf2mlx::outln!("{:<24} {:<15} {}", a.name, "vlm", a.aliases.join(", "));
    }
    hf2mlx::outln!("\nspeech (mlx-audio output)");
    hf2mlx::outln!("{:<24} {:<15} aliases", "model_type", "mode");
    for a in hf2mlx::arch::audio::REGISTRY {
        hf2mlx::outln!("{:<24} {:<15} {}", a.name, "audio", a.aliases.join(", "));
    }
}
