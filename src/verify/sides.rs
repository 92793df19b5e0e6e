//! The side files of a bundle, collected while `entries.digests` streams
//! it: a sink that wraps the caller's, captures the bytes of each side file
//! lbom parses (as [`Role::capture`] asks, so never more than
//! `Limits::side_file_max_bytes` per file), and hands them to
//! [`SideFiles::add`] once the artifact's digest matched the manifest. The
//! bundle's models are then described exactly as `scan` describes a folder
//! ([`crate::inspect::delivery`]).

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::ArtifactSink;
use crate::bundle::{BundlePath, ManifestEntry};
use crate::inspect::side::{Capture, CaptureRule, SideFiles, role_of};
use crate::limits::Limits;

/// Wraps a sink; collects the side files.
pub(crate) struct SideCapture<'a> {
    inner: &'a mut dyn ArtifactSink,
    limits: Limits,
    /// What was collected so far.
    pub sides: SideFiles,
    /// The bytes being captured for the artifact in flight.
    pending: Option<Arc<Mutex<Vec<u8>>>>,
}

impl<'a> SideCapture<'a> {
    pub(crate) fn new(inner: &'a mut dyn ArtifactSink, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            sides: SideFiles::default(),
            pending: None,
        }
    }
}

/// Passes bytes on to the caller's writer and keeps the first `max`.
struct CaptureWriter {
    inner: Option<Box<dyn Write + Send>>,
    kept: Arc<Mutex<Vec<u8>>>,
    max: u64,
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.inner.as_mut() {
            Some(w) => w.write(buf)?,
            None => buf.len(),
        };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let room = usize::try_from(self.max.saturating_sub(kept.len() as u64)).unwrap_or(0);
        let written = buf.get(..n).unwrap_or_default();
        kept.extend_from_slice(written.get(..room.min(written.len())).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl ArtifactSink for SideCapture<'_> {
    fn begin(
        &mut self,
        artifact: &BundlePath,
        entry: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>> {
        let writer = self.inner.begin(artifact, entry)?;
        self.pending = None;
        let rule =
            role_of(Path::new(artifact.as_str())).map(|(_, n, r)| r.capture(&n, &self.limits));
        let max = match rule {
            Some(CaptureRule::Whole(max)) if entry.size <= max => max,
            Some(CaptureRule::Prefix(max)) => max,
            _ => return Ok(writer),
        };
        // Exactly the bytes kept, never a doubled allocation.
        let room = usize::try_from(entry.size.min(max)).unwrap_or(0);
        let kept = Arc::new(Mutex::new(Vec::with_capacity(room)));
        self.pending = Some(Arc::clone(&kept));
        Ok(Some(Box::new(CaptureWriter {
            inner: writer,
            kept,
            max,
        })))
    }

    fn finish(&mut self, artifact: &BundlePath, entry: &ManifestEntry) -> io::Result<()> {
        self.inner.finish(artifact, entry)?;
        let kept = self
            .pending
            .take()
            .map(|k| std::mem::take(&mut *k.lock().unwrap_or_else(PoisonError::into_inner)));
        let capture = match &kept {
            None => Capture::Nothing,
            Some(bytes) if bytes.len() as u64 == entry.size => Capture::Whole(bytes),
            Some(bytes) => Capture::Prefix(bytes),
        };
        self.sides.add(
            Path::new(artifact.as_str()),
            entry.sha256,
            capture,
            &self.limits,
        );
        Ok(())
    }

    fn metadata(&mut self, name: &BundlePath, bytes: &[u8]) -> io::Result<()> {
        self.inner.metadata(name, bytes)
    }

    fn keeps_bytes(&self) -> bool {
        self.inner.keeps_bytes()
    }

    fn base_files(&self) -> Option<Arc<dyn crate::bundle::delta::BaseFiles>> {
        self.inner.base_files()
    }
}
