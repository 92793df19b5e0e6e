//! What `verify` and `import` read: a bundle file, a part set spread over
//! one or more folders (media: docs/bundle-format.md, section 13, "Reading
//! through parts"), or a named [`BundleSource`] whose bytes are elsewhere
//! (a registry's blobs: docs/registry.md).
//!
//! A type of its own, beside the reader that opens it (`source`): `import`,
//! `registry` and the binary build one and hand it on; only `source` and
//! `structure` look inside to read it (docs/architecture.md: shared types in
//! their own file, never in the runner).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::io::source::BundleSource;

/// What `verify` and `import` read.
///
/// From a path (`BundleInput::from(&path)`): a folder is a one-folder part
/// set, anything else a file (opening it refuses what is no regular file).
/// From several paths: [`BundleInput::from_paths`].
#[derive(Clone)]
pub enum BundleInput {
    /// A bundle file.
    File(PathBuf),
    /// A part set whose parts are spread over these folders (media), in
    /// any order; read only under a policy that trusts its index. The first
    /// folder names it in reports, errors and the import record. Never
    /// empty when built by [`BundleInput::from_paths`] (an empty list holds
    /// no part index, and is refused so when read).
    Parts(Vec<PathBuf>),
    /// Bytes from elsewhere, read in place through `source`: no part-set
    /// second read, and no file beside it is looked at (no `sign` marker,
    /// no file metadata).
    Source {
        /// The name reports and errors give it (`oci://host/repo@sha256:…`);
        /// an import records its last `/`-separated component
        /// (docs/store.md, `bundle_file`).
        name: String,
        /// The bundle's bytes.
        source: Arc<dyn BundleSource>,
    },
}

impl std::fmt::Debug for BundleInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleInput::File(path) => f.debug_tuple("File").field(path).finish(),
            BundleInput::Parts(folders) => f.debug_tuple("Parts").field(folders).finish(),
            BundleInput::Source { name, source } => f
                .debug_struct("Source")
                .field("name", name)
                .field("len", &source.len())
                .finish(),
        }
    }
}

/// Why a list of paths names no one bundle (a usage error: exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No path at all.
    #[error("no bundle given: name a bundle file, or the folders of one part set")]
    NoPaths,
    /// Several bundle files.
    #[error(
        "{count} bundle files given ({}, …): several paths name the folders of one part set; verify or import one bundle file at a time",
        first.display()
    )]
    SeveralFiles {
        /// How many of the paths are files.
        count: usize,
        /// The first of them.
        first: PathBuf,
    },
    /// Folders and a file together.
    #[error(
        "{} is not a folder: several paths name the folders (media) of one part set, and a bundle file is given alone",
        file.display()
    )]
    Mixed {
        /// The first path that is no folder.
        file: PathBuf,
    },
}

impl InputError {
    /// Every variant is a request that names no one bundle.
    pub fn class(&self) -> crate::Class {
        match self {
            InputError::NoPaths | InputError::SeveralFiles { .. } | InputError::Mixed { .. } => {
                crate::Class::Usage
            }
        }
    }
}

impl BundleInput {
    /// A bundle read through `source`, named `name` in reports and errors.
    pub fn source(name: impl Into<String>, source: Arc<dyn BundleSource>) -> Self {
        BundleInput::Source {
            name: name.into(),
            source,
        }
    }

