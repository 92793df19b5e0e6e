//! Appending a signed link to a bundle's chain (`lbom sign`, and `pack
//! --key` for link 1).
//!
//! docs/bundle-format.md, "Appending a link": take an exclusive lock on the
//! bundle; walk it; write the new tail — link header, envelope, padding,
//! new end-of-archive marker — at the old end-marker offset in one write;
//! fsync. Bytes before the old end marker never change. If a previous
//! append was interrupted, the incomplete tail it left is cut off first.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::chain::{self, LinkInfo, LinkPredicate, PreviousLink};
use super::{BundlePath, Error, ReadLimits, layout, read, tar};
use crate::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO, Signature};
use crate::io::lock::ExclusiveLock;
use crate::sign::SigningKey;

/// Options of one signature.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The signer's role (`maintainer`, `transfer`, …).
    pub role: String,
    /// Optional note.
    pub note: Option<String>,
    /// Signing time; default now.
    pub time: Option<jiff::Timestamp>,
}

/// What `sign` did.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The new link, as written.
    pub link: LinkInfo,
    /// Bundle size afterwards.
    pub bundle_bytes: u64,
    /// When an interrupted earlier append was repaired: the offset the file
    /// was cut at.
    pub repaired_at: Option<u64>,
}

/// `lbom sign`: append one link, signed with `key`, to the chain of the
/// bundle at `path`.
pub fn sign(path: &Path, key: &SigningKey, options: &SignOptions) -> Result<Signed, Error> {
    chain::check_role_and_note(&options.role, options.note.as_deref()).map_err(Error::Option)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let opened_file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let Some(mut file) = ExclusiveLock::try_new(opened_file).map_err(io)? else {
        return Err(Error::Locked {
            path: path.to_path_buf(),
        });
    };
    let limits = ReadLimits::default();
    let file_len = file.metadata().map_err(io)?.len();
    let (opened, repaired_at) = open_or_repair(path, &mut file, file_len, &limits)?;
    let (name, bytes, tail) = link_tail(path, &opened, key, options)?;

    // One positioned write of the whole tail, then fsync: a crash leaves the
    // old bundle (with a torn tail that the next sign cuts off) or the new one.
    // The marker first (`super::marker`): if this append is interrupted,
    // the next sign and every reader tell its torn tail from a truncated
    // copy, and the next sign cuts exactly what this one wrote.
    let at = opened.layout.end_offset;
    let marker_io = |source| Error::Io {
        path: super::marker::marker_path(path),
        source,
    };
    super::marker::write_marker(path, at).map_err(marker_io)?;
    file.seek(SeekFrom::Start(at)).map_err(io)?;
    file.write_all(&tail).map_err(io)?;
    let new_len = at.saturating_add(tail.len() as u64);
    file.sync_all().map_err(io)?;
    super::marker::remove_marker(path).map_err(marker_io)?;
    let (_, info) =
        chain::parse_link(name.as_str(), &bytes).map_err(|e| Error::Option(e.to_string()))?;
    Ok(Signed {
        link: info,
        bundle_bytes: new_len,
        repaired_at,
    })
}

