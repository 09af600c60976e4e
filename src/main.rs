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
    Convert(ConvertArgs),
    /// List the supported model types and the kind of weight rules each uses.
    Architectures {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the Markdown table used in README.md.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
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

#[derive(clap::Args)]
struct ConvertArgs {
    /// Path to the Hugging Face model folder (config.json + model*.safetensors + tokenizer).
    #[arg(long = "hf-path", visible_alias = "model", value_name = "PATH")]
    hf_path: PathBuf,

    /// Where to write the MLX model. Must not exist (unless --force).
    #[arg(long = "mlx-path", default_value = "mlx_model", value_name = "PATH")]
    mlx_path: PathBuf,

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

    /// No progress bar or summary.
    #[arg(long, short = 's')]
    quiet: bool,
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
    let result = match cli.command {
        Command::Convert(args) => run_convert(args),
        Command::Architectures { json, markdown } => {
            if markdown {
                print!("{}", hf2mlx::arch::markdown_table());
            } else {
                print_architectures(json);
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_convert(a: ConvertArgs) -> Result<(), hf2mlx::Error> {
    let mut opts = ConvertOptions::new(&a.hf_path, &a.mlx_path);
    opts.quantize = a.quantize;
    opts.q_bits = a.q_bits;
    opts.q_group_size = a.q_group_size;
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

    if a.dry_run {
        let plan = hf2mlx::plan(&opts)?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&plan).unwrap_or_default()
            );
        } else {
            print!("{}", hf2mlx::report::dry_run_summary(&plan, &opts));
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
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!("{:<24} {:<15} aliases", "model_type", "rules");
    for a in rows {
        println!(
            "{:<24} {:<15} {}",
            a.name,
            a.category.as_str(),
            a.aliases.join(", ")
        );
    }
}
