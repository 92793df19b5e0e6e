//! `pack --split`: pack a bundle straight into the data parts of a part set
//! (docs/bundle-format.md, section 13, [B66], "Packing into parts"), so a
//! 100 GB model never needs the bundle on disk, not even for a moment:
//! pack writes through a [`SpanFile`] over `DIR/medium-NNNN/part.partial`
//! (positioned writes, so the tar writer's header patching and the first
//! link's append work as on a file), then one read over the parts takes
//! their digests and the bundle's, parity is computed a stripe at a time,
//! the parts get their names and the signed index is written last, on every
//! medium. The parts are byte for byte what `pack` then `split` write.
//!
//! A crash before the index is written leaves parts named `part.partial`
//! and no index: nothing that reads as a finished set. A failure that is
//! reported removes what was written.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cut::{self, PARTIAL, SplitOptions, SplitOutcome, medium_dir};
use super::index::{BundleFacts, PartEntry};
use super::progress::{MediaProgress, NoMediaProgress};
use super::{Error, io_err};
use crate::bundle::{PackOptions, PackSummary};
use crate::io::digest::{Hasher, Sha256Digest};
use crate::io::span::SpanFile;
use crate::sign::SigningKey;

/// Pack `pack` into a part set cut as `split` asks, in medium folders
/// beside `pack.output` (which names the bundle and is never written), the
/// index signed with `key`. `on_progress` receives the bytes read from the
/// inputs, then the bytes read back from the parts.
pub fn pack_split(
    pack: &PackOptions<'_>,
    split: &SplitOptions,
    key: &SigningKey,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(PackSummary, SplitOutcome), Error> {
    pack_split_with(pack, split, key, on_progress, &NoMediaProgress)
}

/// [`pack_split`], telling `media` how far each medium's part is read
/// back and its parity written (once the bundle's size is known).
pub fn pack_split_with(
    pack: &PackOptions<'_>,
    split: &SplitOptions,
    key: &SigningKey,
    on_progress: &mut dyn FnMut(u64),
    media_progress: &dyn MediaProgress,
) -> Result<(PackSummary, SplitOutcome), Error> {
    crate::bundle::manifest::check_label("role", &split.role).map_err(Error::Option)?;
    let part_size = split.even_part_size();
    cut::check_geometry(0, part_size, split.parity)?;
    let out = match pack.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&out).map_err(io_err(&out))?;
    let first = medium_dir(&out, 1);
    if first.symlink_metadata().is_ok() {
        return Err(Error::OutputExists { path: first });
    }
    let span = Arc::new(
        SpanFile::new(
            part_size,
            super::index::MAX_DATA_PARTS,
            create_part(out.clone()),
        )
        .map_err(io_err(&out))?,
    );
    let mut media = Vec::new();
    let result = crate::bundle::pack_into_span(pack, &span, on_progress)
        .map_err(Error::from)
        .and_then(|summary| {
            let progress = Progress {
                bytes: on_progress,
                media: media_progress,
            };
            cut_packed(pack, split, key, &summary, &span, &mut media, &out, progress)
                .map(|outcome| (summary, outcome))
        });
    if result.is_err() {
        remove_created(&span, &media);
    }
    result
}

/// What pack wrote into the span, named, with parity and the index; the
/// medium folders in `media` as they are made.
#[allow(clippy::too_many_arguments)]
fn cut_packed(
    pack: &PackOptions<'_>,
    split: &SplitOptions,
    key: &SigningKey,
    summary: &PackSummary,
    span: &SpanFile,
    media: &mut Vec<PathBuf>,
    out: &Path,
    progress: Progress<'_, '_>,
) -> Result<SplitOutcome, Error> {
    let size = summary.bytes;
    let part_size = split.even_part_size();
    if span.len() != size {
        return Err(Error::Option(format!(
            "pack wrote {} bytes into the parts, not the bundle's {size} (a bug in lbom)",
            span.len()
        )));
    }
    cut::check_geometry(size, part_size, split.parity)?;
    progress
        .media
        .media(&cut::media_of(size, part_size, split.parity));
    let (parts, whole) = digests(span, part_size, progress.bytes, progress.media)?;
    let name = format!("{}-{}", cut::set_name(&pack.output), whole.short(12));
    let facts = BundleFacts {
        size,
        manifest_sha256: summary.manifest_sha256,
    };
    let mut index = cut::unsigned_index(split, key, facts, part_size, parts, name, whole);
    let mut paths = Vec::with_capacity(index.parts.len());
    for (part, (_, _, from)) in index.parts.iter().zip(span.files()) {
        let dir = medium_dir(out, part.number as usize);
        let to = dir.join(index.data_file_name(part.number));
        std::fs::rename(from, &to).map_err(io_err(&to))?;
        paths.push(to);
        media.push(dir);
    }
    let source = super::reader::PartReader::over_data(index.clone(), paths);
    index.parity =
        cut::write_parity_parts(&index, &source, split.parity, out, media, progress.media)?;
    // The index last ([B83]): until it is on every medium the folders are
    // not a finished set.
    cut::finish(index, media.clone(), key)
}

