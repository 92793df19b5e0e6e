//! The registry source against the bundle `pull` reassembled on disk
//! before it read it in place ([`assemble`], kept here) and against the bundle `pack` and
//! `sign` wrote, over blobs held in memory: no network. Real bundles are
//! packed once per test binary (raw and zstd entries, an empty file, a
//! name split into the ustar prefix, SBOMs, several links).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use super::{BlobFetcher, RegistrySource};
use crate::bundle::pack::Compression;
use crate::bundle::pack::tests::{options, pack_test};
use crate::bundle::tar::{self, TarWriter};
use crate::bundle::{BundlePath, Encoding, ReadLimits, Role, SignOptions, sign};
use crate::registry::pull::digest_of;
use crate::io::digest::Sha256Digest;
use crate::io::source::BundleSource;
use crate::registry::error::RegistryError;
use crate::registry::evidence::{Evidence, ReceiptCheck};
use crate::registry::layout::{Descriptor, WEIGHT_RAW};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Bytes no compressor shrinks (xorshift), so `auto` stores them raw.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes().first().copied().unwrap_or(0)
        })
        .collect()
}

/// Blobs by hex digest.
type Blobs = BTreeMap<String, Arc<Vec<u8>>>;

/// A packed and signed bundle, what a registry would hold of it, and the
/// evidence a node would have checked.
struct Shape {
    _dir: tempfile::TempDir,
    bundle: Vec<u8>,
    evidence: Evidence,
    blobs: Arc<Blobs>,
    raw_layers: usize,
    zstd_entries: usize,
}

fn pack_shape(compress: Compression, links: u8, seed: u64) -> Res<Shape> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("model");
    let deep = root.join("d".repeat(60)).join("e".repeat(30));
    std::fs::create_dir_all(&deep)?;
    std::fs::write(root.join("weights.bin"), noise(1_500_000 + seed as usize, seed))?;
    std::fs::write(root.join("small.bin"), noise(777, seed + 1))?;
    std::fs::write(root.join("zeros.dat"), vec![0u8; 300_000])?;
    std::fs::write(root.join("empty.txt"), b"")?;
    std::fs::write(deep.join("config.json"), br#"{"a": 1, "b": [1, 2, 3]}"#)?;
    let out = dir.path().join("b.lbom");
    pack_test(&options(vec![root], out.clone(), compress))?;
    for n in 0..links {
        let key = crate::sign::SigningKey::from_seed(&[n.wrapping_add(7); 32])?;
        sign(
            &out,
            &key,
            &SignOptions {
                role: "maintainer".into(),
                note: Some(format!("link {n}")),
                time: Some(jiff::Timestamp::UNIX_EPOCH),
            },
        )?;
    }
    let bundle = std::fs::read(&out)?;
    let (evidence, blobs) = evidence_of(&bundle)?;
    let raw_layers = evidence
        .manifest
        .entries
        .iter()
        .filter(|e| e.role == Role::Artifact && e.encoding != Encoding::Zstd && e.size > 0)
        .count();
    let zstd_entries = evidence
        .manifest
        .entries
        .iter()
        .filter(|e| e.encoding == Encoding::Zstd)
        .count();
    Ok(Shape {
        _dir: dir,
        bundle,
        evidence,
        blobs: Arc::new(blobs),
        raw_layers,
        zstd_entries,
    })
}

