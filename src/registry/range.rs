//! Layers read where they are asked for: `GET /v2/REPO/blobs/DIGEST` with
//! `Range: bytes=OFFSET-` (RFC 9110 §14) for [`super::source`]
//! (docs/registry.md, "Pull and verify", step 5, and "Range requests").
//!
//! Measured on Debian's `docker-registry` (distribution 2.8.2, filesystem
//! storage): a blob GET with `Range` is answered `206 Partial Content`
//! with `Content-Range: bytes START-END/TOTAL` and exactly those bytes
//! (Go's `http.ServeContent`); a range past the end is `416`. With a
//! storage redirect (the `redirect` middleware, or S3 and other drivers
//! that hand out URLs) it answers `307` to the storage URL, and the range
//! goes there with the request: a store that honours it answers `206`, one
//! that does not (Python's `http.server`, some CDNs) `200` with the whole
//! blob. Both are read; a `206` for any other range than the one asked is
//! refused.

use std::io::{Read, Write};

use super::client::Client;
use super::error::RegistryError;
use super::source::BlobFetcher;
use crate::io::digest::Sha256Digest;

/// `Content-Range: bytes START-END/TOTAL` (`TOTAL` may be `*`), digits
/// only: `(START, END, TOTAL)`, `END` inclusive. Anything else is `None`.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (number(start)?, number(end)?);
    let total = match total {
        "*" => None,
        t => Some(number(t)?),
    };
    (start <= end && total.is_none_or(|t| end < t)).then_some((start, end, total))
}

/// Whether a `206`'s `Content-Range` is the rest of a `size`-byte blob
/// from `offset`.
fn is_rest_from(content_range: Option<&str>, offset: u64, size: u64) -> bool {
    let last = size.saturating_sub(1);
    matches!(
        content_range.and_then(parse_content_range),
        Some((start, end, total)) if start == offset && end == last && total.is_none_or(|t| t == size)
    )
}

impl BlobFetcher for Client {
    fn open_at(
        &self,
        digest: &Sha256Digest,
        size: u64,
        offset: u64,
    ) -> Result<(Box<dyn Read + Send>, u64), RegistryError> {
        let range = format!("bytes={offset}-");
        let headers: &[(&str, &str)] = if offset == 0 {
            &[]
        } else {
            &[("Range", range.as_str())]
        };
        let answer = self.get_blob(digest, headers)?;
        match answer.status {
            200 => Ok((Box::new(answer.body.into_reader()), 0)),
            206 if is_rest_from(answer.content_range.as_deref(), offset, size) => {
                Ok((Box::new(answer.body.into_reader()), offset))
            }
            206 => Err(RegistryError::Digest {
                what: format!("blob sha256:{} read from byte {offset}", digest.to_hex()),
                want: format!("bytes {offset}-{}/{size}", size.saturating_sub(1)),
                got: format!(
                    "Content-Range {}",
                    crate::safe::visible(answer.content_range.as_deref().unwrap_or("(none)"))
                ),
            }),
            _ => Err(answer.unexpected()),
        }
    }

    fn fetch_whole(
        &self,
        digest: &Sha256Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError> {
        self.fetch_blob(digest, size, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_read_strictly() {
        assert_eq!(
            parse_content_range("bytes 1000-1999/100000"),
            Some((1000, 1999, Some(100_000)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
        for bad in [
            "",
            "bytes",
            "bytes 1-2",
            "bytes */100",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bytes +1-2/10",
            "bytes 1- 2/10",
            " bytes 1-2/10",
            "items 1-2/10",
            "bytes 1-2/10/11",
            "bytes 99999999999999999999-1/2",
            "bytes -1-2/10",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
        assert!(is_rest_from(Some("bytes 10-99/100"), 10, 100));
        assert!(is_rest_from(Some("bytes 10-99/*"), 10, 100));
        // Another start, another end, another total, or none at all.
        assert!(!is_rest_from(Some("bytes 0-99/100"), 10, 100));
        assert!(!is_rest_from(Some("bytes 10-98/100"), 10, 100));
        assert!(!is_rest_from(Some("bytes 10-99/101"), 10, 100));
        assert!(!is_rest_from(None, 10, 100));
    }
}
