//! Tests of pack as a whole: bytes written, refusals, caps.

use super::*;
use crate::bundle::UnsafeInput;
use std::io::Read;
use std::path::Path;

/// Pack options for tests: fixed time, the given inputs.
pub(crate) fn options(
    inputs: Vec<PathBuf>,
    output: PathBuf,
    compress: Compression,
) -> PackOptions<'static> {
    PackOptions {
        inputs,
        output,
        name: "tiny".into(),
        channel: "stable".into(),
        sequence: None,
        previous: None,
        expires: Some(jiff::SignedDuration::from_hours(24 * 30)),
        compress,
        created: Some(jiff::Timestamp::UNIX_EPOCH),
        first_link: None,
        caps: Caps::default(),
        jobs: None,
        base: None,
        hash_cache: None,
    }
}

pub(crate) fn pack_test(o: &PackOptions<'_>) -> Result<PackSummary, Error> {
    pack(o, &mut |_| {})
}

/// The real inspector, through the public entry point.
#[test]
fn pack_with_real_inspect_reader() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("x.safetensors");
    std::fs::write(&file, b"not really safetensors")?;
    let summary = pack(
        &options(vec![file], dir.path().join("b.lbom"), Compression::None),
        &mut |_| {},
    )?;
    let entry = summary.manifest.entries.first().ok_or("artifact")?;
    assert_eq!(entry.sha256, Sha256Digest::of(b"not really safetensors"));
    Ok(())
}

/// Raw artifacts of every awkward size (empty, one byte past a page,
/// exactly one chunk, several chunks and an odd tail) and a header
/// larger than the head buffer (a 3 MiB JSON document, which the
/// inspector reads whole, so the planner hashes and writes past the
/// head): packed with one, two and four workers, the bundles are the
/// same bytes, and every artifact is stored byte for byte where its tar
/// header says, followed by zero padding. Both on the disk the
/// repository is on (O_DIRECT) and in the temporary folder (tmpfs
/// here: buffered).
#[test]
fn raw_artifacts_are_stored_exactly_for_any_worker_count() -> Result<(), Box<dyn std::error::Error>>
{
    let mut x: u32 = 7;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                x.to_le_bytes()[3]
            })
            .collect()
    };
    let mut json = b"{\"note\": \"".to_vec();
    json.resize(3 * CHUNK_BYTES + 11, b'x');
    json.extend_from_slice(b"\"}\n");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a.bin", b"small".to_vec()),
        ("b.bin", noise(3 * CHUNK_BYTES + CHUNK_BYTES / 2 + 77)),
        ("c.bin", noise(CHUNK_BYTES)),
        ("config.json", json),
        ("d.bin", noise(3 * 4096 + 1)),
        ("e.bin", Vec::new()),
        ("f.bin", noise(2 * CHUNK_BYTES - 512)),
    ];
    for dir in [
        tempfile::tempdir()?,
        tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?,
    ] {
        let input = dir.path().join("in");
        std::fs::create_dir(&input)?;
        for (name, bytes) in &files {
            std::fs::write(input.join(name), bytes)?;
        }
        let mut bundles = Vec::new();
        for jobs in [1, 2, 4] {
            let out = dir.path().join(format!("b{jobs}.lbom"));
            let mut o = options(vec![input.clone()], out.clone(), Compression::None);
            o.jobs = Some(jobs);
            pack_test(&o)?;
            bundles.push(std::fs::read(&out)?);
        }
        let bundle = bundles.first().ok_or("bundle")?;
        for other in &bundles {
            assert!(other == bundle, "bundles differ between worker counts");
        }
        let layout = super::super::tar::walk(
            &mut std::io::Cursor::new(bundle),
            bundle.len() as u64,
            &super::super::ReadLimits::default(),
        )?;
        for (name, bytes) in &files {
            let entry = layout
                .entries
                .iter()
                .find(|e| e.name.as_str() == format!("artifacts/{name}"))
                .ok_or("artifact entry")?;
            let start = usize::try_from(entry.data_offset)?;
            let end = start + bytes.len();
            let padded_end =
                usize::try_from(entry.data_offset + super::super::tar::padded(entry.size))?;
            assert_eq!(entry.size, bytes.len() as u64, "{name}");
            assert!(
                bundle.get(start..end) == Some(&bytes[..]),
                "{name}: stored bytes differ"
            );
            let padding = bundle.get(end..padded_end).ok_or("padding")?;
            assert!(padding.iter().all(|b| *b == 0), "{name}: padding");
        }
    }
    Ok(())
}

