//! `lbom verify-parts`: which index the paths hold and trust, and each
//! part present, missing, damaged or foreign (docs/bundle-format.md,
//! section 13, "Checking a part set"). Read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Error;
use super::find::{self, Named};
use super::index::{PartEntry, PartIndex, Trust};
use crate::io::digest::{Hasher, Sha256Digest};

/// A part's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    /// A file of the right size and digest.
    Present,
    /// No file of its name among the paths.
    Missing,
    /// Files of its name, none of the right size and digest.
    Damaged,
}

/// Data or parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// Bytes of the bundle.
    Data,
    /// Reed–Solomon parity.
    Parity,
}

/// One part of the index, as found.
#[derive(Debug, Clone, Serialize)]
pub struct PartStatus {
    /// Data or parity.
    pub kind: PartKind,
    /// Its number.
    pub number: u32,
    /// Its file name.
    pub file_name: String,
    /// What was found.
    pub state: PartState,
    /// The good file (present), or the files that did not match (damaged).
    pub paths: Vec<PathBuf>,
    /// Why a damaged part's files did not match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// A file of a part-set name that is not of this set.
#[derive(Debug, Clone, Serialize)]
pub struct Foreign {
    /// The file.
    pub path: PathBuf,
    /// Why it is not of this set.
    pub why: String,
}

/// Whether the set can give the bundle back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum SetVerdict {
    /// Every part present.
    Complete,
    /// Parts are missing or damaged, and parity can rebuild them.
    Repairable,
    /// Too few parts to rebuild the rest: at least `need` of `parts` must
    /// be copied again.
    CopyAgain {
        /// How many more parts are needed.
        need: usize,
        /// The missing and damaged parts.
        parts: Vec<String>,
    },
}

/// What `verify-parts` found.
#[derive(Debug, Clone, Serialize)]
pub struct PartsReport {
    /// The set's name.
    pub name: String,
    /// The bundle's size and digest.
    pub bundle_size: u64,
    /// The bundle's SHA-256.
    pub bundle_sha256: Sha256Digest,
    /// The manifest digest the bundle's chain signs.
    pub manifest_sha256: Sha256Digest,
    /// Who signed the index, and as what.
    pub signer: String,
    /// The role claimed.
    pub role: String,
    /// Every part of the index, data then parity.
    pub parts: Vec<PartStatus>,
    /// Files of other sets.
    pub foreign: Vec<Foreign>,
    /// The verdict.
    pub verdict: SetVerdict,
    /// The index itself.
    #[serde(skip)]
    pub index: PartIndex,
    /// The index file's exact bytes (for copies `repair` writes).
    #[serde(skip)]
    pub index_bytes: Vec<u8>,
}

impl PartsReport {
    /// The class of a set that is not complete: damaged parts make it
    /// integrity, missing ones I/O ([B71]).
    pub fn class(&self) -> Option<crate::Class> {
        let any = |s: PartState| self.parts.iter().any(|p| p.state == s);
        if any(PartState::Damaged) {
            Some(crate::Class::Integrity)
        } else if any(PartState::Missing) {
            Some(crate::Class::Io)
        } else {
            None
        }
    }

    /// The good file of data part `k` (0-based), if present.
    pub fn data_path(&self, k: usize) -> Option<&Path> {
        self.good(PartKind::Data, k)
    }

    /// The good file of parity part `j` (0-based), if present.
    pub fn parity_path(&self, j: usize) -> Option<&Path> {
        self.good(PartKind::Parity, j)
    }

    fn good(&self, kind: PartKind, i: usize) -> Option<&Path> {
        self.parts
            .iter()
            .filter(|p| p.kind == kind)
            .nth(i)
            .filter(|p| p.state == PartState::Present)
            .and_then(|p| p.paths.first())
            .map(PathBuf::as_path)
    }
}

