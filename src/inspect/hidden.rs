//! Bytes a model file's own structure does not account for (a GGUF file's
//! padding, gaps, tail and the bytes of tensors of unknown type), read and
//! searched for another format's content: a pickle, an archive, an
//! executable, another model file. Such a file is a polyglot: the model
//! loader ignores those bytes, and a second loader or a dropper pointed at
//! the same file reads them (docs/findings.md, "Bytes no tensor claims").
//!
//! Real writers (ggml, gguf-py) fill padding with zeros, so in a clean file
//! every byte searched here is zero and the search costs a comparison per
//! byte. Bounds: at most [`MAX_UNCLAIMED_BYTES`] are read and searched
//! per file; a file with more unclaimed bytes gets an error saying they were
//! not all searched (fail closed). Pickle candidates are walked, never
//! unpickled, at most [`MAX_PROBE_BYTES`] each and [`MAX_PROBE_TOTAL`] per
//! file.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::SeekRead;
use super::facts::Finding;
use super::pickle::{self, ProbeEnd};

/// Most unclaimed bytes read and searched per file. Zero padding of a
/// 4096-aligned GGUF of a thousand tensors is under 4 MiB.
pub const MAX_UNCLAIMED_BYTES: u64 = 16 << 20;
/// Most bytes one pickle candidate is walked.
const MAX_PROBE_BYTES: u64 = 1 << 20;
/// Most bytes all failed pickle candidates of one file are walked together
/// (junk shaped so that every offset parses a while must not make the
/// search quadratic).
const MAX_PROBE_TOTAL: u64 = 64 << 20;
/// Most findings of hidden content listed per file.
const MAX_HITS: usize = 8;

/// Magic numbers of formats that have no place inside another model file.
/// Three bytes or more, so as not to occur by chance in the few non-zero
/// bytes a clean file leaves unclaimed; bzip2's is checked apart
/// ([`is_bzip2`]).
const SIGNATURES: &[(&[u8], &str)] = &[
    (
        b"PK\x03\x04",
        "a zip archive (local file header; a torch.save file is one)",
    ),
    (b"PK\x01\x02", "a zip archive (central directory)"),
    (b"PK\x05\x06", "a zip archive (end of central directory)"),
    (b"PK\x06\x06", "a zip64 archive (end of central directory)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\x93NUMPY", "a NumPy array file"),
    (b"\x1f\x8b\x08", "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (
        b"\xca\xfe\xba\xbe",
        "a Mach-O universal binary or Java class",
    ),
    (b"GGUF", "a GGUF file"),
    (b"#!/", "a script (#! line)"),
    (b"ustar", "a tar archive"),
];

/// `BZh`, a block size digit, then the first block's magic (π in BCD).
pub(crate) fn is_bzip2(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BZh")
        && bytes.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        && bytes.get(4..10) == Some(b"1AY&SY".as_slice())
}

/// Something found in unclaimed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// File offset where it starts.
    pub at: u64,
    /// What it is, for the message.
    pub what: String,
}

/// Unclaimed bytes read from one file.
#[derive(Debug, Default)]
pub struct Unclaimed {
    /// `(file offset, bytes)` of each range read, in file order.
    pub segments: Vec<(u64, Vec<u8>)>,
    /// Bytes in the ranges that were not read (over [`MAX_UNCLAIMED_BYTES`]).
    pub skipped: u64,
}

/// Read the unclaimed `ranges` (sorted, disjoint) from `stream`, positioned
/// at file offset `pos` and reading forward (what is skipped passes through
/// the stream's hasher like any read), or with `random_access` when given.
pub fn read_ranges<R: BufRead>(
    ranges: &[(u64, u64)],
    stream: &mut R,
    mut pos: u64,
    random_access: Option<&mut dyn SeekRead>,
) -> io::Result<Unclaimed> {
    let mut out = Unclaimed::default();
    let mut budget = MAX_UNCLAIMED_BYTES;
    let mut random = random_access;
    let mut scratch = Vec::new();
    for &(start, end) in ranges {
        let len = end.saturating_sub(start);
        let take = len.min(budget);
        budget -= take;
        out.skipped = out.skipped.saturating_add(len - take);
        if take == 0 {
            continue;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(take).unwrap_or(0));
        match random.as_mut() {
            Some(file) => {
                file.seek(SeekFrom::Start(start))?;
                file.take(take).read_to_end(&mut bytes)?;
            }
            None => {
                if start < pos {
                    // Ranges start at or after the header's end, where the
                    // stream is; never rewound.
                    continue;
                }
                skip(stream, start - pos, &mut scratch)?;
                stream.take(take).read_to_end(&mut bytes)?;
                pos = start + bytes.len() as u64;
            }
        }
        out.segments.push((start, bytes));
    }
    Ok(out)
}

