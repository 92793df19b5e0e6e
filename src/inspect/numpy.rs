//! NumPy `.npy` arrays (and, through the zip reader, the `.npy` members of
//! `.npz` files): the header is read and, when the dtype holds Python
//! objects, the data — a pickle, which `numpy.load(allow_pickle=True)`
//! unpickles — is scanned like any pickle (docs/findings.md, "NumPy").
//!
//! Format (numpy `lib/format.py`): the magic `\x93NUMPY`, a major and minor
//! version byte, the header length (`u16` LE in version 1, `u32` LE in 2
//! and 3), then the header: a Python dict literal (`{'descr': '<f4',
//! 'fortran_order': False, 'shape': (3,), }`) padded with spaces and ended
//! by a newline. The array data follows.

use std::io::{self, Read};

use super::facts::{Finding, Format, ModelFacts};
use super::pickle;
use crate::limits::Limits;

/// The six bytes every `.npy` file starts with.
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// Longest header read. numpy refuses headers over 10,000 bytes unless
/// `allow_pickle` is set, when it reads any length; past this one lbom
/// stops (an error: it cannot say what the array holds).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Whether the first bytes are an `.npy` file's magic.
pub fn is_npy(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(NPY_MAGIC)
}

/// What an `.npy` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    /// The `descr` value as written (a type string or a list of fields).
    pub(crate) descr: String,
    /// Whether the dtype holds Python objects (type code `O`).
    pub(crate) objects: bool,
    /// Whether `descr` is one type string (not a list of fields).
    pub(crate) simple: bool,
}

/// Read the magic, version, length and header from `reader`, leaving it at
/// the array data. `Ok(Err(why))` for a malformed header; `Err` only for
/// errors of `reader` other than its end.
pub(crate) fn read_header<R: Read>(reader: &mut R) -> io::Result<Result<NpyHeader, String>> {
    let mut fixed = [0u8; 8];
    if let Err(e) = reader.read_exact(&mut fixed) {
        return eof_is_damage(e, "the file ends inside its magic and version");
    }
    if !is_npy(&fixed) {
        return Ok(Err("it does not start with the NPY magic".to_owned()));
    }
    let (major, minor) = (fixed[6], fixed[7]);
    let len = match major {
        1 => {
            let mut b = [0u8; 2];
            if let Err(e) = reader.read_exact(&mut b) {
                return eof_is_damage(e, "the file ends inside its header length");
            }
            u64::from(u16::from_le_bytes(b))
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            if let Err(e) = reader.read_exact(&mut b) {
                return eof_is_damage(e, "the file ends inside its header length");
            }
            u64::from(u32::from_le_bytes(b))
        }
        _ => {
            return Ok(Err(format!(
                "format version {major}.{minor} is not 1, 2 or 3"
            )));
        }
    };
    if len > MAX_HEADER_BYTES {
        return Ok(Err(format!(
            "its header declares {len} bytes, over lbom's {MAX_HEADER_BYTES}-byte limit"
        )));
    }
    let mut header = Vec::new();
    reader.take(len).read_to_end(&mut header)?;
    if (header.len() as u64) < len {
        return Ok(Err(format!("the file ends inside its {len}-byte header")));
    }
    // Versions 1 and 2 are latin-1, 3 UTF-8; the dict is ASCII either way.
    let text = String::from_utf8_lossy(&header);
    let Some(descr) = descr_value(&text) else {
        return Ok(Err("its header has no 'descr' entry".to_owned()));
    };
    let simple = !descr.trim_start().starts_with('[');
    Ok(Ok(NpyHeader {
        objects: quoted(descr).any(is_object_type),
        simple,
        descr: descr.to_owned(),
    }))
}

fn eof_is_damage(e: io::Error, what: &str) -> io::Result<Result<NpyHeader, String>> {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Ok(Err(what.to_owned()))
    } else {
        Err(e)
    }
}

/// The text of the `descr` value: a quoted string, or a bracketed list up to
/// its matching bracket (quotes respected).
fn descr_value(header: &str) -> Option<&str> {
    let key = ["'descr'", "\"descr\""]
        .iter()
        .filter_map(|k| header.find(k).map(|at| at + k.len()))
        .min()?;
    let rest = header
        .get(key..)?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                if depth == 0 {
                    return rest.get(..=i);
                }
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return rest.get(..=i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The quoted strings of a Python literal, without their quotes.
fn quoted(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find(['\'', '"'])?;
        let q = rest.get(start..start + 1)?;
        let after = rest.get(start + 1..)?;
        let end = after.find(q)?;
        let s = after.get(..end)?;
        rest = after.get(end + 1..)?;
        Some(s)
    })
}