/// The one trusted index among `found`, and the files of other sets.
pub(crate) fn select_index(
    found: &[(PathBuf, Named)],
    trust: &dyn Trust,
) -> Result<(PartIndex, Vec<u8>), Error> {
    let mut trusted: BTreeMap<Vec<u8>, PartIndex> = BTreeMap::new();
    let mut untrusted = Vec::new();
    let mut malformed = None;
    for (path, named) in found {
        if !matches!(named, Named::Index(_)) {
            continue;
        }
        match PartIndex::read(path) {
            Ok((index, envelope)) if index.is_trusted(&envelope, trust) => {
                trusted.insert(envelope.encode(), index);
            }
            Ok((index, _)) => untrusted.push(format!(
                "{} signed by key {} as {}",
                path.display(),
                index.keyid,
                index.role
            )),
            Err(Error::Untrusted { what }) => untrusted.push(what),
            Err(e @ Error::MalformedIndex { .. }) => malformed = malformed.or(Some(e)),
            Err(e) => return Err(e),
        }
    }
    let mut sets = trusted.into_iter();
    match (sets.next(), sets.next()) {
        (Some((bytes, index)), None) => Ok((index, bytes)),
        (Some((_, a)), Some((_, b))) => Err(Error::Ambiguous {
            what: format!("trusted part indexes of {} and {}", a.name, b.name),
        }),
        (None, _) if !untrusted.is_empty() => Err(Error::Untrusted {
            what: untrusted.join("; "),
        }),
        (None, _) => Err(malformed.unwrap_or(Error::NoIndex)),
    }
}

/// Check the part set under `paths` against the one trusted index there.
pub fn verify_parts(paths: &[PathBuf], trust: &dyn Trust) -> Result<PartsReport, Error> {
    verify_parts_with(paths, trust, &super::progress::NoMediaProgress)
}

/// [`verify_parts`], telling `progress` how far each medium's part is read
/// (the media are read in parallel: separate drives read at once).
pub fn verify_parts_with(
    paths: &[PathBuf],
    trust: &dyn Trust,
    progress: &dyn super::progress::MediaProgress,
) -> Result<PartsReport, Error> {
    let found = find::find(paths)?;
    let (index, bytes) = select_index(&found, trust)?;
    let mut foreign = Vec::new();
    let mut data_files: BTreeMap<u32, Vec<PathBuf>> = BTreeMap::new();
    let mut parity_files: BTreeMap<u32, Vec<PathBuf>> = BTreeMap::new();
    for (path, named) in &found {
        let (name, slot) = match named {
            Named::Index(name) => (name, None),
            Named::Data(name, n) => (name, Some((&mut data_files, *n, index.parts.len()))),
            Named::Parity(name, n) => (name, Some((&mut parity_files, *n, index.parity.len()))),
        };
        if *name != index.name {
            foreign.push(Foreign {
                path: path.clone(),
                why: format!("of part set {name}, not {}", index.name),
            });
            continue;
        }
        match slot {
            Some((files, n, count)) if n >= 1 && n as usize <= count => {
                files.entry(n).or_default().push(path.clone());
            }
            Some(_) => foreign.push(Foreign {
                path: path.clone(),
                why: "a part number the index does not list".into(),
            }),
            None if !same_bytes(path, &bytes) => foreign.push(Foreign {
                path: path.clone(),
                why: "an index copy that differs from the trusted one".into(),
            }),
            None => {}
        }
    }
    let jobs: Vec<(PartKind, &PartEntry, Vec<PathBuf>)> = index
        .parts
        .iter()
        .map(|p| {
            (
                PartKind::Data,
                p,
                data_files.remove(&p.number).unwrap_or_default(),
            )
        })
        .chain(index.parity.iter().map(|p| {
            (
                PartKind::Parity,
                p,
                parity_files.remove(&p.number).unwrap_or_default(),
            )
        }))
        .collect();
    let media: Vec<(String, u64)> = jobs
        .iter()
        .map(|(kind, entry, _)| (file_name(&index, *kind, entry), entry.size))
        .collect();
    progress.media(&media);
    let parts = read_media(&index, jobs, progress)?;
    let verdict = verdict(&index, &parts);
    Ok(PartsReport {
        name: index.name.clone(),
        bundle_size: index.bundle.size,
        bundle_sha256: index.bundle_sha256,
        manifest_sha256: index.bundle.manifest_sha256,
        signer: index.keyid.to_string(),
        role: index.role.clone(),
        parts,
        foreign,
        verdict,
        index,
        index_bytes: bytes,
    })
}

/// Media read at once, at most: each medium is its own device (a drive,
/// a stick), so a station with several reads them all at the same time
/// rather than as many as it has CPUs; each reader holds one 1 MiB buffer.
pub const MAX_CONCURRENT_MEDIA: usize = 16;

/// One medium's part to check: its kind, its entry, the files of its name.
type Job<'a> = (PartKind, &'a PartEntry, Vec<PathBuf>);