/// The evidence and the layers of a bundle, read with the tar walker: what
/// a registry holds of it (each artifact decoded, as `push` uploads it).
fn evidence_of(bundle: &[u8]) -> Res<(Evidence, Blobs)> {
    let layout = tar::walk(
        &mut Cursor::new(bundle),
        bundle.len() as u64,
        &ReadLimits::default(),
    )?;
    let mut entries = BTreeMap::new();
    let mut links = Vec::new();
    for e in &layout.entries {
        let start = usize::try_from(e.data_offset)?;
        let bytes = bundle
            .get(start..start + usize::try_from(e.size)?)
            .ok_or("entry past the end")?
            .to_vec();
        if e.name.as_str().starts_with("chain/") {
            links.push((e.name.as_str().to_owned(), bytes.clone()));
        }
        entries.insert(e.name.as_str().to_owned(), bytes);
    }
    let manifest_bytes = entries
        .get(crate::bundle::layout::MANIFEST)
        .ok_or("no manifest")?
        .clone();
    let (manifest, _) = crate::bundle::manifest::parse(&manifest_bytes)?;
    let (mut files, mut blobs, mut sboms) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut attestation = Vec::new();
    for m in &manifest.entries {
        let stored = entries.get(m.path.as_str()).ok_or("entry missing")?;
        match m.role {
            Role::Artifact => {
                let layer = match m.encoding {
                    Encoding::Zstd => zstd::decode_all(stored.as_slice())?,
                    _ => stored.clone(),
                };
                assert_eq!(Sha256Digest::of(&layer), m.sha256);
                let path = m.artifact_path().ok_or("no artifact path")?;
                files.insert(
                    path.as_str().to_owned(),
                    Descriptor::new(WEIGHT_RAW, &m.sha256, m.size),
                );
                blobs.insert(m.sha256.to_hex(), Arc::new(layer));
            }
            Role::Sbom => {
                sboms.insert(m.path.as_str().to_owned(), stored.clone());
            }
            Role::Attestation => attestation = stored.clone(),
        }
    }
    let evidence = Evidence {
        manifest,
        manifest_bytes,
        files,
        links,
        sboms,
        attestation,
        receipt: ReceiptCheck {
            station: "station".into(),
            time_verified: "2026-12-06T00:00:00Z".into(),
        },
    };
    Ok((evidence, blobs))
}

/// The bundles the tests read, packed once: `auto` (raw and zstd entries,
/// three links) and `none` (every entry raw, one link).
fn shapes() -> Res<&'static [Shape]> {
    static SHAPES: OnceLock<Result<Vec<Shape>, String>> = OnceLock::new();
    let made = SHAPES.get_or_init(|| {
        let make = || -> Res<Vec<Shape>> {
            Ok(vec![
                pack_shape(Compression::Auto, 3, 11)?,
                pack_shape(Compression::None, 1, 12)?,
            ])
        };
        make().map_err(|e| e.to_string())
    });
    match made {
        Ok(v) => Ok(v.as_slice()),
        Err(e) => Err(e.clone().into()),
    }
}

/// A blob read from a position, over shared bytes.
struct SharedReader {
    bytes: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// What a fake registry does to the blobs it serves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Serve {
    /// `206` for the range asked.
    Ranges,
    /// `200` with the whole blob, whatever the range.
    Whole,
    /// One byte short.
    Short,
    /// One byte more.
    Long,
    /// From one byte after the one asked.
    LaterStart,
    /// The right length, the last byte changed.
    Flipped,
}

/// Blobs in memory, served as `serve` says, counting the requests.
struct MemoryFetcher {
    blobs: Arc<Blobs>,
    serve: Serve,
    opens: AtomicUsize,
}

impl MemoryFetcher {
    fn new(shape: &Shape, serve: Serve) -> Arc<MemoryFetcher> {
        Arc::new(MemoryFetcher {
            blobs: Arc::clone(&shape.blobs),
            serve,
            opens: AtomicUsize::new(0),
        })
    }

    fn blob(&self, digest: &Sha256Digest) -> Result<Arc<Vec<u8>>, RegistryError> {
        self.blobs
            .get(&digest.to_hex())
            .cloned()
            .ok_or_else(|| RegistryError::NotFound(digest.to_hex()))
    }
}

impl BlobFetcher for MemoryFetcher {
    fn open_at(
        &self,
        digest: &Sha256Digest,
        _size: u64,
        offset: u64,
    ) -> Result<(Box<dyn Read + Send>, u64), RegistryError> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        let mut bytes = self.blob(digest)?;
        match self.serve {
            Serve::Short => {
                let mut b = bytes.as_ref().clone();
                b.pop();
                bytes = Arc::new(b);
            }
            Serve::Long => {
                let mut b = bytes.as_ref().clone();
                b.push(0);
                bytes = Arc::new(b);
            }
            Serve::Flipped => {
                let mut b = bytes.as_ref().clone();
                if let Some(last) = b.last_mut() {
                    *last ^= 1;
                }
                bytes = Arc::new(b);
            }
            Serve::Ranges | Serve::Whole | Serve::LaterStart => {}
        }
        let start = match self.serve {
            Serve::Whole => 0,
            Serve::LaterStart => offset + 1,
            _ => offset,
        };
        let reader = SharedReader {
            bytes,
            pos: usize::try_from(start).unwrap_or(usize::MAX),
        };
        Ok((Box::new(reader), start))
    }

    fn fetch_whole(
        &self,
        digest: &Sha256Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError> {
        let bytes = self.blob(digest)?;
        if bytes.len() as u64 != size || Sha256Digest::of(&bytes) != *digest {
            return Err(RegistryError::Digest {
                what: digest.to_hex(),
                want: size.to_string(),
                got: bytes.len().to_string(),
            });
        }
        out.write_all(&bytes).map_err(RegistryError::io("memory"))
    }
}