/// Who is told how far the reading back goes: the overall count and the
/// media's.
struct Progress<'a, 'b> {
    bytes: &'a mut dyn FnMut(u64),
    media: &'b dyn MediaProgress,
}

/// Buffers in flight between the reading thread and the one taking the
/// bundle's digest (1 MiB each).
const DIGEST_BUFFERS: usize = 3;

/// The digest of every part and of the bundle, in one read of the parts in
/// order. Every byte is hashed twice (its part's digest and the bundle's):
/// the bundle's digest is taken on a second thread, so the two run at once.
fn digests(
    span: &SpanFile,
    part_size: u64,
    on_progress: &mut dyn FnMut(u64),
    media: &dyn MediaProgress,
) -> Result<(Vec<PartEntry>, Sha256Digest), Error> {
    use std::os::unix::fs::FileExt as _;
    use std::sync::mpsc;
    let (full, chunks) = mpsc::sync_channel::<Vec<u8>>(DIGEST_BUFFERS);
    let (back, spare) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let whole = scope.spawn(move || {
            let mut whole = Hasher::new();
            for chunk in chunks {
                whole.update(&chunk);
                // The reader may be gone (it failed): nothing to reuse then.
                let _ = back.send(chunk);
            }
            whole
        });
        let mut made = 0;
        let mut parts = Vec::new();
        let mut read = || -> Result<(), Error> {
            for (number, file, path) in span.files() {
                let offset = u64::from(number.saturating_sub(1)).saturating_mul(part_size);
                let size = part_size.min(span.len().saturating_sub(offset));
                let mut hasher = Hasher::new();
                let mut done = 0u64;
                while done < size {
                    let want = (size - done).min(cut::CHUNK as u64) as usize;
                    let mut buf = match spare.try_recv() {
                        Ok(buf) => buf,
                        Err(_) if made < DIGEST_BUFFERS => {
                            made += 1;
                            Vec::with_capacity(cut::CHUNK)
                        }
                        Err(_) => spare.recv().map_err(|_| stopped(path))?,
                    };
                    buf.resize(want, 0);
                    file.read_exact_at(&mut buf, done).map_err(io_err(path))?;
                    hasher.update(&buf);
                    full.send(buf).map_err(|_| stopped(path))?;
                    on_progress(want as u64);
                    media.advance((number as usize).saturating_sub(1), want as u64);
                    done += want as u64;
                }
                parts.push(PartEntry {
                    number,
                    offset,
                    size,
                    sha256: hasher.finish(),
                });
            }
            Ok(())
        };
        let result = read();
        drop(full);
        let whole = whole
            .join()
            .map_err(|_| stopped(Path::new("the bundle's digest")))?;
        result.map(|()| (parts, whole.finish()))
    })
}

/// The error of a digest thread that stopped (it cannot, short of a bug).
fn stopped(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("the thread taking the bundle's digest stopped"),
    }
}

/// How the span creates part `n`: its medium folder, new, and in it
/// `part.partial`, new.
fn create_part(out: PathBuf) -> crate::io::span::CreatePart {
    Box::new(move |n| {
        let dir = medium_dir(&out, n as usize);
        std::fs::create_dir(&dir)?;
        let path = dir.join(PARTIAL);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((file, path))
    })
}

