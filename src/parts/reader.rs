//! The parts of a set read as one bundle ([`BundleSource`]): a data part
//! that is present is read in place; a stripe of one that is missing or
//! damaged is rebuilt from the other parts and parity when first read, and
//! the last rebuilt stripe kept (docs/bundle-format.md, section 13,
//! "Reading through parts"). No joined copy is written.

use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Data parts a reader keeps open (the first ones; see `read_present`).
const KEPT_OPEN: usize = 256;

use super::check::PartsReport;
use super::index::PartIndex;
use super::parity;
use crate::io::source::BundleSource;

/// A part set read as its bundle.
#[derive(Debug)]
pub struct PartReader {
    index: PartIndex,
    data: Vec<Option<PathBuf>>,
    parity: Vec<Option<PathBuf>>,
    /// The last rebuilt stripe: (data part, stripe, its bytes).
    rebuilt: Mutex<Option<(usize, u64, Vec<u8>)>>,
    /// Handles of the first [`KEPT_OPEN`] data parts, once opened.
    open: Vec<OnceLock<std::fs::File>>,
}

impl PartReader {
    /// A reader over the parts a `verify-parts` report found present; fails
    /// when too few are present to rebuild the rest.
    pub fn from_report(report: &PartsReport) -> Result<Self, super::Error> {
        if let Some(e) = super::check::unrecoverable(report) {
            return Err(e);
        }
        let index = report.index.clone();
        let data = (0..index.parts.len())
            .map(|k| report.data_path(k).map(PathBuf::from))
            .collect();
        let parity = (0..index.parity.len())
            .map(|j| report.parity_path(j).map(PathBuf::from))
            .collect();
        Ok(Self {
            index,
            data,
            parity,
            rebuilt: Mutex::new(None),
            open: kept_open(),
        })
    }

