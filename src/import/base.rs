//! A differential bundle's base in the store (docs/bundle-format.md [B80],
//! docs/store.md "Differential bundles"): the channel's current version,
//! which must be the version the manifest's `base` names by manifest
//! digest; its files are what the rebuild reads, opened through the
//! version's folder handle without following a link.

use std::io;
use std::sync::Arc;

use super::error::StoreError;
use super::handle::DirHandle;
use super::layout::{Baseline, Store};
use crate::bundle::BundlePath;
use crate::bundle::delta::{BaseFile, BaseFiles};
use crate::bundle::manifest::Previous;

/// The files of the base version, for [`crate::bundle::delta::Rebuild`].
#[derive(Debug)]
pub struct StoreBase {
    files: DirHandle,
    /// The base version's sequence.
    pub sequence: u64,
}

impl BaseFiles for StoreBase {
    fn open(&self, path: &BundlePath) -> io::Result<BaseFile> {
        let not_found = || io::Error::new(io::ErrorKind::NotFound, path.to_string());
        let (dir, name) = self
            .files
            .open_parent(path.as_str())
            .map_err(io::Error::other)?
            .ok_or_else(not_found)?;
        let (file, stat) = dir
            .open_file(name)
            .map_err(io::Error::other)?
            .ok_or_else(not_found)?;
        Ok(BaseFile {
            file,
            start: 0,
            size: stat.size,
        })
    }
}

/// The base of a differential bundle on `channel` whose manifest names
/// `base`, from the channel's current version `current` (as the store
/// read it): refused unless it is that version, by sequence and manifest
/// digest.
pub(crate) fn check_base(
    current: Option<&Baseline>,
    channel: &str,
    base: &Previous,
) -> Result<StoreBase, StoreError> {
    let Some(current) = current else {
        return Err(StoreError::Base(format!(
            "channel {channel} has no current version; this differential bundle rebuilds from version {} (manifest sha256 {}): import that full bundle first",
            base.sequence, base.manifest_sha256
        )));
    };
    if current.record.manifest_sha256 != base.manifest_sha256 || current.sequence != base.sequence {
        return Err(StoreError::Base(format!(
            "this differential bundle rebuilds from version {} (manifest sha256 {}), but channel {channel}'s current version is {} (manifest sha256 {})",
            base.sequence, base.manifest_sha256, current.sequence, current.record.manifest_sha256
        )));
    }
    Ok(StoreBase {
        files: current.files_dir()?,
        sequence: current.sequence,
    })
}

impl Store {
    /// The base files of a differential bundle on `channel` naming `base`:
    /// for `verify --store` (an import checks the same under its lock).
    pub fn base_files(&self, channel: &str, base: &Previous) -> Result<StoreBase, StoreError> {
        let current = self.baseline(channel)?;
        check_base(current.as_ref(), channel, base)
    }
}

/// The base of `bundle` when it is a differential bundle, from `other`,
/// the other side of a `diff`: the full base bundle itself (its raw
/// artifacts read in place) or a store whose current version is the base.
/// `None` for a full bundle (or one that does not open: the scan reports
/// why); a differential without its base is refused (exit 9).
pub(crate) fn differential_base(
    bundle: &std::path::Path,
    other: Option<&std::path::Path>,
) -> Result<Option<Arc<dyn BaseFiles>>, StoreError> {
    let limits = crate::bundle::ReadLimits::default();
    let Ok(opened) = crate::bundle::read::open(bundle, &limits) else {
        return Ok(None);
    };
    let Some(base) = &opened.manifest.base else {
        return Ok(None);
    };
    let missing = || {
        StoreError::Base(format!(
            "{} is a differential bundle rebuilt from version {} (manifest sha256 {}): compare it with that full bundle or a store holding it as current",
            bundle.display(),
            base.sequence,
            base.manifest_sha256
        ))
    };
    let Some(other) = other else {
        return Err(missing());
    };
    if other.is_dir() {
        let store = Store::open(other)?;
        let files = store.base_files(&opened.manifest.channel, base)?;
        return Ok(Some(Arc::new(files)));
    }
    match crate::bundle::read::open(other, &limits) {
        Ok(b) if b.manifest_sha256 == base.manifest_sha256 => {
            Ok(Some(Arc::new(crate::bundle::delta::BundleBase::new(&b))))
        }
        _ => Err(missing()),
    }
}