/// A failed `pack --split` removes the medium folders it made (each was
/// new: [`create_part`] and the parity writer make them with
/// `create_dir`), with what is in them.
fn remove_created(span: &SpanFile, media: &[PathBuf]) {
    let mut dirs: Vec<PathBuf> = span
        .files()
        .into_iter()
        .filter_map(|(_, _, path)| path.parent().map(Path::to_path_buf))
        .chain(media.iter().cloned())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        // Best effort: the failure being reported matters more.
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Compression, FirstLink};
    use crate::parts::split;
    use std::collections::BTreeMap;

    type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn key(name: &str) -> Res<SigningKey> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Ok(SigningKey::load(&root.join("keys").join(name), None)?)
    }

    /// A model folder of `total` bytes or so: files of noise (stored raw)
    /// and of text (zstd under `auto`), of awkward sizes.
    fn inputs(dir: &Path, total: usize) -> Res<PathBuf> {
        let folder = dir.join("model");
        std::fs::create_dir_all(&folder)?;
        let mut x: u32 = 11;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    x.to_le_bytes()[3]
                })
                .collect()
        };
        let sizes = [total / 2 + 777, total / 4 + 3, 1, 0, total / 8 + 511];
        for (i, size) in sizes.iter().enumerate() {
            std::fs::write(folder.join(format!("w{i}.bin")), noise(*size))?;
        }
        let text: String = (0..total / 80).map(|i| format!("line {i} of notes\n")).collect();
        std::fs::write(folder.join("notes.txt"), text)?;
        Ok(folder)
    }

    fn pack_options<'a>(
        model: &Path,
        output: PathBuf,
        maintainer: &'a SigningKey,
        base: Option<PathBuf>,
    ) -> PackOptions<'a> {
        PackOptions {
            inputs: vec![model.to_path_buf()],
            output,
            name: "m".into(),
            channel: "stable".into(),
            sequence: base.as_ref().map(|_| 2),
            previous: None,
            expires: None,
            compress: Compression::Auto,
            created: Some(jiff::Timestamp::UNIX_EPOCH),
            first_link: Some(FirstLink {
                key: maintainer,
                role: "maintainer".into(),
                note: None,
            }),
            caps: crate::bundle::Caps::default(),
            jobs: Some(2),
            base,
            hash_cache: None,
        }
    }

    fn split_options(part_size: u64, parity: usize) -> SplitOptions {
        SplitOptions {
            part_size,
            parity,
            role: "transfer".into(),
        }
    }

    /// Every file under `root` by its path below it, with its bytes.
    fn tree(root: &Path) -> Res<BTreeMap<PathBuf, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.insert(path.strip_prefix(root)?.to_path_buf(), std::fs::read(&path)?);
                }
            }
        }
        Ok(out)
    }

    /// A part size at least 1 KiB, even, that puts a part boundary inside
    /// the header of an entry of `bundle` (not the first).
    fn straddling(bundle: &Path) -> Res<u64> {
        let opened = crate::bundle::open(bundle, &crate::bundle::ReadLimits::default())?;
        let header = opened
            .layout
            .entries
            .iter()
            .map(|e| e.header_offset)
            .find(|&h| h + 256 >= 1024)
            .ok_or("no entry past the first KiB")?;
        Ok(header + 256)
    }

    /// [`pack_split`] writes exactly the files `pack` then `split` write
    /// with the same options (the index too: Ed25519 is deterministic and
    /// the index holds no time), with and without parity, for part sizes
    /// where a tar header straddles a part boundary, where the chain's
    /// link does, and where one part holds all; and for a differential
    /// bundle (`pack --base --split`).
    #[test]
    fn pack_split_writes_what_pack_then_split_write() -> Res {
        let dir = tempfile::tempdir()?;
        let model = inputs(dir.path(), 600 << 10)?;
        let maintainer = key("demo-maintainer.key")?;
        let transfer = key("demo-transfer.key")?;
        let full = dir.path().join("ref").join("m.lbom");
        std::fs::create_dir_all(dir.path().join("ref"))?;
        let packed = crate::bundle::pack(
            &pack_options(&model, full.clone(), &maintainer, None),
            &mut |_| {},
        )?;
        // The chain's link is the last entry: a boundary 100 bytes into it.
        let link = crate::bundle::open(&full, &crate::bundle::ReadLimits::default())?
            .layout
            .entries
            .last()
            .map(|e| e.header_offset + 100)
            .ok_or("no link")?;
        let link = link - link % 2;
        let sizes = [straddling(&full)?, 64 << 10, link, packed.bytes + 2];
        let mut case = 0;
        for part_size in sizes {
            for parity in [0, 2] {
                case += 1;
                let reference = dir.path().join(format!("split{case}"));
                split(&full, &reference, &split_options(part_size, parity), &transfer)?;
                let out = dir.path().join(format!("packed{case}"));
                let (summary, outcome) = pack_split(
                    &pack_options(&model, out.join("m.lbom"), &maintainer, None),
                    &split_options(part_size, parity),
                    &transfer,
                    &mut |_| {},
                )?;
                assert_eq!(summary.bytes, packed.bytes);
                assert_eq!(outcome.index.parity.len(), parity);
                let (want, got) = (tree(&reference)?, tree(&out)?);
                assert_eq!(
                    want.keys().collect::<Vec<_>>(),
                    got.keys().collect::<Vec<_>>(),
                    "part size {part_size}, parity {parity}"
                );
                assert!(want == got, "part size {part_size}, parity {parity}: bytes differ");
            }
        }
        // A differential against the full bundle.
        let model2 = inputs(&dir.path().join("v2"), 600 << 10)?;
        std::fs::write(model2.join("notes.txt"), "changed\n")?;
        let delta = dir.path().join("dref").join("m.lbom");
        std::fs::create_dir_all(dir.path().join("dref"))?;
        let diff = pack_options(&model2, delta.clone(), &maintainer, Some(full.clone()));
        let packed = crate::bundle::pack(&diff, &mut |_| {})?;
        assert!(packed.delta.is_some());
        let part_size = 16 << 10;
        let reference = dir.path().join("dsplit");
        split(&delta, &reference, &split_options(part_size, 1), &transfer)?;
        let out = dir.path().join("dpacked");
        let diff = pack_options(&model2, out.join("m.lbom"), &maintainer, Some(full));
        pack_split(&diff, &split_options(part_size, 1), &transfer, &mut |_| {})?;
        assert!(tree(&reference)? == tree(&out)?, "differential: bytes differ");
        Ok(())
    }

    /// The largest file `pack --split` writes, sampled at every chunk it
    /// reads and at the end, is one part, far smaller than the bundle; no
    /// index exists until the parts are all written; the folder holds the
    /// medium folders only.
    #[test]
    fn no_file_larger_than_a_part_and_the_index_last() -> Res {
        let dir = tempfile::tempdir()?;
        let model = inputs(dir.path(), 4 << 20)?;
        let maintainer = key("demo-maintainer.key")?;
        let transfer = key("demo-transfer.key")?;
        let out = dir.path().join("media");
        let part_size = 256 << 10;
        // The largest file under the folder, and whether an index is there.
        let scan = |root: &Path| -> Res<(u64, bool)> {
            let files = tree(root)?;
            let largest = files.values().map(|b| b.len() as u64).max().unwrap_or(0);
            let index = files
                .keys()
                .any(|p| p.to_string_lossy().ends_with(".index.dsse.json"));
            Ok((largest, index))
        };
        let mut largest = 0u64;
        let mut samples = 0;
        let mut index_seen = false;
        let mut failed = None;
        let told = super::super::progress::Counted::default();
        let (summary, outcome) = pack_split_with(
            &pack_options(&model, out.join("m.lbom"), &maintainer, None),
            &split_options(part_size, 1),
            &transfer,
            &mut |_| {
                samples += 1;
                match scan(&out) {
                    Ok((l, i)) => {
                        largest = largest.max(l);
                        index_seen |= i;
                    }
                    Err(e) => {
                        failed.get_or_insert(e.to_string());
                    }
                }
            },
            &told,
        )?;
        assert!(told.whole(), "each medium's bar is told its whole size: {told:?}");
        assert_eq!(failed, None);
        assert!(samples > 8, "{samples} samples");
        assert!(!index_seen, "an index was written before the parts");
        let (at_end, index_at_end) = scan(&out)?;
        assert!(index_at_end);
        let largest = largest.max(at_end);
        assert!(summary.bytes > 3 << 20, "{} bytes", summary.bytes);
        assert!(largest <= part_size, "a {largest}-byte file");
        assert_eq!(outcome.media.len(), summary.bytes.div_ceil(part_size) as usize + 1);
        let mut names: Vec<String> = std::fs::read_dir(&out)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        let want: Vec<String> = (1..=outcome.media.len()).map(|n| format!("medium-{n:04}")).collect();
        assert_eq!(names, want);
        Ok(())
    }

    /// A `pack --split` that fails part way removes the medium folders it
    /// made and writes no index; a folder it did not make stays.
    #[test]
    fn a_failed_pack_split_leaves_no_set() -> Res {
        let dir = tempfile::tempdir()?;
        let model = inputs(dir.path(), 1 << 20)?;
        let maintainer = key("demo-maintainer.key")?;
        let transfer = key("demo-transfer.key")?;
        let out = dir.path().join("media");
        std::fs::create_dir_all(&out)?;
        // Part 3's folder is taken by a file of someone else's.
        std::fs::write(out.join("medium-0003"), b"not ours")?;
        let failed = pack_split(
            &pack_options(&model, out.join("m.lbom"), &maintainer, None),
            &split_options(128 << 10, 1),
            &transfer,
            &mut |_| {},
        );
        assert!(failed.is_err());
        let left = tree(&out)?;
        assert_eq!(
            left.keys().collect::<Vec<_>>(),
            [Path::new("medium-0003")],
            "{:?}",
            left.keys()
        );
        // And a set already there is not written over.
        std::fs::remove_file(out.join("medium-0003"))?;
        std::fs::create_dir(out.join("medium-0001"))?;
        let refused = pack_split(
            &pack_options(&model, out.join("m.lbom"), &maintainer, None),
            &split_options(128 << 10, 1),
            &transfer,
            &mut |_| {},
        );
        assert!(matches!(refused, Err(Error::OutputExists { .. })));
        Ok(())
    }
}
