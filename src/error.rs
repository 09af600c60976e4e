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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
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