/// The status of every part, each medium read by a thread of its own (up
/// to [`MAX_CONCURRENT_MEDIA`] at once), in the order of `jobs`.
fn read_media(
    index: &PartIndex,
    jobs: Vec<Job<'_>>,
    progress: &dyn super::progress::MediaProgress,
) -> Result<Vec<PartStatus>, Error> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = jobs.len();
    let names: Vec<PathBuf> = jobs
        .iter()
        .map(|(kind, entry, _)| PathBuf::from(file_name(index, *kind, entry)))
        .collect();
    let jobs: Vec<Mutex<Option<Job<'_>>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut found = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else {
                return found;
            };
            if let Some((kind, entry, files)) = job.lock().ok().and_then(|mut j| j.take()) {
                let state = status(index, kind, entry, files, &|n| progress.advance(i, n));
                found.push((i, state));
            }
        }
    };
    let mut slots: Vec<Option<PartStatus>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let readers: Vec<_> = (1..count.clamp(1, MAX_CONCURRENT_MEDIA))
            .map(|_| scope.spawn(work))
            .collect();
        let mine = work();
        for (i, state) in readers
            .into_iter()
            .filter_map(|r| r.join().ok())
            .flatten()
            .chain(mine)
        {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(state);
            }
        }
    });
    // Every part is reported, or the check fails: a reader that stopped
    // (it cannot, short of a bug) never shortens the report.
    slots
        .into_iter()
        .zip(names)
        .map(|(slot, name)| {
            slot.ok_or_else(|| Error::Io {
                path: name,
                source: std::io::Error::other("the thread reading this part stopped"),
            })
        })
        .collect()
}

fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|b| b == bytes)
}

fn file_name(index: &PartIndex, kind: PartKind, entry: &PartEntry) -> String {
    match kind {
        PartKind::Data => index.data_file_name(entry.number),
        PartKind::Parity => index.parity_file_name(entry.number),
    }
}

fn status(
    index: &PartIndex,
    kind: PartKind,
    entry: &PartEntry,
    files: Vec<PathBuf>,
    read: &dyn Fn(u64),
) -> PartStatus {
    let file_name = file_name(index, kind, entry);
    let mut why = Vec::new();
    for path in &files {
        match matches_entry(path, entry, read) {
            Ok(()) => {
                return PartStatus {
                    kind,
                    number: entry.number,
                    file_name,
                    state: PartState::Present,
                    paths: vec![path.clone()],
                    why: None,
                };
            }
            Err(e) => why.push(e),
        }
    }
    PartStatus {
        kind,
        number: entry.number,
        file_name,
        state: if files.is_empty() {
            PartState::Missing
        } else {
            PartState::Damaged
        },
        paths: files,
        why: (!why.is_empty()).then(|| why.join("; ")),
    }
}

/// Whether the file at `path` has the entry's size and digest; `read` is
/// told each chunk read.
pub(crate) fn matches_entry(
    path: &Path,
    entry: &PartEntry,
    read: &dyn Fn(u64),
) -> Result<(), String> {
    let (mut file, len) =
        crate::io::open::open_regular(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if len != entry.size {
        return Err(format!(
            "{}: {len} bytes, the index says {}",
            path.display(),
            entry.size
        ));
    }
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        read(n as u64);
    }
    if hasher.bytes() != entry.size || hasher.finish() != entry.sha256 {
        return Err(format!(
            "{}: its SHA-256 is not the index's",
            path.display()
        ));
    }
    Ok(())
}

fn verdict(index: &PartIndex, parts: &[PartStatus]) -> SetVerdict {
    let bad: Vec<String> = parts
        .iter()
        .filter(|p| p.state != PartState::Present)
        .map(|p| p.file_name.clone())
        .collect();
    if bad.is_empty() {
        return SetVerdict::Complete;
    }
    let present = parts.len() - bad.len();
    let needed = index.parts.len();
    if present >= needed {
        SetVerdict::Repairable
    } else {
        SetVerdict::CopyAgain {
            need: needed - present,
            parts: bad,
        }
    }
}

/// A report's error when the set cannot give the bundle back.
pub(crate) fn unrecoverable(report: &PartsReport) -> Option<Error> {
    let SetVerdict::CopyAgain { need, parts } = &report.verdict else {
        return None;
    };
    let damaged = report.parts.iter().any(|p| p.state == PartState::Damaged);
    let list = format!("{need} more of {}", parts.join(", "));
    Some(if damaged {
        Error::Damaged {
            name: report.name.clone(),
            what: format!("too few intact parts to rebuild it; copy again {list}"),
        }
    } else {
        Error::Missing {
            name: report.name.clone(),
            missing: parts.len(),
            parts: list,
        }
    })
}