/// The bundle as `pull` wrote it before it read it in place (kept here as
/// the reference the source must equal): each entry in manifest order
/// through the tar writer (layers streamed through SHA-256, zstd entries
/// encoded again), the manifest, the links.
fn assemble(
    fetcher: &dyn BlobFetcher,
    ev: &Evidence,
    workdir: &Path,
) -> Result<PathBuf, RegistryError> {
    let manifest = &ev.manifest;
    let path = workdir.join(format!("{}-{}.lbom", manifest.name, manifest.sequence));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(RegistryError::io(&path))?;
    let tar_error = |e: crate::bundle::tar::TarError| {
        RegistryError::Bundle(crate::bundle::Error::Tar {
            path: path.clone(),
            source: e,
        })
    };
    let mut writer = TarWriter::new(file, 0).map_err(RegistryError::io(&path))?;
    for entry in &manifest.entries {
        match entry.role {
            Role::Artifact => {
                let p = entry
                    .artifact_path()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                let layer = ev
                    .files
                    .get(&p)
                    .ok_or_else(|| RegistryError::Artifact(format!("no layer for {p}")))?;
                let open = writer.begin_entry(&entry.path).map_err(tar_error)?;
                let stored = if entry.encoding == Encoding::Zstd {
                    // The layer is the decoded file: fetched (hashed) aside,
                    // then encoded again as pack encoded it.
                    let mut raw =
                        tempfile::tempfile_in(workdir).map_err(RegistryError::io(workdir))?;
                    fetcher.fetch_whole(&digest_of(layer)?, layer.size, &mut raw)?;
                    let level = crate::registry::reencode::find_level(&mut raw, entry)?;
                    crate::registry::reencode::write(&mut raw, entry, level, writer.data())?
                } else {
                    fetcher.fetch_whole(&digest_of(layer)?, layer.size, writer.data())?;
                    layer.size
                };
                writer.finish_entry(open, stored).map_err(tar_error)?;
            }
            Role::Sbom => {
                let bytes = ev.sboms.get(entry.path.as_str()).ok_or_else(|| {
                    RegistryError::Evidence(format!("no SBOM layer for {}", entry.path.as_str()))
                })?;
                writer.add_bytes(&entry.path, bytes).map_err(tar_error)?;
            }
            Role::Attestation => {
                writer
                    .add_bytes(&entry.path, &ev.attestation)
                    .map_err(tar_error)?;
            }
        }
    }
    let name = |s: &str| BundlePath::new(s).map_err(|e| RegistryError::Artifact(e.to_string()));
    writer
        .add_bytes(&name(crate::bundle::layout::MANIFEST)?, &ev.manifest_bytes)
        .map_err(tar_error)?;
    for (link, bytes) in &ev.links {
        writer.add_bytes(&name(link)?, bytes).map_err(tar_error)?;
    }
    writer.finish().map_err(tar_error)?;
    Ok(path)
}

/// What `pull` wrote before this source: the bundle reassembled on disk.
fn assembled(shape: &Shape) -> Res<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let fetcher = MemoryFetcher::new(shape, Serve::Ranges);
    let path: PathBuf =
        assemble(fetcher.as_ref(), &shape.evidence, dir.path())?;
    Ok(std::fs::read(&path)?)
}

/// Read all of `source` in `chunk`-byte reads, in order.
fn read_through(source: &dyn BundleSource, chunk: usize) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = source.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