/// A NumPy type string of the object type: `O`, `|O`, `<O8`, …
fn is_object_type(s: &str) -> bool {
    let s = s.strip_prefix(['<', '>', '|', '=']).unwrap_or(s);
    s.strip_prefix('O')
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

/// Inspect an `.npy` file read sequentially from byte 0. `Err` only for
/// I/O errors.
pub fn inspect<R: Read>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<ModelFacts> {
    let mut facts = ModelFacts::new(Format::Numpy, file_name, file_len);
    match read_header(reader)? {
        Err(why) => facts.push(Finding::error(
            "numpy.malformed",
            format!("npy file is malformed: {why}"),
        )),
        Ok(header) => {
            facts.dtype = Some(header.descr.clone());
            scan_objects(reader, &header, limits, &mut facts, "")?;
        }
    }
    Ok(facts)
}

/// After an object dtype's header: scan the pickle that holds the data.
/// A plain object dtype whose data does not start like a pickle is
/// malformed (numpy's loader fails on it); a list of fields one of which
/// merely mentions `O` is left alone when no pickle follows.
pub(crate) fn scan_objects<R: Read>(
    reader: &mut R,
    header: &NpyHeader,
    limits: &Limits,
    facts: &mut ModelFacts,
    place: &str,
) -> io::Result<()> {
    if !header.objects {
        return Ok(());
    }
    let mut head = Vec::with_capacity(64);
    reader.by_ref().take(64).read_to_end(&mut head)?;
    if pickle::is_pickle_start(&head) {
        let chained = io::Cursor::new(head).chain(reader);
        let place = format!("{place} (an object array's data)");
        pickle::scan_embedded(chained, None, limits, facts, &place)?;
    } else if header.simple {
        facts.push(Finding::error(
            "numpy.malformed",
            format!("npy{place}: an object array whose data is not a pickle"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(dict: &str, version: u8) -> Vec<u8> {
        let mut out = NPY_MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((dict.len() as u16).to_le_bytes());
        } else {
            out.extend((dict.len() as u32).to_le_bytes());
        }
        out.extend(dict.as_bytes());
        out
    }

    fn read(bytes: &[u8]) -> Result<NpyHeader, String> {
        read_header(&mut &bytes[..]).unwrap_or_else(|e| Err(e.to_string()))
    }

    #[test]
    fn object_dtypes_are_found_in_every_spelling() {
        for (descr, objects, simple) in [
            ("'<f4'", false, true),
            ("'|O'", true, true),
            ("'O'", true, true),
            ("\"|O8\"", true, true),
            ("'<i8'", false, true),
            ("[('a', '<f4'), ('b', '|O')]", true, false),
            ("[('a', '<f4'), ('b', [('c', 'O')])]", true, false),
            ("[('O', '<f4')]", true, false),
            ("[('x', '<f8', (2,))]", false, false),
        ] {
            for version in [1u8, 2, 3] {
                let dict =
                    format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,), }}\n");
                let h = read(&header(&dict, version));
                assert_eq!(
                    h.as_ref().map(|h| (h.objects, h.simple)),
                    Ok((objects, simple)),
                    "{descr} v{version}"
                );
            }
        }
        // Key order does not matter, nor the quote style of the key.
        let h = read(&header("{\"shape\": (1,), \"descr\": '|O'}", 1));
        assert_eq!(h.map(|h| h.objects), Ok(true));
    }

    #[test]
    fn damaged_headers_are_reported() {
        assert!(read(b"\x93NUMP").is_err());
        assert!(read(b"\x93NUMPY\x04\x00\x02\x00{}").is_err());
        let mut cut = header("{'descr': '<f4', 'shape': (3,), }", 1);
        cut.truncate(cut.len() - 3);
        assert!(read(&cut).is_err());
        assert!(read(&header("{'shape': (3,)}", 1)).is_err());
        let mut huge = NPY_MAGIC.to_vec();
        huge.extend([2, 0]);
        huge.extend(u32::MAX.to_le_bytes());
        assert!(read(&huge).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_headers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), version in 1u8..4) {
            let mut data = NPY_MAGIC.to_vec();
            data.extend([version, 0]);
            data.extend(bytes);
            let _ = read(&data);
            let facts = inspect(&mut &data[..], data.len() as u64, "x.npy", &Limits::default());
            proptest::prop_assert!(facts.is_ok());
        }
    }
}
