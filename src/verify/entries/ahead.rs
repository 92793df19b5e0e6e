//! Raw artifacts scanned on several threads ahead of the ordered walk
//! (`super::stream`), which then takes their results: the report is the one
//! a single-thread walk gives (docs/performance.md, "Verify and import
//! before and after").

use crate::io::source::SourceReader;
use std::collections::BTreeMap;

use super::{Problem, Scanned, scan_artifact};
use crate::bundle::tar::TarEntry;
use crate::bundle::{BundlePath, Encoding, ManifestEntry, OpenBundle, Role};
use crate::io::digest::READ_BUFFER_BYTES;
use crate::limits::Limits;

/// The artifacts scanned on several threads, by index of their manifest
/// entry. Missing: other entries, and artifacts no thread took because an
/// earlier one had failed or the facts held went over
/// `max_facts_bytes` (the ordered walk stops at that point before it needs
/// them, and scans any it does need itself).
pub(super) fn scan_ahead(
    bundle: &OpenBundle,
    file: &SourceReader,
    limits: &Limits,
    max_facts_bytes: u64,
    jobs: Option<usize>,
) -> BTreeMap<usize, Result<Box<Scanned>, Problem>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    let work: Vec<(usize, &ManifestEntry, &TarEntry, BundlePath)> = bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .enumerate()
        // Raw entries only: a zstd decoder may hold a window of up to
        // 2^ZSTD_WINDOW_LOG_MAX bytes, and a hostile bundle must not get one
        // per thread; zstd entries stay on the ordered walk, one at a time.
        // A raw artifact's header is inspected here too, so up to four
        // headers' worth of parser memory (each within `Limits`, and each
        // made of bytes the bundle really holds) can be live at once
        // instead of one: the price of hashing on every CPU.
        .filter(|(_, (m, _))| m.role == Role::Artifact && m.encoding == Encoding::Raw)
        .filter_map(|(i, (m, t))| m.artifact_path().map(|p| (i, m, t, p)))
        .collect();
    let threads = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .min(MAX_SCAN_THREADS)
        .min(work.len());
    if threads < 2 {
        return BTreeMap::new();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The facts the threads hold, against the same cap as the ordered walk:
    // a thread stops once the total is over it, so what waits here for the
    // walk is at most the cap and one artifact per thread.
    let facts_held = AtomicU64::new(0);
    // Each result goes straight into the one map the walk takes it from:
    // no per-thread list to gather and copy.
    // Boxed: the map's nodes stay small, and each result's memory is
    // given back as the walk takes it.
    let results: Mutex<BTreeMap<usize, Result<Box<Scanned>, Problem>>> =
        Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; READ_BUFFER_BYTES];
                    // Items are taken in bundle order, so every artifact before
                    // a failed one was taken (and finished) before the stop.
                    while !failed.load(Ordering::Acquire) {
                        let Some((i, m, t, artifact)) =
                            work.get(next.fetch_add(1, Ordering::AcqRel))
                        else {
                            break;
                        };
                        let result =
                            scan_artifact(file, t, m, artifact, None, &mut buf, limits, None)
                                .map(Box::new);
                        let over = match &result {
                            Ok(s) => {
                                let add = s.facts_bytes;
                                facts_held
                                    .fetch_add(add, Ordering::AcqRel)
                                    .saturating_add(add)
                                    > max_facts_bytes
                            }
                            Err(_) => true,
                        };
                        if over {
                            failed.store(true, Ordering::Release);
                        }
                        // A poisoned map (a thread panicked holding it) keeps
                        // what it has; the walk scans anything missing itself.
                        match results.lock() {
                            Ok(mut map) => map.insert(*i, result),
                            Err(poisoned) => poisoned.into_inner().insert(*i, result),
                        };
                    }
                })
            })
            .collect();
        // Joined by hand: a thread that panicked leaves its artifacts to
        // the ordered walk instead of taking the verifier down.
        for h in handles {
            let _ = h.join();
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// At most this many threads scan ahead: beyond it the disk, not SHA-256,
/// bounds a verify on the machines lbom targets.
const MAX_SCAN_THREADS: usize = 4;