    /// A reader over the set under `paths` without reading any part
    /// through: a part whose file has the index's size is taken as
    /// present, any other rebuilt from parity when read. For a first look
    /// at a bundle's headers (`import` peeks at its channel); what is read
    /// this way is checked later or not trusted.
    pub fn open_unchecked(
        paths: &[PathBuf],
        trust: &dyn super::Trust,
    ) -> Result<Self, super::Error> {
        let found = super::find::find(paths)?;
        let (index, _) = super::check::select_index(&found, trust)?;
        let sized = |name: String, size: u64| {
            found
                .iter()
                .find(|(p, _)| {
                    p.file_name().is_some_and(|n| *n == *name.as_str())
                        && std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == size)
                })
                .map(|(p, _)| p.clone())
        };
        let data = index
            .parts
            .iter()
            .map(|p| sized(index.data_file_name(p.number), p.size))
            .collect();
        let parity = index
            .parity
            .iter()
            .map(|p| sized(index.parity_file_name(p.number), p.size))
            .collect();
        Ok(Self {
            index,
            data,
            parity,
            rebuilt: Mutex::new(None),
            open: kept_open(),
        })
    }

    /// A reader over data parts at known paths (parity not yet written).
    pub(crate) fn over_data(index: PartIndex, data: Vec<PathBuf>) -> Self {
        Self {
            parity: vec![None; index.parity.len()],
            data: data.into_iter().map(Some).collect(),
            index,
            rebuilt: Mutex::new(None),
            open: kept_open(),
        }
    }

    /// The file names of the parts this reader does not read in place
    /// (data parts it rebuilds from parity as read; parity parts it lacks).
    pub fn absent(&self) -> Vec<String> {
        let data = self.data.iter().zip(&self.index.parts);
        let parity = self.parity.iter().zip(&self.index.parity);
        data.filter(|(path, _)| path.is_none())
            .map(|(_, p)| self.index.data_file_name(p.number))
            .chain(
                parity
                    .filter(|(path, _)| path.is_none())
                    .map(|(_, p)| self.index.parity_file_name(p.number)),
            )
            .collect()
    }

    /// When more parts are absent than parity can rebuild: the error naming
    /// them (I/O: they are missing or of the wrong size, [B71]).
    pub fn shortfall(&self) -> Option<super::Error> {
        let absent = self.absent();
        (absent.len() > self.index.parity.len()).then(|| super::Error::Missing {
            name: self.index.name.clone(),
            missing: absent.len(),
            parts: absent.join(", "),
        })
    }

    /// The index it reads by.
    pub fn index(&self) -> &PartIndex {
        &self.index
    }

    /// Read from data part `k`, which is present, at `within`. The first
    /// [`KEPT_OPEN`] parts stay open once read (a tar walk makes many small
    /// reads); the others are opened for each read, so a set of thousands
    /// of parts never runs out of file descriptors.
    fn read_present(
        &self,
        k: usize,
        path: &std::path::Path,
        buf: &mut [u8],
        within: u64,
    ) -> io::Result<usize> {
        let cell = self.open.get(k);
        if let Some(file) = cell.and_then(OnceLock::get) {
            return file.read_at(buf, within);
        }
        let file = std::fs::File::open(path)?;
        let n = file.read_at(buf, within)?;
        if let Some(cell) = cell {
            // Another thread may have opened it first: either handle reads
            // the same file.
            let _ = cell.set(file);
        }
        Ok(n)
    }

    /// Stripe `t` of data part `k`, rebuilt from the others and parity.
    fn rebuild(&self, k: usize, t: u64) -> io::Result<Vec<u8>> {
        let mut have_data = Vec::new();
        let mut have_parity = Vec::new();
        let (start, len) = parity::stripe_range(&self.index, t);
        let need = self.index.parts.len();
        for (i, path) in self.data.iter().enumerate() {
            if let Some(path) = path {
                let mut shard = vec![0u8; len];
                let part_len = self.index.parts.get(i).map_or(0, |p| p.size);
                let have = part_len.saturating_sub(start).min(len as u64) as usize;
                if let Some(window) = shard.get_mut(..have) {
                    std::fs::File::open(path)?.read_exact_at(window, start)?;
                }
                have_data.push((i, shard));
            }
        }
        for (j, path) in self.parity.iter().enumerate() {
            if have_data.len() + have_parity.len() >= need {
                break;
            }
            if let Some(path) = path {
                let mut shard = vec![0u8; len];
                std::fs::File::open(path)?.read_exact_at(&mut shard, start)?;
                have_parity.push((j, shard));
            }
        }
        let mut restored = parity::recover(need, self.index.parity.len(), &have_data, &have_parity)
            .ok_or_else(|| io::Error::other("too few parts to rebuild a stripe"))?;
        restored
            .remove(&k)
            .ok_or_else(|| io::Error::other("the stripe was not rebuilt"))
    }
}

fn kept_open() -> Vec<OnceLock<std::fs::File>> {
    (0..KEPT_OPEN).map(|_| OnceLock::new()).collect()
}

impl BundleSource for PartReader {
    fn len(&self) -> u64 {
        self.index.bundle.size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len() || buf.is_empty() {
            return Ok(0);
        }
        let part_size = self.index.part_size;
        let k = usize::try_from(offset / part_size).unwrap_or(usize::MAX);
        let within = offset % part_size;
        let part_len = self.index.parts.get(k).map_or(0, |p| p.size);
        let want = buf
            .len()
            .min(usize::try_from(part_len - within).unwrap_or(usize::MAX));
        let buf = buf.get_mut(..want).unwrap_or_default();
        if let Some(Some(path)) = self.data.get(k) {
            return self.read_present(k, path, buf, within);
        }
        let t = within / self.index.stripe_size;
        let (start, len) = parity::stripe_range(&self.index, t);
        let mut cache = self
            .rebuilt
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        let hit = matches!(&*cache, Some((ck, ct, _)) if *ck == k && *ct == t);
        if !hit {
            *cache = Some((k, t, self.rebuild(k, t)?));
        }
        let stripe = cache
            .as_ref()
            .map(|(_, _, s)| s.as_slice())
            .unwrap_or_default();
        let from = (within - start) as usize;
        let n = want.min(len.saturating_sub(from));
        let (Some(dst), Some(src)) = (buf.get_mut(..n), stripe.get(from..from + n)) else {
            return Err(io::Error::other(
                "a rebuilt stripe is shorter than its range",
            ));
        };
        dst.copy_from_slice(src);
        Ok(n)
    }
}
