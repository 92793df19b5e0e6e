//! Opening model files without being tricked into hanging or reading a device.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Open `path` for reading and check, on the open handle, that it is a
/// regular file; returns it with its length.
///
/// `O_NONBLOCK` makes opening a FIFO return at once instead of waiting for a
/// writer (a FIFO swapped in after a `stat` would otherwise hang the scan);
/// the type is then checked with `fstat` on the handle itself, so there is
/// no window between check and use. Symlinks are followed: the caller
/// decides which links are acceptable before calling.
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((file, meta.len()))
}