fn source(shape: &Shape, serve: Serve) -> Res<(RegistrySource, Arc<MemoryFetcher>)> {
    let fetcher = MemoryFetcher::new(shape, serve);
    let source = RegistrySource::new(
        &shape.evidence,
        Arc::clone(&fetcher) as Arc<dyn BlobFetcher>,
    )?;
    Ok((source, fetcher))
}

/// Read in order, the source is the bundle `assemble` wrote and the one
/// `pack` and `sign` wrote, byte for byte, whether the registry honours
/// ranges or not; and each raw layer costs one request.
#[test]
fn the_source_is_the_bundle_byte_for_byte() -> Res {
    for shape in shapes()? {
        let on_disk = assembled(shape)?;
        assert_eq!(on_disk, shape.bundle, "assemble gives back the packed bundle");
        for serve in [Serve::Ranges, Serve::Whole] {
            for chunk in [1 << 20, 4096, 333] {
                let (source, fetcher) = source(shape, serve)?;
                assert_eq!(source.len(), on_disk.len() as u64);
                let read = read_through(&source, chunk)?;
                assert!(read == on_disk, "{serve:?}, {chunk}-byte reads differ");
                assert_eq!(source.requests() as usize, shape.raw_layers, "{serve:?}");
                assert_eq!(fetcher.opens.load(Ordering::Relaxed), shape.raw_layers);
            }
        }
    }
    let kinds = shapes()?.iter().map(|s| s.zstd_entries).collect::<Vec<_>>();
    assert!(kinds.first().is_some_and(|n| *n > 0), "no zstd entry: {kinds:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any reads, anywhere, of any length, in any order (each one short
    /// read as a reader may get, then filled): the assembled bundle's bytes.
    #[test]
    fn random_reads_give_the_assembled_bytes(
        which in 0usize..2,
        whole in any::<bool>(),
        reads in prop::collection::vec((any::<prop::sample::Index>(), 0usize..2_000_000), 1..24),
    ) {
        let run = || -> Res {
            let shape = shapes()?.get(which).ok_or("shape")?;
            let serve = if whole { Serve::Whole } else { Serve::Ranges };
            let (source, _) = source(shape, serve)?;
            let want = &shape.bundle;
            for (at, len) in &reads {
                // Offsets up to a little past the end.
                let offset = at.index(want.len() + 600) as u64;
                let mut buf = vec![0u8; *len];
                let n = source.read_at(&mut buf, offset)?;
                let from = usize::try_from(offset)?.min(want.len());
                let expected = want.get(from..).unwrap_or_default();
                if n > expected.len() || n > *len {
                    return Err(format!("{n} bytes read at {offset}").into());
                }
                if n == 0 && !expected.is_empty() && *len > 0 {
                    return Err(format!("0 bytes read at {offset}, inside the bundle").into());
                }
                if buf.get(..n) != expected.get(..n) {
                    return Err(format!("the short read at {offset} differs").into());
                }
                let exact = expected.len().min(*len);
                let mut buf = vec![0u8; exact];
                source.read_exact_at(&mut buf, offset)?;
                if buf.as_slice() != expected.get(..exact).unwrap_or_default() {
                    return Err(format!("the read of {exact} bytes at {offset} differs").into());
                }
            }
            Ok(())
        };
        run().map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

/// Four threads reading at once, each its own ranges, as `verify` scans
/// artifacts ahead: every read gives the bundle's bytes.
#[test]
fn threads_reading_at_once_get_the_bundle_bytes() -> Res {
    let shape = shapes()?.first().ok_or("shape")?;
    let (source, _) = source(shape, Serve::Ranges)?;
    let want = &shape.bundle;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let (source, want) = (&source, want);
                scope.spawn(move || -> Result<(), String> {
                    let mut x = t * 7919 + 1;
                    for _ in 0..200 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let offset = (x >> 20) % want.len() as u64;
                        let len = usize::try_from((x >> 5) % 300_000).unwrap_or(1);
                        let from = usize::try_from(offset).unwrap_or(0);
                        let len = len.min(want.len() - from);
                        let mut buf = vec![0u8; len];
                        source
                            .read_exact_at(&mut buf, offset)
                            .map_err(|e| e.to_string())?;
                        if want.get(from..from + len) != Some(buf.as_slice()) {
                            return Err(format!("thread {t}: {offset}+{len} differs"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a reader panicked")??;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

/// A registry answering a layer of the wrong length, or from another byte
/// than the one asked: the read of that layer fails (what `verify` reports
/// as a failed read), never a byte past the layer's own is handed on.
#[test]
fn a_layer_of_the_wrong_length_or_from_another_byte_is_refused() -> Res {
    let shape = shapes()?.get(1).ok_or("shape")?;
    let want = &shape.bundle;
    for (serve, kind) in [
        (Serve::Short, std::io::ErrorKind::UnexpectedEof),
        (Serve::Long, std::io::ErrorKind::InvalidData),
        (Serve::LaterStart, std::io::ErrorKind::InvalidData),
    ] {
        let (source, _) = source(shape, serve)?;
        let err = read_through(&source, 1 << 16)
            .err()
            .ok_or(format!("{serve:?}: read through"))?;
        let io = err
            .downcast_ref::<std::io::Error>()
            .ok_or(format!("{serve:?}: {err}"))?;
        assert_eq!(io.kind(), kind, "{serve:?}: {io}");
        // Everything before the first layer's end is still the bundle's.
        let mut buf = vec![0u8; 512];
        source.read_exact_at(&mut buf, 0)?;
        assert_eq!(Some(buf.as_slice()), want.get(..512));
    }
    Ok(())
}

/// The zstd entries are the only bytes written anywhere: spooled files,
/// one per zstd entry; everything else is memory or a layer.
#[test]
fn only_zstd_entries_are_spooled() -> Res {
    for shape in shapes()? {
        let (source, _) = source(shape, Serve::Ranges)?;
        let spooled = source
            .segments
            .iter()
            .filter(|s| matches!(s.piece, super::Piece::Spooled(_)))
            .count();
        let layers = source
            .segments
            .iter()
            .filter(|s| matches!(s.piece, super::Piece::Layer { .. }))
            .count();
        assert_eq!(spooled, shape.zstd_entries);
        assert_eq!(layers, shape.raw_layers);
    }
    Ok(())
}

/// `verify` over the source, as `pull` and `verify oci://` run it: the
/// bundle passes; a layer of the right length with other bytes is an
/// integrity failure (exit 4: the chain signs its digest); one that ends
/// early, goes on past its size or comes from another byte is a failed
/// read (exit 10).
#[test]
fn verify_over_the_source_refuses_what_a_registry_gets_wrong() -> Res {
    use crate::verify::{BundleInput, HashOnly, Policy, VerifyContext};
    let shape = shapes()?.get(1).ok_or("shape")?;
    let dir = tempfile::tempdir()?;
    let key = crate::sign::SigningKey::from_seed(&[7; 32])?;
    std::fs::write(dir.path().join("m.pub"), key.public_key().to_pem()?)?;
    let text = "version = 1\n\n[[keys]]\nname = \"m\"\npublic_key = \"m.pub\"\nroles = [\"maintainer\"]\n\n[signatures]\nrequired_roles = [\"maintainer\"]\n\n[content]\nallowed_formats = [\"unknown\", \"text\", \"json\"]\n";
    let policy = Policy::from_toml(text, &dir.path().join("policy.toml"))?;
    let context = VerifyContext {
        now: jiff::Timestamp::from_second(86_400)?,
        channel: None,
        caps: crate::bundle::Caps::default(),
        jobs: None,
    };
    for (serve, class) in [
        (Serve::Ranges, None),
        (Serve::Whole, None),
        (Serve::Flipped, Some(crate::Class::Integrity)),
        (Serve::Short, Some(crate::Class::Io)),
        (Serve::Long, Some(crate::Class::Io)),
        (Serve::LaterStart, Some(crate::Class::Io)),
    ] {
        let (source, _) = source(shape, serve)?;
        let input = BundleInput::source("oci://r.example/m@sha256:00", Arc::new(source));
        let (report, _) = crate::verify::verify(input, &policy, &context, &mut HashOnly);
        assert_eq!(
            report.failure().map(|f| f.class()),
            class,
            "{serve:?}: {report:?}"
        );
    }
    Ok(())
}
