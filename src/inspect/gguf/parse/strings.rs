//! Strings of a GGUF header, and what the parser keeps of them: every
//! kept byte is charged to the per-file budget before it is read
//! (`Limits::header_max_kept_bytes`), and a string that is not kept is
//! streamed through the digests a block at a time, never held whole
//! (docs/bundle-format.md, "Reader limits").

use std::io::Read;

use serde_json::{Map, Value as Json};

use super::{KEPT_VALUE_COST, Parser, SKIM_BLOCK_BYTES, Stop};
use crate::io::digest::{Hasher, Sha256Digest};

impl<R: Read> Parser<'_, R> {
    /// A GGUF string's bytes, in the reused scratch buffer (give it back
    /// with [`Self::recycle`]). The parser keeps them (a key, a tensor
    /// name): they are charged to the kept-bytes budget before they are read.
    pub(super) fn string(&mut self, what: &str) -> Result<Vec<u8>, Stop> {
        let len = self.string_len(what)?;
        self.keep(len, what)?;
        self.string_body(len, what)
    }

    /// A string's length, checked against the file and the string cap.
    pub(super) fn string_len(&mut self, what: &str) -> Result<u64, Stop> {
        let start = self.pos;
        let len = self.len(what)?;
        let remaining = self.remaining();
        let max = self.limits.gguf_max_string_bytes;
        if len > remaining {
            // A plausible length past the end reads as a cut file; one above
            // the string cap as a forged length.
            return Err(if len > max {
                self.fatal(
                    "gguf.bad_string",
                    format!("gguf header: {what} at offset {start} declares {len} bytes, past the end of the file ({remaining} bytes left)"),
                )
            } else {
                self.fatal(
                    "gguf.truncated",
                    format!("gguf header: {what} at offset {start} declares {len} bytes but only {remaining} remain in the file"),
                )
            });
        }
        if len > max {
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf header: {what} at offset {start} is {len} bytes, over the {max}-byte string limit"),
            ));
        }
        self.need(len, what)?;
        Ok(len)
    }

    /// The `len` bytes of a string whose length was just read.
    pub(super) fn string_body(&mut self, len: u64, what: &str) -> Result<Vec<u8>, Stop> {
        let Ok(n) = usize::try_from(len) else {
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf header: {what} is too long for this platform"),
            ));
        };
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.resize(n, 0);
        self.read_exact(&mut buf, what)?;
        Ok(buf)
    }

    /// Stream the `len` bytes of a string whose length was just read into
    /// the active digests, holding one block at a time: a string the parser
    /// does not keep costs no memory. With `own`, also their SHA-256.
    pub(super) fn skim_string(
        &mut self,
        len: u64,
        own: bool,
        what: &str,
    ) -> Result<Option<Sha256Digest>, Stop> {
        let mut own = own.then(Hasher::new);
        let mut left = len;
        while left > 0 {
            let n = left.min(SKIM_BLOCK_BYTES);
            let mut buf = std::mem::take(&mut self.scratch);
            buf.clear();
            buf.resize(usize::try_from(n).unwrap_or(0), 0);
            self.read_exact(&mut buf, what)?;
            self.canon(&buf);
            if let Some(h) = own.as_mut() {
                h.update(&buf);
            }
            self.recycle(buf);
            left -= n;
        }
        Ok(own.map(Hasher::finish))
    }

    /// Charge `n` bytes the parser is about to keep (plus a fixed cost per
    /// kept value) to the per-file budget, `Limits::header_max_kept_bytes`:
    /// counts and lengths are each capped, their product is capped here.
    pub(super) fn keep(&mut self, n: u64, what: &str) -> Result<(), Stop> {
        self.kept = self.kept.saturating_add(n).saturating_add(KEPT_VALUE_COST);
        let max = self.limits.header_max_kept_bytes;
        if self.kept > max {
            let pos = self.pos;
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf header: the {what} at offset {pos} takes the keys, strings and tensor names kept past the {max}-byte limit"),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Parser<'_, R> {
    /// Charge a chat template of `len` bytes to the per-file template
    /// budget, `Limits::template_max_bytes` (and its entry to the kept
    /// budget).
    pub(super) fn keep_template(&mut self, len: u64) -> Result<(), Stop> {
        self.template_bytes = self.template_bytes.saturating_add(len);
        let max = self.limits.template_max_bytes;
        if self.template_bytes > max {
            let pos = self.pos;
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf header: the chat template at offset {pos} takes the file's templates past the {max}-byte limit"),
            ));
        }
        self.keep(0, "chat template")
    }
}

/// A metadata string too long to list, as `{"type":"string","bytes":N,
/// "sha256":…}` (the SHA-256 of its bytes), the way long arrays are listed.
pub(super) fn long_string_summary(len: u64, digest: &Sha256Digest) -> Json {
    let mut summary = Map::new();
    summary.insert("type".into(), Json::from("string"));
    summary.insert("bytes".into(), Json::from(len));
    summary.insert("sha256".into(), Json::from(digest.to_hex()));
    Json::Object(summary)
}
