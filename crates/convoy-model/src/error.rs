//! The one error type of every file reader: it always names the file, and the
//! line when the problem sits on one.

use std::path::{Path, PathBuf};

/// A file could not be read, or its contents are not what the format expects.
///
/// Displayed as `path:line: what was expected, found what`, the shape compilers use,
/// so editors and terminals can jump to the spot.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The operating system refused to open or read the file.
    // The OS error is part of the message, not a `source`: chained error
    // reports would otherwise print it twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A specific line is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// The file parses but its contents are inconsistent as a whole.
    #[error("{}: {message}", path.display())]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl FileError {
    /// An error on one line of `path`.
    pub fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        FileError::Line {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// An error about the whole of `path`.
    pub fn content(path: &Path, message: impl Into<String>) -> Self {
        FileError::Content {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        FileError::Io {
            path: path.to_owned(),
            error,
        }
    }
}

/// Reads a whole file as UTF-8, naming the file on failure.
pub(crate) fn read_text(path: &Path) -> Result<String, FileError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        FileError::line(path, line, "expected UTF-8 text, found invalid bytes")
    })
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Whether `path` names a JSON file (by extension); the readers of formats
/// that come in TOML and JSON take TOML otherwise.
pub(crate) fn is_json(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}
