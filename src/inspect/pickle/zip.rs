//! Zip archives: torch.save files (`<archive>/data.pkl` plus raw storages),
//! `.npz` arrays, and zips of those. Every entry is judged by its bytes, not
//! its name: a `.pkl` entry, and any entry that starts like a pickle and
//! walks as one, is scanned with the opcode walker (CVE-2025-1889 hid a
//! torch zip's pickle under another name); an entry that is itself a zip is
//! read and walked the same way; an `.npy` member's object array is scanned
//! as a pickle.
//!
//! Bounds: the entry count is read from every end-of-central-directory
//! record in the archive's tail and checked against `Limits::zip_max_entries`
//! before the `zip` crate builds its index; at most 64 bytes of each entry
//! are decompressed to tell what it is; the pickles of all entries, nested
//! archives included, share one decompressed-byte budget
//! (`Limits::pickle_max_scan_bytes`) and the walker stops at STOP, so a bomb
//! is never inflated past that budget; nested archives are read into memory
//! within a budget of the same size in all, at most eight deep. A cap
//! reached makes the verdict an error (fail closed).

use std::io::{self, Read, Seek, SeekFrom};

use ::zip::ZipArchive;
use ::zip::result::ZipError;

use super::scan::{Report, Source};
use super::{finish, scan_stream};
use crate::inspect::facts::{Finding, Format, ModelFacts};
use crate::inspect::numpy;
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
    let mut facts = ModelFacts::new(Format::PytorchZip, file_name, file_len);
    let mut report = Report::default();
    let mut walk = Walk {
        scan_left: limits.pickle_max_scan_bytes,
        nested_left: limits.pickle_max_scan_bytes,
        depth: 1,
        cut_short: None,
        place: String::new(),
    };
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
        &mut walk,
    );
    let cut_short = walk.cut_short;
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
                "zip archive holds no pickle (no entry is one, whatever its name)",
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
    walk: &mut Walk,
) -> io::Result<()> {
    let cut_short = &mut walk.cut_short;
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
        let place = format!("{}{name:?}", walk.place);
        let outcome = scan_entry(&mut entry, &name, &place, size, limits, walk, facts, report);
        if let Err(e) = outcome {
            // Decompression and CRC errors, or the reader's own (see `Watch`).
            facts.push(Finding::error(
                "pickle.zip_malformed",
                format!("zip entry {place} cannot be decompressed: {e}"),
            ));
            continue;
        }
        if walk.cut_short.is_some() {
            break;
        }
    }
    Ok(())
}

