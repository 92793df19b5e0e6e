//! `lbom repair` (missing and damaged parts rebuilt from parity, each
//! checked against the index before it is kept) and `lbom join` (the
//! bundle written as one file, checked against the index's digest).

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use super::check::{PartKind, PartState, PartsReport};
use super::cut::{medium_dir, write_new};
use super::index::PartIndex;
use super::reader::PartReader;
use super::progress::{MediaProgress, NoMediaProgress};
use super::{Error, io_err, parity};
use crate::io::digest::Hasher;
use crate::io::source::BundleSource;

/// The parts `repair` rebuilt, each with the folder it wrote.
#[derive(Debug)]
pub struct Repaired {
    /// (file name, medium folder) of each rebuilt part.
    pub parts: Vec<(String, PathBuf)>,
}

/// Rebuild every missing or damaged part of the set `report` found into
/// medium folders under `out` (with a copy of the index each).
pub fn repair(report: &PartsReport, out: &Path) -> Result<Repaired, Error> {
    repair_with(report, out, &NoMediaProgress)
}

/// [`repair`], telling `progress` how far each rebuilt part is written
/// (its media: the rebuilt parts, in the report's order).
pub fn repair_with(
    report: &PartsReport,
    out: &Path,
    progress: &dyn MediaProgress,
) -> Result<Repaired, Error> {
    let reader = PartReader::from_report(report)?;
    let index = reader.index();
    let bad: Vec<(PartKind, usize)> = report
        .parts
        .iter()
        .filter(|p| p.state != PartState::Present)
        .map(|p| (p.kind, p.number as usize))
        .collect();
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let mut outputs = Vec::new();
    for (kind, number) in &bad {
        let (n, file_name) = match kind {
            PartKind::Data => (*number, index.data_file_name(*number as u32)),
            PartKind::Parity => (
                index.parts.len() + number,
                index.parity_file_name(*number as u32),
            ),
        };
        let dir = medium_dir(out, n);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(&file_name);
        write_new(&path, &[])?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        outputs.push((*kind, *number, file, path, dir, file_name, Hasher::new()));
    }
    let media = rebuilt_media(report, index);
    progress.media(&media);
    let mut shards = vec![Vec::new(); index.parts.len()];
    let any_parity = bad.iter().any(|(k, _)| *k == PartKind::Parity);
    for t in 0..parity::stripe_count(index) {
        let (start, _) = parity::stripe_range(index, t);
        for (k, shard) in shards.iter_mut().enumerate() {
            parity::data_shard(index, &reader, k, t, shard).map_err(io_err(out))?;
        }
        let recovery = if any_parity {
            parity::encode(&shards, index.parity.len()).map_err(Error::Option)?
        } else {
            Vec::new()
        };
        for (i, (kind, number, file, path, _, _, hasher)) in outputs.iter_mut().enumerate() {
            let at = *number - 1;
            let bytes: &[u8] = match kind {
                PartKind::Data => {
                    let size = index.parts.get(at).map_or(0, |p| p.size);
                    let keep = size.saturating_sub(start) as usize;
                    let shard = shards.get(at).map(Vec::as_slice).unwrap_or_default();
                    shard.get(..keep.min(shard.len())).unwrap_or_default()
                }
                PartKind::Parity => recovery.get(at).map(Vec::as_slice).unwrap_or_default(),
            };
            hasher.update(bytes);
            file.write_all_at(bytes, start).map_err(io_err(path))?;
            progress.advance(i, bytes.len() as u64);
        }
    }
    let mut parts = Vec::new();
    for (kind, number, file, path, dir, file_name, hasher) in outputs {
        file.sync_all().map_err(io_err(&path))?;
        let entry = match kind {
            PartKind::Data => index.parts.get(number - 1),
            PartKind::Parity => index.parity.get(number - 1),
        };
        let good = entry.is_some_and(|e| e.size == hasher.bytes() && e.sha256 == hasher.finish());
        if !good {
            let _ = std::fs::remove_file(&path);
            return Err(Error::Damaged {
                name: index.name.clone(),
                what: format!(
                    "{file_name} rebuilt from parity does not match the index: the parity parts do not match the data"
                ),
            });
        }
        let copy = dir.join(PartIndex::index_file_name(&index.name));
        if !copy.exists() {
            write_new(&copy, &report.index_bytes)?;
        }
        parts.push((file_name, dir));
    }
    Ok(Repaired { parts })
}

/// The parts `repair` rebuilds, as media for the progress bars: each one's
/// file name and size.
fn rebuilt_media(report: &PartsReport, index: &PartIndex) -> Vec<(String, u64)> {
    report
        .parts
        .iter()
        .filter(|p| p.state != PartState::Present)
        .map(|p| {
            let entries = match p.kind {
                PartKind::Data => &index.parts,
                PartKind::Parity => &index.parity,
            };
            let size = entries
                .get((p.number as usize).saturating_sub(1))
                .map_or(0, |e| e.size);
            (p.file_name.clone(), size)
        })
        .collect()
}

/// Write the bundle of the set `report` found to `out` (a new file),
/// rebuilding stripes on the fly, and check it against the index's digest.
pub fn join(report: &PartsReport, out: &Path) -> Result<(), Error> {
    join_with(report, out, &NoMediaProgress)
}

/// [`join`], telling `progress` how far each data part is read (its
/// media: the data parts, in order).
pub fn join_with(
    report: &PartsReport,
    out: &Path,
    progress: &dyn MediaProgress,
) -> Result<(), Error> {
    let reader = PartReader::from_report(report)?;
    let index = reader.index();
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::OutputExists {
                path: out.to_path_buf(),
            },
            _ => Error::Io {
                path: out.to_path_buf(),
                source,
            },
        })?;
    let media: Vec<(String, u64)> = index
        .parts
        .iter()
        .map(|p| (index.data_file_name(p.number), p.size))
        .collect();
    progress.media(&media);
    let result = copy_checked(&reader, index, &mut file, out, progress);
    if result.is_err() {
        drop(file);
        let _ = std::fs::remove_file(out);
    }
    result
}

fn copy_checked(
    reader: &PartReader,
    index: &PartIndex,
    file: &mut File,
    out: &Path,
    progress: &dyn MediaProgress,
) -> Result<(), Error> {
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    while offset < reader.len() {
        let n = reader.read_at(&mut buf, offset).map_err(io_err(out))?;
        if n == 0 {
            return Err(Error::Damaged {
                name: index.name.clone(),
                what: "the parts end before the bundle's size".into(),
            });
        }
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        file.write_all(chunk).map_err(io_err(out))?;
        // A read never crosses a part's end (`PartReader`): one medium.
        let part = offset / index.part_size.max(1);
        progress.advance(usize::try_from(part).unwrap_or(usize::MAX), n as u64);
        offset += n as u64;
    }
    file.sync_all().map_err(io_err(out))?;
    if hasher.finish() != index.bundle_sha256 {
        return Err(Error::Damaged {
            name: index.name.clone(),
            what: "the joined bundle's SHA-256 is not the index's: the parity parts do not match the data".into(),
        });
    }
    Ok(())
}