/// The next link of the chain of `opened`, signed with `key`: its entry
/// name, its envelope's bytes, and the tail an append writes at the old
/// end marker (the link's entry and a new end marker).
fn link_tail(
    path: &Path,
    opened: &read::OpenBundle,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<(BundlePath, Vec<u8>, Vec<u8>), Error> {
    // A link no reader would accept is never written (docs/bundle-format.md,
    // "Reader limits").
    let limits = ReadLimits::default();
    let most = limits.max_links.min(layout::MAX_LINKS as usize);
    if opened.links.len() >= most {
        return Err(Error::Option(format!(
            "the chain already holds {most} links, the most a reader accepts"
        )));
    }
    let index = u32::try_from(opened.links.len() + 1).unwrap_or(u32::MAX);
    let previous = opened.links.last().map(|(entry, info)| PreviousLink {
        path: entry.name.to_string(),
        sha256: info.entry_sha256,
    });
    let time = options.time.unwrap_or_else(jiff::Timestamp::now);
    let predicate = LinkPredicate {
        index,
        role: options.role.clone(),
        keyid: key.key_id(),
        time: super::manifest::format_time(
            jiff::Timestamp::from_second(time.as_second()).unwrap_or(time),
        ),
        note: options.note.clone(),
        previous,
    };
    let payload = chain::link_payload(&opened.manifest_sha256, &predicate);
    let mut envelope = Envelope::new(PAYLOAD_TYPE_IN_TOTO, payload);
    let sig = key.sign(&envelope.pae());
    envelope.signatures.push(Signature {
        keyid: key.key_id().to_string(),
        sig,
    });
    let bytes = envelope.encode();
    let name = BundlePath::new(&layout::link_name(index)).map_err(|source| Error::InputName {
        path: path.to_path_buf(),
        source,
    })?;
    let tail = tar::entry_with_end_marker(&name, &bytes).map_err(|source| Error::Tar {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((name, bytes, tail))
}

/// [`sign`] of a bundle nobody else can see yet, wherever it is being
/// written (`pack --key` into a file or a part set's span: `pack --split`,
/// docs/bundle-format.md section 13): no lock and no marker, for a crash
/// leaves an output that is not finished anyway (a temporary file, or
/// parts without an index). `path` names the bundle in errors.
pub(crate) fn sign_unshared(
    out: &crate::io::out::Out,
    path: &Path,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<Signed, Error> {
    use std::os::unix::fs::FileExt as _;
    chain::check_role_and_note(&options.role, options.note.as_deref()).map_err(Error::Option)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_len = out.byte_len().map_err(io)?;
    let mut cursor = out.try_clone().map_err(io)?.cursor(0);
    let opened = read::open_from(path, &mut cursor, file_len, &ReadLimits::default())?;
    let (name, bytes, tail) = link_tail(path, &opened, key, options)?;
    let at = opened.layout.end_offset;
    out.write_all_at(&tail, at).map_err(io)?;
    let new_len = at.saturating_add(tail.len() as u64);
    out.set_len(new_len).map_err(io)?;
    out.sync_all().map_err(io)?;
    let (_, info) =
        chain::parse_link(name.as_str(), &bytes).map_err(|e| Error::Option(e.to_string()))?;
    Ok(Signed {
        link: info,
        bundle_bytes: new_len,
        repaired_at: None,
    })
}

/// Open the bundle; if it ends with the torn tail of an interrupted append,
/// cut the tail off where that append's marker says it started
/// (`super::marker`), and only there: after the manifest and every
/// complete link. Without a marker the damage is a copy cut short, which no
/// cut repairs: it is refused, and nothing is removed.
fn open_or_repair(
    path: &Path,
    file: &mut File,
    file_len: u64,
    limits: &ReadLimits,
) -> Result<(read::OpenBundle, Option<u64>), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let (entries, outcome) = tar::walk_entries(file, file_len, limits);
    let damage = match outcome {
        Ok(end_offset) => {
            let layout = tar::TarLayout {
                entries,
                end_offset,
            };
            return Ok((
                read::open_layout(path, file, file_len, layout, limits)?,
                None,
            ));
        }
        Err(e) => e,
    };
    let after_manifest =
        |entries: &[tar::TarEntry]| entries.iter().any(|e| e.name.as_str() == layout::MANIFEST);
    let started = super::marker::read_marker(path).filter(|&m| m < file_len);
    let Some(cut) = started.filter(|_| damage.incomplete_tail_offset().is_some()) else {
        let manifest_seen = after_manifest(&entries);
        return Err(read::tar_error(path, damage, manifest_seen));
    };
    // What the interrupted append wrote starts at `cut`: the entries
    // before it were complete before it began.
    let mut entries = entries;
    entries.retain(|e| e.header_offset < cut);
    let at_end = entries.last().map_or(0, tar::TarEntry::end_offset);
    if !after_manifest(&entries) || cut != at_end {
        return Err(read::tar_error(path, damage, false));
    }
    let layout = tar::TarLayout {
        entries,
        end_offset: cut,
    };
    let opened = read::open_layout(path, file, file_len, layout, limits)?;
    file.set_len(cut).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok((opened, Some(cut)))
}