/// `module.name` with every dotted part a non-empty ASCII identifier.
fn is_python_name(dotted: &str) -> bool {
    dotted.contains('.')
        && dotted.split('.').all(|part| {
            part.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
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

/// What a walk through an archive and the archives inside it shares.
pub(super) struct Walk {
    /// Decompressed bytes the pickle walker may still read
    /// (`Limits::pickle_max_scan_bytes` for the whole file).
    scan_left: u64,
    /// Bytes of nested archives that may still be held in memory.
    nested_left: u64,
    /// Archives entered so far, the outer one included.
    depth: usize,
    /// Why the scan stopped early, if it did.
    cut_short: Option<String>,
    /// `"outer.zip" in ` prefixes for messages about nested entries.
    place: String,
}

/// Deepest nesting of archives read (torch zip in a zip in a zip is 3).
const MAX_NESTING: usize = 8;
/// Bytes of first content read from each entry to decide what it holds.
const SNIFF_BYTES: u64 = 64;

/// A NumPy array entry: its header, and the pickle an object array holds,
/// walked within the file's budget.
fn scan_npy_entry<S: Read>(
    stream: &mut S,
    place: &str,
    limits: &Limits,
    walk: &mut Walk,
    facts: &mut ModelFacts,
    report: &mut Report,
) -> io::Result<()> {
    match numpy::read_header(stream)? {
        Err(why) => {
            facts.push(Finding::error(
                "numpy.malformed",
                format!("npy entry {place} is malformed: {why}"),
            ));
            Ok(())
        }
        Ok(header) => {
            // The member's pickle shares the file's walking budget.
            let sub_limits = Limits {
                pickle_max_scan_bytes: walk.scan_left,
                ..limits.clone()
            };
            let mut counted = Counted {
                inner: stream,
                read: 0,
            };
            let mut sub = ModelFacts::new(Format::Numpy, "", 0);
            let outcome = numpy::scan_objects(
                &mut counted,
                &header,
                &sub_limits,
                &mut sub,
                &format!(" entry {place}"),
            );
            walk.scan_left = walk.scan_left.saturating_sub(counted.read);
            outcome?;
            merge_facts(sub, facts, report, walk);
            Ok(())
        }
    }
}

/// Scan one entry by what its bytes are, whatever its name says: a pickle
/// (`.pkl`, or any entry starting like one: CVE-2025-1889 hid the pickle
/// of a torch zip under another name), a zip (nested archives, `.npz`
/// members), a NumPy array (object arrays hold pickles). `Err` when the
/// entry cannot be read.
#[allow(clippy::too_many_arguments)]
fn scan_entry<E: Read>(
    entry: &mut E,
    name: &str,
    place: &str,
    size: u64,
    limits: &Limits,
    walk: &mut Walk,
    facts: &mut ModelFacts,
    report: &mut Report,
) -> io::Result<()> {
    let mut head = Vec::with_capacity(SNIFF_BYTES as usize);
    entry.by_ref().take(SNIFF_BYTES).read_to_end(&mut head)?;
    let named_pickle = name.to_ascii_lowercase().ends_with(".pkl");
    let mut stream = io::Cursor::new(head.clone()).chain(entry);
    if named_pickle {
        let mut src = Source::new(&mut stream, walk.scan_left, Some(size));
        let outcome = scan_stream(
            &mut src,
            report,
            facts,
            &mut walk.cut_short,
            &format!(" {place}"),
        );
        walk.scan_left = walk.scan_left.saturating_sub(src.consumed());
        return outcome;
    }
    if is_zip(&head) {
        return scan_nested(&mut stream, place, size, limits, walk, facts, report);
    }
    if numpy::is_npy(&head) {
        return scan_npy_entry(&mut stream, place, limits, walk, facts, report);
    }
    if !super::is_pickle_start(&head) {
        return Ok(());
    }
    // Starts like a pickle under a name that does not say so: tensor data
    // can start that way by chance, so it counts as a pickle only when the
    // walk shows one (as in bytes no tensor claims, docs/findings.md).
    let mut sub_report = Report::default();
    let mut sub_facts = ModelFacts::new(Format::Pickle, "", 0);
    let mut sub_cut = None;
    let mut src = Source::new(&mut stream, walk.scan_left, Some(size));
    let outcome = scan_stream(
        &mut src,
        &mut sub_report,
        &mut sub_facts,
        &mut sub_cut,
        &format!(" {place}"),
    );
    let consumed = src.consumed();
    walk.scan_left = walk.scan_left.saturating_sub(consumed);
    outcome?;
    // An import counts only when it names something Python could import:
    // random tensor data that happens to start with GLOBAL (`c`) reads a
    // "module" and a "name" up to the next two newlines, which are almost
    // never identifiers.
    let is_pickle = sub_report.imports.iter().any(|i| is_python_name(i))
        || sub_cut.is_some()
        || (sub_report.pickles > 0 && consumed >= 16);
    if !is_pickle {
        return Ok(());
    }
    facts.push(Finding::warning(
        "pickle.unexpected_entry",
        format!("zip entry {place} holds a pickle although its name does not say so (the CVE-2025-1889 pattern)"),
    ));
    for f in sub_facts.findings {
        facts.push(f);
    }
    merge_report(sub_report, report);
    if walk.cut_short.is_none() {
        walk.cut_short = sub_cut;
    }
    Ok(())
}

/// A zip inside the archive: read into memory (within the walk's budget)
/// and walked like the outer one.
fn scan_nested<E: Read>(
    stream: &mut E,
    place: &str,
    size: u64,
    limits: &Limits,
    walk: &mut Walk,
    facts: &mut ModelFacts,
    report: &mut Report,
) -> io::Result<()> {
    if walk.depth >= MAX_NESTING {
        let why = format!("zip entry {place} is an archive nested more than {MAX_NESTING} deep");
        facts.push(Finding::warning(
            "pickle.limit_exceeded",
            format!("not scanned: {why}"),
        ));
        walk.cut_short = Some(why);
        return Ok(());
    }
    if size > walk.nested_left {
        let why = format!(
            "zip entry {place} is an archive of {size} bytes, over the {} bytes left for reading nested archives",
            walk.nested_left
        );
        facts.push(Finding::warning(
            "pickle.limit_exceeded",
            format!("not scanned: {why}"),
        ));
        walk.cut_short = Some(why);
        return Ok(());
    }
    let mut bytes = Vec::new();
    stream.take(size).read_to_end(&mut bytes)?;
    walk.nested_left = walk.nested_left.saturating_sub(bytes.len() as u64);
    let len = bytes.len() as u64;
    let mut inner = Watch {
        inner: io::Cursor::new(bytes),
        failure: None,
        budget: std::rc::Rc::new(ReadBudget::default()),
    };
    let outer_place = std::mem::replace(&mut walk.place, format!("{place} > "));
    walk.depth += 1;
    let outcome = scan_archive(&mut inner, len, limits, facts, report, walk);
    walk.depth -= 1;
    walk.place = outer_place;
    if let Err(e) = outcome {
        facts.push(Finding::error(
            "pickle.zip_malformed",
            format!("zip entry {place} is an archive that cannot be read: {e}"),
        ));
    }
    Ok(())
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

/// Add one scan's imports and counts to another's.
fn merge_report(from: Report, into: &mut Report) {
    into.imports.extend(from.imports);
    into.called.extend(from.called);
    into.calls = into.calls.saturating_add(from.calls);
    into.pickles = into.pickles.saturating_add(from.pickles);
    if into.incomplete.is_none() {
        into.incomplete = from.incomplete;
    }
}

/// Fold the facts of an embedded scan (an `.npy` member's object array)
/// into the archive's: its findings but its own verdict, which the
/// archive's verdict replaces, and its imports.
fn merge_facts(sub: ModelFacts, facts: &mut ModelFacts, report: &mut Report, walk: &mut Walk) {
    for f in sub.findings {
        if f.code == "pickle.code_execution" {
            // The member held a pickle (its verdict is the archive's).
            report.pickles = report.pickles.saturating_add(1);
            continue;
        }
        if f.code == "pickle.limit_exceeded" && walk.cut_short.is_none() {
            walk.cut_short = Some(f.message.clone());
        }
        facts.push(f);
    }
    report.imports.extend(sub.pickle_imports);
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
