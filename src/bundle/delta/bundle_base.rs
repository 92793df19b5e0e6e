//! A full bundle as the base of a differential (`lbom diff BASE.lbom
//! V2.lbom`): its raw artifacts read in place; a zstd artifact, which has
//! no random access, decoded first into an unnamed temporary file (checked
//! against its manifest entry on the way).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;

use super::super::manifest::{Encoding, ManifestEntry, Role};
use super::super::path::BundlePath;
use super::super::read::OpenBundle;
use super::super::tar::TarEntry;
use super::content::Content;
use super::rebuild::{BaseFile, BaseFiles};

/// The artifacts of a full bundle, by artifact path.
#[derive(Debug)]
pub struct BundleBase {
    path: PathBuf,
    artifacts: BTreeMap<String, (TarEntry, ManifestEntry)>,
}

impl BundleBase {
    /// The artifacts of the opened full bundle `bundle`.
    pub fn new(bundle: &OpenBundle) -> Self {
        let artifacts = bundle
            .manifest
            .entries
            .iter()
            .zip(&bundle.layout.entries)
            .filter(|(m, _)| m.role == Role::Artifact)
            .filter_map(|(m, t)| {
                let path = m.artifact_path()?;
                Some((path.as_str().to_owned(), (t.clone(), m.clone())))
            })
            .collect();
        Self {
            path: bundle.path.clone(),
            artifacts,
        }
    }
}

impl BaseFiles for BundleBase {
    fn open(&self, path: &BundlePath) -> io::Result<BaseFile> {
        let (t, m) = self
            .artifacts
            .get(path.as_str())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_string()))?;
        let bundle = File::open(&self.path)?;
        if m.encoding == Encoding::Raw {
            return Ok(BaseFile {
                file: bundle,
                start: t.data_offset,
                size: t.size,
            });
        }
        let mut decoded = tempfile::tempfile()?;
        let mut content = Content::open(&bundle, t, m)?;
        io::copy(&mut content, &mut decoded)?;
        content.finish()?;
        Ok(BaseFile {
            file: decoded,
            start: 0,
            size: m.size,
        })
    }
}