/// Read and drop `n` bytes (tensor data, on the way to the next range).
/// Long skips go through a 1 MiB buffer, which a `BufReader` passes
/// straight to the file, so tensor data is read in large reads as the
/// digest's own drain would.
fn skip<R: BufRead>(stream: &mut R, n: u64, scratch: &mut Vec<u8>) -> io::Result<()> {
    let mut left = n;
    while left > 0 {
        let buffered = stream.fill_buf()?.len();
        if buffered == 0 {
            return Ok(());
        }
        if buffered as u64 >= left || left < 64 << 10 {
            let k = usize::try_from(left).unwrap_or(usize::MAX).min(buffered);
            stream.consume(k);
            left -= k as u64;
            continue;
        }
        stream.consume(buffered);
        left -= buffered as u64;
        if scratch.is_empty() {
            scratch.resize(crate::io::digest::READ_BUFFER_BYTES, 0);
        }
        while left >= scratch.len() as u64 {
            match stream.read(scratch) {
                Ok(0) => return Ok(()),
                Ok(k) => left -= k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Search the segments for pickles and for [`SIGNATURES`]. `Err` carries
/// the hits found before the walking budget ran out.
pub fn search(unclaimed: &Unclaimed) -> Result<Vec<Hit>, Vec<Hit>> {
    search_within(unclaimed, MAX_PROBE_TOTAL)
}

fn search_within(unclaimed: &Unclaimed, probe_total: u64) -> Result<Vec<Hit>, Vec<Hit>> {
    let mut hits = Vec::new();
    let mut probed = 0u64;
    for (base, bytes) in &unclaimed.segments {
        let mut i = 0usize;
        while let Some(rest) = bytes.get(i..).filter(|r| !r.is_empty()) {
            if hits.len() >= MAX_HITS {
                return Ok(hits);
            }
            // Zero padding, the common case: nothing starts with 0x00.
            if rest.first() == Some(&0) {
                i += 1;
                continue;
            }
            let at = base.saturating_add(i as u64);
            if let Some((_, what)) = SIGNATURES.iter().find(|(magic, _)| rest.starts_with(magic)) {
                hits.push(Hit {
                    at,
                    what: (*what).to_owned(),
                });
            } else if is_bzip2(rest) {
                hits.push(Hit {
                    at,
                    what: "bzip2-compressed data".to_owned(),
                });
            }
            let mut step = 1usize;
            if pickle::is_pickle_start(rest) {
                if probed >= probe_total {
                    return Err(hits);
                }
                let found = pickle::probe(rest, MAX_PROBE_BYTES);
                if is_hidden_pickle(&found) {
                    let cut = if found.end == ProbeEnd::Complete {
                        ""
                    } else {
                        ", not a complete one"
                    };
                    hits.push(Hit {
                        at,
                        what: format!("{}{cut}", pickle_text(&found.imports)),
                    });
                    step = usize::try_from(found.len).unwrap_or(usize::MAX).max(1);
                } else {
                    probed = probed.saturating_add(found.len);
                }
            }
            i = i.saturating_add(step);
        }
    }
    Ok(hits)
}

/// Whether a walked candidate is a pickle rather than junk that starts
/// like one: it imports a callable (a loader has run it by the time the
/// walk stopped, whatever follows), or it is a whole pickle of 16 bytes or
/// more, or it parses for [`MIN_UNFINISHED_BYTES`] without an error.
fn is_hidden_pickle(found: &pickle::Probe) -> bool {
    !found.imports.is_empty()
        || match found.end {
            ProbeEnd::Complete => found.len >= 16,
            ProbeEnd::Unfinished => found.len >= MIN_UNFINISHED_BYTES,
            ProbeEnd::Malformed => false,
        }
}

/// Bytes of valid pickle opcodes that make a stream a pickle even when it
/// ends (or the walk stops) before STOP.
const MIN_UNFINISHED_BYTES: u64 = 4096;

fn pickle_text(imports: &[String]) -> String {
    if imports.is_empty() {
        "a pickle".to_owned()
    } else {
        let mut shown: Vec<&str> = imports.iter().map(String::as_str).take(5).collect();
        if imports.len() > 5 {
            shown.push("…");
        }
        format!(
            "a pickle importing {} (loading it runs them)",
            shown.join(", ")
        )
    }
}

/// Findings for what [`search`] found, under `code`; `limit_code` when not
/// every unclaimed byte was searched. `where_` names the bytes ("bytes no
/// tensor claims").
pub fn findings(
    unclaimed: &Unclaimed,
    outcome: Result<Vec<Hit>, Vec<Hit>>,
    code: &str,
    limit_code: &str,
    where_: &str,
) -> Vec<Finding> {
    let (hits, walked_out) = match outcome {
        Ok(h) => (h, false),
        Err(h) => (h, true),
    };
    let mut out: Vec<Finding> = hits
        .iter()
        .map(|h| {
            Finding::error(
                code,
                format!("{where_} at file offset {} hold {}", h.at, h.what),
            )
        })
        .collect();
    if unclaimed.skipped > 0 || walked_out {
        let why = if walked_out {
            format!("pickle-like bytes there took more than {MAX_PROBE_TOTAL} bytes of walking")
        } else {
            format!(
                "{} of them are past the {MAX_UNCLAIMED_BYTES}-byte limit",
                unclaimed.skipped
            )
        };
        out.push(Finding::error(
            limit_code,
            format!("{where_} were not all searched for hidden content: {why}"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(base: u64, bytes: &[u8]) -> Unclaimed {
        Unclaimed {
            segments: vec![(base, bytes.to_vec())],
            skipped: 0,
        }
    }

    #[test]
    fn zeros_hold_nothing() {
        assert_eq!(search(&one(0, &[0; 100_000])), Ok(vec![]));
    }

    #[test]
    fn every_signature_is_found_at_any_offset() {
        for (magic, what) in SIGNATURES {
            for pad in [0usize, 1, 7, 4095] {
                let mut bytes = vec![0u8; pad];
                bytes.extend_from_slice(magic);
                bytes.extend_from_slice(&[0; 16]);
                let hits = search(&one(100, &bytes));
                assert_eq!(
                    hits.as_ref()
                        .map(|h| h.first().map(|h| (h.at, h.what.as_str()))),
                    Ok(Some((100 + pad as u64, *what))),
                    "{what} after {pad} zeros"
                );
            }
        }
    }

    #[test]
    fn a_pickle_is_found_with_its_imports_and_junk_is_not_a_pickle() {
        // protocol 2: GLOBAL 'posix system', a string, TUPLE1, REDUCE, STOP.
        let pickle = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.";
        let mut bytes = vec![0u8; 33];
        bytes.extend_from_slice(pickle);
        let hits = search(&one(0, &bytes)).unwrap_or_default();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(
            hits.iter()
                .all(|h| h.at == 33 && h.what.contains("posix.system"))
        );
        // Bytes that start like a pickle and break are not one.
        assert_eq!(search(&one(0, b"\x80\x02\xff\xff\xff\xff")), Ok(vec![]));
        assert_eq!(search(&one(0, b"catalogue of nothing")), Ok(vec![]));
    }

    #[test]
    fn walking_is_bounded() {
        // Every offset of each block starts protocol-0 lists that break at
        // the block's end, under the length that makes them a pickle: the
        // walks are quadratic, so the total budget must stop the search.
        let mut block = b"(l".repeat(2000);
        block.push(0xff);
        let bytes = block.repeat(40);
        let outcome = search_within(&one(0, &bytes), 4 << 20);
        assert!(outcome.is_err());
        let f = findings(&one(0, &[]), outcome, "x.hidden", "x.unscanned", "bytes");
        assert!(f.iter().any(|f| f.code == "x.unscanned"));
    }

    #[test]
    fn ranges_are_read_from_a_stream_or_by_seeking() -> io::Result<()> {
        // Short skips, and long ones past the stream's buffer.
        let file: Vec<u8> = (0..=250u8).cycle().take(5 << 20).collect();
        let ranges = [
            (100u64, 110u64),
            (5000, 5004),
            (9990, 10_000),
            (3 << 20, (3 << 20) + 77),
            ((5 << 20) - 10, 5 << 20),
        ];
        let expect: Vec<(u64, Vec<u8>)> = ranges
            .iter()
            .map(|&(s, e)| {
                (
                    s,
                    file.get(s as usize..e as usize)
                        .unwrap_or_default()
                        .to_vec(),
                )
            })
            .collect();
        let mut stream = io::BufReader::new(file.get(50..).unwrap_or_default());
        let got = read_ranges(&ranges, &mut stream, 50, None)?;
        assert_eq!(got.segments, expect);
        let mut cursor = io::Cursor::new(file.clone());
        let mut stream = io::BufReader::new(&b""[..]);
        let got = read_ranges(&ranges, &mut stream, 0, Some(&mut cursor))?;
        assert_eq!(got.segments, expect);
        Ok(())
    }
}
