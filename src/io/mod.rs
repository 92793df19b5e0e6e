//! The ground floor: the file and byte plumbing every stage shares.
//!
//! This module depends on nothing else in the crate (std, sha2, rustix,
//! libc only), so `inspect`, `bundle`, `verify` and `import` can all build
//! on it without knowing about each other. What lives here:
//!
//! - [`digest`]: [`Sha256Digest`](digest::Sha256Digest) and the streaming
//!   [`Hasher`](digest::Hasher);
//! - `open`: opening an input without hanging on a FIFO or reading a device;
//! - `direct`: page-aligned buffers and O_DIRECT writes with a buffered
//!   fallback;
//! - `pool`: the one bounded pool of aligned chunks that pack and import
//!   recycle their buffers through;
//! - `tee`: the one hashing tee: every byte read is hashed once (or only
//!   counted) and handed on to a branch: nothing, a writer, pack's pipe or
//!   a raw artifact's head buffer; and its mirror for writes;
//! - `writer`: the background writer that import stages files through
//!   (writes and fsyncs on their own threads), and for pack's writers the
//!   background flush (`fdatasync` every so many bytes), the `fallocate`
//!   reservation ahead of the writes and positioned vectored writes;
//! - `lock`: an exclusive `flock` released explicitly;
//! - [`source`]: [`BundleSource`](source::BundleSource), bytes at positions
//!   from a bundle file or a part set read as one stream;
//! - [`span`] and [`out`]: one logical file written over a row of part
//!   files, and pack's output, a file or such a span (`pack --split`).

pub mod digest;
pub(crate) mod direct;
pub(crate) mod lock;
pub(crate) mod open;
pub mod out;
pub(crate) mod pool;
pub mod source;
pub mod span;
pub(crate) mod tee;
pub(crate) mod writer;

#[cfg(test)]
mod tests {
    /// The ground floor stays the ground floor: no file under `src/io/`
    /// names another module of the crate (a path from the crate root that
    /// does not go on into this module, or one that climbs out of it).
    #[test]
    fn io_depends_on_nothing_else_in_the_crate() -> Result<(), Box<dyn std::error::Error>> {
        // Built here, so this file's own code does not match them.
        let from_root = ["crate", "::"].concat();
        let into_io = ["crate", "::io"].concat();
        let up = ["super", "::"].concat();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/io");
        // (folder, how many `super` steps leave src/io from a file in it)
        let mut folders = vec![(root, 1)];
        let mut seen = 0;
        while let Some((folder, depth)) = folders.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                if path.is_dir() {
                    folders.push((path, depth + 1));
                    continue;
                }
                let text = std::fs::read_to_string(&path)?;
                seen += 1;
                // mod.rs is the module itself: one step fewer leaves it.
                let leaves = if path.ends_with("mod.rs") {
                    depth
                } else {
                    depth + 1
                };
                let climb = up.repeat(leaves);
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    let outside = code
                        .match_indices(&from_root)
                        .any(|(i, _)| !code.get(i..).is_some_and(|r| r.starts_with(&into_io)));
                    assert!(
                        !outside && !code.contains(&climb),
                        "{}:{}: {line}",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
        assert!(seen >= 8, "only {seen} files read under src/io");
        Ok(())
    }
}
