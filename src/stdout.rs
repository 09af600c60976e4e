//! Standard output for the command line that treats a reader who went away as the end of the
//! job, not as a crash.
//!
//! `println!` panics when stdout is a closed pipe (`hf2mlx architectures | head -3`): Rust
//! ignores SIGPIPE, so the write fails with `BrokenPipe` and the macro turns that into a panic
//! message. Like ripgrep, hf2mlx instead exits at once with status 0 and prints nothing: the
//! reader asked for no more output, and everything it read was complete. Any other write error
//! (a full disk behind a redirection) is reported on stderr with exit status 74 (`EX_IOERR`).

use std::io::Write;

/// The exit status when stdout cannot be written for a reason other than a closed pipe
/// (`EX_IOERR` from sysexits.h).
pub const EXIT_STDOUT_ERROR: i32 = 74;

/// Writes `args` to stdout and flushes. Ends the process (status 0) if the reader closed the
/// pipe, or with [`EXIT_STDOUT_ERROR`] on any other write error.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error[io]: cannot write to standard output: {e}");
        std::process::exit(EXIT_STDOUT_ERROR);
    }
}

/// `print!` that ends the process quietly when stdout is a closed pipe (see [`write`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*))
    };
}

/// `println!` that ends the process quietly when stdout is a closed pipe (see [`write`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
