//! torch.save zip archives (`<archive>/data.pkl` plus raw storages): every
//! entry whose name ends in `.pkl` is scanned with the opcode walker.
//!
//! Bounds: the entry count is read from every end-of-central-directory
//! record in the archive's tail and checked against `Limits::zip_max_entries`
//! before the `zip` crate builds its index; `.pkl` entries share one
//! decompressed-byte budget (`Limits::pickle_max_scan_bytes`), and the walker
//! stops at STOP, so a bomb is never inflated past that budget.

use std::io::{self, Read, Seek, SeekFrom};

use ::zip::ZipArchive;
use ::zip::result::ZipError;

use super::scan::{Report, Source};
use super::{finish, new_facts, scan_stream};
use crate::inspect::facts::{Finding, Format, ModelFacts};
use crate::limits::Limits;

/// `PK\x03\x04`, a local file header: how zip archives (and torch.save files) begin.
const LOCAL_HEADER_MAGIC: &[u8] = b"PK\x03\x04";
/// End of central directory record signature and minimum size.
const EOCD_MAGIC: &[u8] = b"PK\x05\x06";
const EOCD_BYTES: usize = 22;
/// ZIP64 end of central directory locator and record signatures.
const ZIP64_LOCATOR_MAGIC: &[u8] = b"PK\x06\x07";
const ZIP64_EOCD_MAGIC: &[u8] = b"PK\x06\x06";
/// The EOCD sits within the last 22 + 65,535 (comment) bytes.
const EOCD_SEARCH_BYTES: u64 = 22 + 65_535;
/// Declared decompressed / compressed ratio above which an entry over 1 MiB
/// is reported as a bomb. torch.save stores entries uncompressed, so a large
/// deflated entry at 100:1 or more (deflate tops out near 1032:1) is unusual.
const BOMB_RATIO: u64 = 100;
const BOMB_MIN_BYTES: u64 = 1 << 20;

/// Whether the first bytes are a zip local file header.
pub fn is_zip(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(LOCAL_HEADER_MAGIC)
}

/// Inspect a torch zip archive. `Err` only for I/O errors.
pub fn inspect_zip<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<ModelFacts> {
    let mut facts = new_facts(Format::PytorchZip, file_name, file_len);
    let mut report = Report::default();
    let mut cut_short = None;
    let mut watched = Watch {
        inner: reader,
        failure: None,
        budget: std::rc::Rc::new(ReadBudget::default()),
    };
    let outcome = scan_archive(
        &mut watched,
        file_len,
        limits,
        &mut facts,
        &mut report,
        &mut cut_short,
    );
    // A failure of the reader itself is an I/O error, whatever the zip
    // layer made of it; everything else the zip layer reports is damage.
    if let Some(failure) = watched.failure {
        return Err(failure);
    }
    if let Err(e) = outcome {
        facts.push(Finding::error(
            "pickle.zip_malformed",
            format!("zip archive cannot be read: {e}"),
        ));
    }
    if report.pickles == 0 && report.imports.is_empty() && cut_short.is_none() {
        if !facts.findings.iter().any(|f| f.code.starts_with("pickle.")) {
            facts.push(Finding::info(
                "pickle.zip_no_pickle",
                "zip archive holds no .pkl entry",
            ));
        }
        return Ok(facts);
    }
    finish(&mut facts, report, cut_short);
    Ok(facts)
}

fn scan_archive<R: Read + Seek>(
    reader: &mut Watch<R>,
    file_len: u64,
    limits: &Limits,
    facts: &mut ModelFacts,
    report: &mut Report,
    cut_short: &mut Option<String>,
) -> io::Result<()> {
    let declared = declared_entry_count(reader, file_len)?;
    if declared > limits.zip_max_entries {
        let why = format!(
            "the archive declares {declared} entries, over the limit of {}",
            limits.zip_max_entries
        );
        return not_scanned(facts, cut_short, why);
    }
    reader.seek(SeekFrom::Start(0))?;
    // The zip crate keeps every name, extra field and comment of the
    // central directory in its index: what it may read to build the index
    // is capped, so the index is too.
    let budget = std::rc::Rc::clone(&reader.budget);
    budget.left.set(Some(limits.zip_max_directory_bytes));
    let built = ZipArchive::new(&mut *reader);
    budget.left.set(None);
    if budget.over.get() {
        let why = format!(
            "its central directory takes more than {} bytes",
            limits.zip_max_directory_bytes
        );
        return not_scanned(facts, cut_short, why);
    }
    let mut archive = match built {
        Ok(a) => a,
        Err(e) => return malformed(facts, "cannot be read", e),
    };
    if archive.len() as u64 > limits.zip_max_entries {
        let why = format!(
            "the archive holds {} entries, over the limit of {}",
            archive.len(),
            limits.zip_max_entries
        );
        return not_scanned(facts, cut_short, why);
    }
    if archive.has_duplicate_names() {
        // The index keeps one entry per name: a loader may read the other.
        facts.push(Finding::error(
            "pickle.zip_malformed",
            "zip archive repeats an entry name",
        ));
    }
    match archive.has_overlapping_entries() {
        Ok(false) => {}
        Ok(true) => facts.push(Finding::error(
            "pickle.zip_malformed",
            "zip archive has entries sharing the same bytes",
        )),
        Err(e) => return malformed(facts, "cannot be read", e),
    }
    let mut used: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => return malformed(facts, &format!("entry {index} cannot be read"), e),
        };
        // Names that are not valid text are shown lossily; the raw bytes decide `.pkl`.
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let (size, packed) = (entry.size(), entry.compressed_size());
        if size >= BOMB_MIN_BYTES && size / packed.max(1) > BOMB_RATIO {
            facts.push(Finding::warning(
                "pickle.zip_bomb",
                format!("zip entry {name:?} declares {size} bytes from {packed} compressed"),
            ));
        }
        if !name.to_ascii_lowercase().ends_with(".pkl") {
            continue;
        }
        let budget = limits.pickle_max_scan_bytes.saturating_sub(used);
        let place = format!(" {name:?}");
        let mut src = Source::new(&mut entry, budget, Some(size));
        let outcome = scan_stream(&mut src, report, facts, cut_short, &place);
        used = used.saturating_add(src.consumed());
        if let Err(e) = outcome {
            // Decompression and CRC errors, or the reader's own (see `Watch`).
            facts.push(Finding::error(
                "pickle.zip_malformed",
                format!("zip entry {name:?} cannot be decompressed: {e}"),
            ));
            continue;
        }
        if cut_short.is_some() {
            break;
        }
    }
    Ok(())
}