/// docs/bundle-format.md [B18]: a file that grows, shrinks or is
/// replaced between listing and reading is refused, not packed as
/// whatever was read. The edits are made from the progress callback,
/// which runs while the first file is being read.
#[test]
fn an_input_changed_while_read_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    type Edit = fn(&Path) -> std::io::Result<()>;
    let edits: [(&str, Edit); 3] = [
        ("grown", |root| {
            std::fs::OpenOptions::new()
                .append(true)
                .open(root.join("a.bin"))?
                .write_all(b"more")
        }),
        ("shrunk", |root| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(root.join("a.bin"))?
                .set_len(10)
        }),
        ("replaced", |root| {
            std::fs::write(root.join("new"), b"other bytes")?;
            std::fs::rename(root.join("new"), root.join("b.bin"))
        }),
    ];
    for (what, edit) in edits {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("in");
        std::fs::create_dir(&root)?;
        std::fs::write(root.join("a.bin"), vec![7u8; 3 * CHUNK_BYTES])?;
        std::fs::write(root.join("b.bin"), b"listed bytes")?;
        let out = dir.path().join("b.lbom");
        let mut done = false;
        let mut failed = None;
        let result = pack(
            &options(vec![root.clone()], out.clone(), Compression::None),
            &mut |_| {
                if !done {
                    done = true;
                    failed = edit(&root).err();
                }
            },
        );
        assert!(failed.is_none(), "{what}: {failed:?}");
        assert!(done, "{what}: progress never ran");
        match (what, &result) {
            ("replaced", Err(Error::UnsafeInput { reason, .. })) => {
                assert!(matches!(reason, UnsafeInput::Replaced), "{result:?}");
            }
            ("grown" | "shrunk", Err(Error::InputChanged { .. })) => {}
            _ => return Err(format!("{what}: {result:?}").into()),
        }
        // Nothing is left under the output name.
        assert!(!out.exists(), "{what}: output left behind");
    }
    Ok(())
}

/// A bundle a reader under the caller's caps would refuse is never
/// written (docs/bundle-format.md, "Reader limits"): an SBOM, an
/// attestation or a manifest over its cap, or more artifacts than the
/// cap, fails the pack and leaves nothing under the output name. The
/// plan's own proptest (`plan.rs`) covers every layout; this covers the
/// executor asking it.
#[test]
fn pack_refuses_what_a_reader_under_its_caps_refuses() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in");
    std::fs::create_dir(&input)?;
    std::fs::write(input.join("a.bin"), b"first")?;
    std::fs::write(input.join("b.bin"), vec![0u8; 70_000])?;
    type Tighten = fn(&mut Caps);
    let cases: [(&str, Tighten); 4] = [
        ("SBOM", |c| c.read.max_sbom_bytes = 100),
        ("attestation", |c| c.read.max_attestation_bytes = 100),
        ("manifest", |c| c.read.max_manifest_bytes = 100),
        ("more than 1 files", |c| c.read.max_artifacts = 1),
    ];
    for (what, tighten) in cases {
        for compress in [Compression::None, Compression::Zstd(3)] {
            let out = dir.path().join("b.lbom");
            let mut o = options(vec![input.clone()], out.clone(), compress);
            tighten(&mut o.caps);
            let err = pack_test(&o).err().ok_or(what)?;
            assert!(err.to_string().contains(what), "{what}: {err}");
            assert!(!out.exists(), "{what}: output left behind");
        }
    }
    // The same inputs under the default caps pack.
    let out = dir.path().join("ok.lbom");
    pack_test(&options(vec![input], out, Compression::None))?;
    Ok(())
}

/// The planner's parse reads the header only (`PARSE_ONLY`): the rest
/// of a raw artifact is the workers' to read, hash and write. A parse
/// that read on would spill the whole file through the planner (one
/// thread, buffered writes) with the same bytes in the bundle, so only
/// the count shows it: a 4 MiB safetensors file with a small header
/// must cost the parse less than 1 MiB of reading.
#[test]
fn the_planners_parse_reads_the_header_only() -> Result<(), Box<dyn std::error::Error>> {
    struct Counted<'a> {
        inner: &'a [u8],
        read: &'a std::cell::Cell<usize>,
    }
    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }
    let body = 4usize << 20;
    let header =
        format!("{{\"w\":{{\"dtype\":\"U8\",\"shape\":[{body}],\"data_offsets\":[0,{body}]}}}}");
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.resize(file.len() + body, 7);
    let read = std::cell::Cell::new(0);
    let facts = crate::inspect::inspect_reader(
        Counted {
            inner: &file,
            read: &read,
        },
        file.len() as u64,
        "w.safetensors",
        None,
        &execute::PARSE_ONLY,
        &crate::limits::Limits::default(),
        &mut |_| {},
    )?;
    assert_eq!(facts.file_size_bytes, file.len() as u64);
    assert!(read.get() < 1 << 20, "the parse read {} bytes", read.get());
    Ok(())
}

#[test]
fn compression_parses() {
    assert_eq!("auto".parse(), Ok(Compression::Auto));
    assert_eq!("zstd:7".parse(), Ok(Compression::Zstd(7)));
    assert!("zstd:0".parse::<Compression>().is_err());
    assert!("gzip".parse::<Compression>().is_err());
}

#[test]
fn auto_skips_incompressible_data() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    assert_eq!(
        execute::decide_encoding(Compression::Auto, &noise).0,
        Encoding::Raw
    );
    assert_eq!(
        execute::decide_encoding(Compression::Auto, &[0u8; 65536]).0,
        Encoding::Zstd
    );
}
