//! One error type for the library. Every variant names the file or tensor involved and, where
//! there is one, what the user can do about it; `main` prints it and exits non-zero.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A safetensors file whose header or layout is invalid.
    #[error("{file}: invalid safetensors file: {msg}")]
    Safetensors { file: PathBuf, msg: String },

    /// config.json (or another JSON input) is missing, unreadable or inconsistent.
    #[error("{file}: {msg}")]
    Config { file: PathBuf, msg: String },

    /// The checkpoint folder lacks something conversion needs.
    #[error("{0}")]
    Source(String),

    #[error(
        "model type `{model_type}` is not supported by hf2mlx {version}.\n\
         Supported model types: {supported}\n\
         (run `hf2mlx architectures` for details)"
    )]
    UnsupportedModel {
        model_type: String,
        version: &'static str,
        supported: String,
    },

    /// The checkpoint's tensors do not fit what the architecture expects.
    #[error("{0}")]
    Plan(String),

    /// Bad combination of options.
    #[error("{0}")]
    Usage(String),

    #[error(
        "output folder {0} already exists; choose another --mlx-path or pass --force to replace it"
    )]
    OutputExists(PathBuf),

    /// A Hub request failed: not found, gated, no access, offline, network. The message says
    /// which, and what to do; it never contains the token.
    #[error("{0}")]
    Hub(String),

    /// `model.safetensors.index.json` disagrees with the folder or the shard headers.
    #[error("{file}: {msg}")]
    Index { file: PathBuf, msg: String },

    /// config.json contradicts the weights (e.g. an embedding wider than `hidden_size`).
    #[error("{file}: tensor `{tensor}`: {msg}")]
    Mismatch {
        file: PathBuf,
        tensor: String,
        msg: String,
    },

    /// `--check-finite` found NaN or Inf values; the message lists the tensors.
    #[error("{0}")]
    NonFinite(String),

    /// A path in the source that hf2mlx refuses to follow (a symlink leaving the folder).
    #[error("{0}")]
    UnsafePath(String),

    /// `hf2mlx eval` cannot run a model or a text (unsupported family, missing tokenizer, a
    /// tensor computation that failed).
    #[error("{0}")]
    Eval(String),

    /// SIGINT / SIGTERM / SIGHUP arrived; the temporary output was removed.
    #[error("interrupted by {0}; nothing was written")]
    Interrupted(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A stable name for the class of error, for scripts and tests (`error[KIND]: …` on the
    /// command line). Names never change meaning; new ones may be added.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::StorageFull
                | std::io::ErrorKind::FileTooLarge
                | std::io::ErrorKind::QuotaExceeded => "disk_full",
                std::io::ErrorKind::NotFound => "not_found",
                std::io::ErrorKind::PermissionDenied => "permission_denied",
                _ => "io",
            },
            Error::Safetensors { .. } => "safetensors",
            Error::Config { .. } => "config",
            Error::Source(_) => "source",
            Error::UnsupportedModel { .. } => "unsupported_model",
            Error::Plan(_) => "plan",
            Error::Usage(_) => "usage",
            Error::OutputExists(_) => "output_exists",
            Error::Hub(_) => "hub",
            Error::Index { .. } => "index",
            Error::Mismatch { .. } => "config_mismatch",
            Error::NonFinite(_) => "non_finite",
            Error::UnsafePath(_) => "unsafe_path",
            Error::Interrupted(_) => "interrupted",
            Error::Eval(_) => "eval",
        }
    }

    /// The process exit code for this error, by broad class (documented in README.md):
    /// 2 usage, 3 invalid or inconsistent input, 4 unsupported model, 5 I/O (disk full, read or
    /// write failure), 6 Hub, 130 interrupted. 1 is left for anything else (e.g. a panic).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::OutputExists(_) => 2,
            Error::Safetensors { .. }
            | Error::Config { .. }
            | Error::Source(_)
            | Error::Plan(_)
            | Error::Index { .. }
            | Error::Mismatch { .. }
            | Error::NonFinite(_)
            | Error::UnsafePath(_)
            | Error::Eval(_) => 3,
            Error::UnsupportedModel { .. } => 4,
            Error::Io { .. } => 5,
            Error::Hub(_) => 6,
            Error::Interrupted(_) => 130,
        }
    }
}

/// Attach a path to io errors: `fs::read(p).at(p)?`.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