/// The archive is over a limit and not scanned: say so, and why.
fn not_scanned(
    facts: &mut ModelFacts,
    cut_short: &mut Option<String>,
    why: String,
) -> io::Result<()> {
    facts.push(Finding::warning(
        "pickle.limit_exceeded",
        format!("zip not scanned: {why}"),
    ));
    *cut_short = Some(why);
    Ok(())
}

/// Report a zip error as damage (`inspect_zip` turns it back into an I/O
/// error when the reader itself failed).
fn malformed(facts: &mut ModelFacts, what: &str, e: ZipError) -> io::Result<()> {
    facts.push(Finding::error(
        "pickle.zip_malformed",
        format!("zip archive {what}: {e}"),
    ));
    Ok(())
}

/// Remembers the first error the underlying reader returned from `read`, so
/// that a device failure is never mistaken for a damaged archive. The zip
/// crate reports content damage as I/O errors too (bad deflate stream, CRC,
/// unsupported method), and their kinds overlap with real ones. Seek errors
/// are not recorded: a seek can only fail on offsets the archive supplied.
///
/// While its budget is set, reads stop with an error (not recorded as a
/// failure: the budget says it ran out) once that many bytes were read.
struct Watch<R> {
    inner: R,
    failure: Option<io::Error>,
    budget: std::rc::Rc<ReadBudget>,
}

/// Bytes a [`Watch`] may still read (`None`: no limit), and whether a read
/// was refused for want of them. Shared, so that the limit can be lifted
/// while the zip index still borrows the reader.
#[derive(Default)]
struct ReadBudget {
    left: std::cell::Cell<Option<u64>>,
    over: std::cell::Cell<bool>,
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.budget.left.get() {
            Some(0) if !buf.is_empty() => {
                self.budget.over.set(true);
                return Err(io::Error::other("zip read budget exhausted"));
            }
            Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        let window = buf.get_mut(..want).unwrap_or_default();
        let n = self.inner.read(window).inspect_err(|e| {
            if self.failure.is_none() && e.kind() != io::ErrorKind::Interrupted {
                self.failure = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })?;
        if let Some(left) = self.budget.left.get() {
            self.budget.left.set(Some(left.saturating_sub(n as u64)));
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Watch<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The largest entry count any end-of-central-directory record in the tail
/// declares (ZIP64 records followed), 0 when none is found. Reading every
/// candidate, not just the last, covers readers that fall back to another.
fn declared_entry_count<R: Read + Seek>(reader: &mut R, file_len: u64) -> io::Result<u64> {
    let start = file_len.saturating_sub(EOCD_SEARCH_BYTES);
    reader.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    reader.take(EOCD_SEARCH_BYTES).read_to_end(&mut tail)?;
    let mut most = 0u64;
    for at in 0..tail.len() {
        let Some(record) = tail
            .get(at..at + EOCD_BYTES)
            .filter(|r| r.starts_with(EOCD_MAGIC))
        else {
            continue;
        };
        let total = u16_at(record, 10);
        let mut count = u64::from(total);
        if total == u16::MAX
            && let Some(n) = zip64_entry_count(reader, &tail, at)?
        {
            count = n;
        }
        most = most.max(count);
    }
    Ok(most)
}

/// Total entries from the ZIP64 record named by the locator just before
/// the EOCD at index `at` of `tail`.
fn zip64_entry_count<R: Read + Seek>(
    reader: &mut R,
    tail: &[u8],
    at: usize,
) -> io::Result<Option<u64>> {
    let Some(locator) = at
        .checked_sub(20)
        .and_then(|l| tail.get(l..at))
        .filter(|l| l.starts_with(ZIP64_LOCATOR_MAGIC))
    else {
        return Ok(None);
    };
    let record_at = u64_at(locator, 8);
    reader.seek(SeekFrom::Start(record_at))?;
    let mut record = [0u8; 40];
    let mut got = 0;
    while got < record.len() {
        match reader.read(record.get_mut(got..).unwrap_or_default())? {
            0 => return Ok(None),
            k => got += k,
        }
    }
    if !record.starts_with(ZIP64_EOCD_MAGIC) {
        return Ok(None);
    }
    Ok(Some(u64_at(&record, 32)))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}