    /// What the paths given on a command line name: one path as
    /// `BundleInput::from` takes it; several, each a folder, one part set
    /// spread over them. A path that does not exist counts as a folder (a
    /// medium not mounted: reading the set names it, an I/O failure); a
    /// file among several paths is a usage error.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Self, InputError> {
        match paths {
            [] => Err(InputError::NoPaths),
            [one] => Ok(BundleInput::from(one)),
            several => {
                let files: Vec<&PathBuf> = several
                    .iter()
                    .filter(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir()))
                    .collect();
                match files.first() {
                    None => Ok(BundleInput::Parts(several.to_vec())),
                    Some(first) if files.len() == several.len() => {
                        Err(InputError::SeveralFiles {
                            count: files.len(),
                            first: (*first).clone(),
                        })
                    }
                    Some(file) => Err(InputError::Mixed {
                        file: (*file).clone(),
                    }),
                }
            }
        }
    }

    /// The name reports and errors give it: the file, the first folder of a
    /// part set, or a source's name.
    pub fn name(&self) -> &Path {
        match self {
            BundleInput::File(path) => path,
            BundleInput::Parts(folders) => folders.first().map_or(Path::new(""), |p| p),
            BundleInput::Source { name, .. } => Path::new(name.as_str()),
        }
    }

    /// What an import records as `bundle_file` (docs/store.md): the last
    /// component of [`BundleInput::name`] (a file's name, a part set's
    /// first folder's name, the last `/`-separated part of a source's name).
    pub fn record_name(&self) -> String {
        let name = self.name();
        name.file_name().map_or_else(
            || name.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Before a part set is read: refuse paths holding trusted indexes of
    /// two different sets (a medium of another bundle among them), the
    /// usage error [B70] and [B84] name (docs/bundle-format.md, section 13:
    /// exit 2), which a verification report, made of the bundle's checks,
    /// cannot carry. Only the index files are read. Any other trouble with
    /// the set (no index, an untrusted one, a path that cannot be read) is
    /// left to the read, whose report names it; a file or a source passes.
    pub fn check_one_set(&self, trust: &dyn crate::parts::Trust) -> Result<(), crate::parts::Error> {
        let BundleInput::Parts(folders) = self else {
            return Ok(());
        };
        let Ok(found) = crate::parts::find::find(folders) else {
            return Ok(());
        };
        match crate::parts::check::select_index(&found, trust) {
            Err(e @ crate::parts::Error::Ambiguous { .. }) => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether it is a part set (read under a policy, with a second read
    /// through parity when the first fails as damage could make it).
    pub fn is_part_set(&self) -> bool {
        matches!(self, BundleInput::Parts(_))
    }
}

impl From<&Path> for BundleInput {
    /// A folder is a one-folder part set; anything else (a file, a path
    /// that does not exist) a file.
    fn from(path: &Path) -> Self {
        if super::source::is_part_set(path) {
            BundleInput::Parts(vec![path.to_path_buf()])
        } else {
            BundleInput::File(path.to_path_buf())
        }
    }
}

impl From<&PathBuf> for BundleInput {
    fn from(path: &PathBuf) -> Self {
        BundleInput::from(path.as_path())
    }
}

impl From<PathBuf> for BundleInput {
    fn from(path: PathBuf) -> Self {
        BundleInput::from(path.as_path())
    }
}

impl From<&BundleInput> for BundleInput {
    /// A copy (paths and a shared source), so that a caller holding one
    /// passes it by reference to both `import` and its verifier.
    fn from(input: &BundleInput) -> Self {
        input.clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    type Res = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn paths_name_a_file_a_part_set_or_a_usage_error() -> Res {
        let dir = tempfile::tempdir()?;
        let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        std::fs::create_dir(&a)?;
        std::fs::create_dir(&b)?;
        let file = dir.path().join("x.lbom");
        let other = dir.path().join("y.lbom");
        std::fs::write(&file, b"x")?;
        std::fs::write(&other, b"y")?;

        assert!(matches!(BundleInput::from(&file), BundleInput::File(p) if p == file));
        assert!(matches!(BundleInput::from(a.as_path()), BundleInput::Parts(f) if f == [a.clone()]));
        // One path that does not exist is a file, refused when opened.
        assert!(matches!(BundleInput::from(&c), BundleInput::File(_)));
        assert!(matches!(
            BundleInput::from_paths(std::slice::from_ref(&file))?,
            BundleInput::File(_)
        ));
        let set = BundleInput::from_paths(&[b.clone(), a.clone(), c.clone()])?;
        assert!(matches!(&set, BundleInput::Parts(f) if *f == [b.clone(), a.clone(), c.clone()]));
        assert_eq!(set.name(), b.as_path());
        assert_eq!(set.record_name(), "b");

        for (paths, class) in [
            (vec![], "no bundle given"),
            (vec![file.clone(), other.clone()], "2 bundle files given"),
            (vec![a.clone(), file.clone()], "x.lbom is not a folder"),
            (vec![file.clone(), a.clone(), other.clone()], "x.lbom is not a folder"),
        ] {
            let e = BundleInput::from_paths(&paths)
                .err()
                .ok_or("several files or a mix must be refused")?;
            assert_eq!(e.class(), crate::Class::Usage);
            let text = e.to_string();
            assert!(text.contains(class), "{text}");
            assert_eq!(text.lines().count(), 1, "one sentence: {text}");
        }
        Ok(())
    }

    #[test]
    fn a_source_is_named_and_recorded_by_its_last_component() {
        let bytes: Arc<dyn BundleSource> = Arc::new(Bytes(b"abc".to_vec()));
        let input = BundleInput::source("oci://host:5000/team/model@sha256:ab12", bytes);
        assert_eq!(
            input.name(),
            Path::new("oci://host:5000/team/model@sha256:ab12")
        );
        assert_eq!(input.record_name(), "model@sha256:ab12");
        assert!(!input.is_part_set());
        assert!(format!("{input:?}").contains("len: 3"));
    }

    /// Bytes in memory, as a test source (what a registry's blobs are to
    /// `verify`: no file).
    pub(crate) struct Bytes(pub(crate) Vec<u8>);

    impl BundleSource for Bytes {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }

        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            let rest = self.0.get(start..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(rest.get(..n).unwrap_or_default());
            Ok(n)
        }
    }
}
