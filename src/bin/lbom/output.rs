//! Where command output goes: stdout, or a file replaced atomically so a
//! reader never sees half a report.
//!
//! Output is written only through `lbom::safe` (docs/threat-model.md,
//! G13): [`Output`] hands out a `TextOut` or writes JSON with hidden
//! characters escaped, and never a raw writer; stderr lines go through
//! [`note`]. `clippy.toml` forbids `println!` and friends and direct
//! `stdout()`/`stderr()` elsewhere, so a new command cannot print raw.
#![allow(clippy::disallowed_methods)]

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use lbom::TextOut;
use serde::Serialize;

/// One line on stderr, every hidden character escaped. Write errors are
/// ignored: there is nowhere left to report them.
pub fn note(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = TextOut::new(&mut err).line(args);
}

/// `eprintln!` through [`note`].
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::note(format_args!($($arg)*))
    };
}

/// An output destination chosen by `--output`.
pub enum Output {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// A temporary file next to the target, renamed over it on `finish`.
    File {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
}

impl Output {
    /// Open stdout or a temporary file beside `path`.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            None => Ok(Output::Stdout(BufWriter::new(io::stdout()))),
            Some(target) => {
                let dir = match target.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let temp = tempfile::Builder::new()
                    .prefix(".lbom-out-")
                    .tempfile_in(dir)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                Ok(Output::File {
                    temp,
                    target: target.to_path_buf(),
                })
            }
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { temp, .. } => temp.as_file_mut(),
        }
    }

    /// Text lines (see `lbom::TextOut`).
    pub fn text(&mut self) -> TextOut<'_> {
        TextOut::new(self.writer())
    }

    /// Text whose documents may keep lbom's own SGR colour sequences.
    pub fn text_with_colour(&mut self) -> TextOut<'_> {
        TextOut::with_colour(self.writer())
    }

    /// `value` as pretty JSON, hidden characters escaped.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        lbom::write_json(value, self.writer())
    }

    /// A JSON document a writer produced, hidden characters escaped.
    pub fn json_document(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer().write_all(&lbom::json_document(bytes))
    }

    /// Flush, and for a file, move it into place.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush().context("cannot write to stdout"),
            Output::File { temp, target } => {
                temp.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", target.display()))?;
                // Reports are for sharing: 0644 like any file the user writes,
                // not tempfile's 0600.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
                    .with_context(|| format!("cannot write {}", target.display()))?;
                temp.persist(&target)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                Ok(())
            }
        }
    }

    /// Whether output goes to a terminal (for colour).
    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        matches!(self, Output::Stdout(_)) && io::stdout().is_terminal()
    }
}
