//! The opcode walker: reads a pickle opcode by opcode, never builds an
//! object, and keeps just enough of the unpickler's stack and memo (strings,
//! imported callables, marks) to name what `STACK_GLOBAL` would import.
//!
//! Stack effects follow CPython's `_Unpickler` (Lib/pickle.py): MARK opens a
//! new frame on the metastack, opcodes that consume "up to the mark" close
//! it, and popping past the current frame is an underflow (malformed), as it
//! is for CPython. Every length is checked against the bytes left before it
//! is read, and payloads are skipped, not stored, except short strings.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::rc::Rc;

use super::opcodes::{self, Arg, Op};

/// Strings longer than this are not kept (no module or callable name is this
/// long); a `STACK_GLOBAL` built from one is reported as unresolved.
const MAX_NAME_BYTES: usize = 1024;
/// Most values held on the stack and metastack together; a real pickle
/// stays far below (CPython batches list and dict items by 1000).
const MAX_STACK_VALUES: usize = 1 << 16;
/// Most memo entries tracked; beyond, memo reads resolve to "unknown".
const MAX_MEMO_ENTRIES: usize = 1 << 17;
/// Most bytes of text (strings and callable names) one pickle's stack and
/// memo keep; beyond, new strings are "unknown" (a `STACK_GLOBAL` built
/// from one reports an unresolved import: fail closed). With the caps above,
/// one scan holds a few MiB whatever the pickle (docs/bundle-format.md,
/// "Reader limits": four artifacts are scanned at once).
const MAX_KEPT_TEXT_BYTES: usize = 4 << 20;
/// Most distinct imports listed.
const MAX_IMPORTS: usize = 1_000;
/// Read buffer for the opcode stream.
const BUFFER_BYTES: usize = 64 << 10;

/// Why a scan stopped before STOP.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The underlying reader failed.
    Io(io::Error),
    /// The input ended inside a pickle.
    Truncated,
    /// The scan budget (`Limits::pickle_max_scan_bytes`) ran out, or a
    /// tracking cap was hit: what follows is unknown.
    Limit(String),
    /// Something CPython's unpickler would reject.
    Malformed(String),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// A buffered, counted byte source with a hard budget.
pub(crate) struct Source<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Bytes handed to the scanner so far.
    consumed: u64,
    /// Most bytes the scanner may consume.
    budget: u64,
    /// Bytes the input holds (file length or declared entry size), if known.
    size: Option<u64>,
    eof: bool,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R, budget: u64, size: Option<u64>) -> Self {
        Self {
            inner,
            buf: vec![0; BUFFER_BYTES],
            pos: 0,
            filled: 0,
            consumed: 0,
            budget,
            size,
            eof: false,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Refill so that at least `want` bytes are buffered, unless the input ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.filled - self.pos >= want || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.pos..self.filled, 0);
        self.filled -= self.pos;
        self.pos = 0;
        while self.filled < want.min(self.buf.len()) {
            let Some(space) = self.buf.get_mut(self.filled..) else {
                break;
            };
            match self.inner.read(space) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Up to `n` upcoming bytes without consuming them (n ≤ buffer size).
    pub(crate) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        self.fill(n)?;
        let end = self.filled.min(self.pos.saturating_add(n));
        Ok(self.buf.get(self.pos..end).unwrap_or_default())
    }

    /// Consume `n` buffered bytes, charging the budget.
    fn advance(&mut self, n: usize) -> Result<(), Stop> {
        let n64 = n as u64;
        if self.consumed.saturating_add(n64) > self.budget {
            return Err(Stop::Limit(format!(
                "the scan stopped at the {}-byte limit",
                self.budget
            )));
        }
        self.consumed += n64;
        self.pos += n;
        Ok(())
    }

    /// The next byte, or `None` at the end of the input.
    pub(crate) fn next_byte(&mut self) -> Result<Option<u8>, Stop> {
        self.fill(1)?;
        let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.filled) else {
            return Ok(None);
        };
        self.advance(1)?;
        Ok(Some(b))
    }

    fn byte(&mut self) -> Result<u8, Stop> {
        self.next_byte()?.ok_or(Stop::Truncated)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let mut out = [0u8; N];
        for slot in &mut out {
            *slot = self.byte()?;
        }
        Ok(out)
    }

    /// Bytes left in the input, when its size is known.
    fn left(&self) -> Option<u64> {
        self.size.map(|s| s.saturating_sub(self.consumed))
    }

    /// Check a declared length against what the input can still hold.
    fn check_len(&self, len: u64, what: &str) -> Result<(), Stop> {
        match self.left() {
            Some(left) if len > left => Err(Stop::Malformed(format!(
                "{what} declares {len} bytes but only {left} are left"
            ))),
            _ => Ok(()),
        }
    }

    /// Read `len` bytes, keeping at most the first `keep`; the rest is skipped.
    fn payload(&mut self, len: u64, keep: usize) -> Result<(Vec<u8>, bool), Stop> {
        let mut kept = Vec::new();
        let mut left = len;
        while left > 0 {
            self.fill(1)?;
            let available = self.filled - self.pos;
            if available == 0 {
                return Err(Stop::Truncated);
            }
            let take = usize::try_from(left).map_or(available, |l| l.min(available));
            let room = keep.saturating_sub(kept.len()).min(take);
            if let Some(chunk) = self.buf.get(self.pos..self.pos + room) {
                kept.extend_from_slice(chunk);
            }
            self.advance(take)?;
            left -= take as u64;
        }
        let complete = len <= keep as u64;
        Ok((kept, complete))
    }

    /// A newline-terminated line without the newline, keeping at most `keep`
    /// bytes; the flag says whether the whole line was kept.
    fn line(&mut self, keep: usize) -> Result<(Vec<u8>, bool), Stop> {
        let mut kept = Vec::new();
        let mut complete = true;
        loop {
            self.fill(1)?;
            let window = self.buf.get(self.pos..self.filled).unwrap_or_default();
            if window.is_empty() {
                return Err(Stop::Truncated);
            }
            let newline = window.iter().position(|&b| b == b'\n');
            let body = newline.unwrap_or(window.len());
            let room = keep.saturating_sub(kept.len()).min(body);
            if room < body {
                complete = false;
            }
            kept.extend_from_slice(window.get(..room).unwrap_or_default());
            match newline {
                Some(at) => {
                    self.advance(at + 1)?;
                    return Ok((kept, complete));
                }
                None => self.advance(body)?,
            }
        }
    }
}

/// What the scanner knows about one stack or memo value.
#[derive(Debug, Clone)]
enum Value {
    /// A text string short enough to be a name.
    Str(Rc<str>),
    /// An imported callable (`module.name`).
    Global(Rc<str>),
    /// Anything else.
    Other,
}

/// What all scanned pickles of one file import and call.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// `module.name` of every import, `<unresolved>`, `<ext:N>`.
    pub(crate) imports: BTreeSet<String>,
    /// Imports applied by REDUCE/OBJ/NEWOBJ/INST (those are certainly called).
    pub(crate) called: BTreeSet<String>,
    /// REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX opcodes seen.
    pub(crate) calls: u64,
    /// Complete pickles seen.
    pub(crate) pickles: u64,
    /// Set when an import could not be listed (cap reached).
    pub(crate) incomplete: Option<String>,
}

impl Report {
    fn import(&mut self, name: &str) {
        if self.imports.len() < MAX_IMPORTS {
            self.imports.insert(name.to_owned());
        } else if !self.imports.contains(name) {
            self.incomplete = Some(format!("more than {MAX_IMPORTS} distinct imports"));
        }
    }
}

/// The legacy torch magic number 0x1950a86a20f9469cfc6c as the LONG1
/// payload `torch.save` wrote before the zip format (torch/serialization.py
/// `MAGIC_NUMBER`).
const TORCH_LEGACY_MAGIC: &[u8] = b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// What one pickle looked like, for the multi-pickle walk.
#[derive(Debug, Default)]
pub(crate) struct PickleShape {
    /// The pickle is exactly the legacy torch magic number.
    pub(crate) torch_magic: bool,
}

/// Unpickler state for one pickle.
#[derive(Default)]
struct Machine {
    stack: Vec<Value>,
    frames: Vec<Vec<Value>>,
    held: usize,
    memo: HashMap<u64, Value>,
    memo_full: bool,
    opcodes: u64,
    saw_magic: bool,
    /// Text bytes kept so far, against [`MAX_KEPT_TEXT_BYTES`].
    kept_text: usize,
}

impl Machine {
    /// `v` if its text fits what is left of [`MAX_KEPT_TEXT_BYTES`], else
    /// "unknown" (its text is not kept).
    fn kept(&mut self, v: Value) -> Value {
        let len = match &v {
            Value::Str(t) | Value::Global(t) => t.len(),
            Value::Other => return v,
        };
        self.kept_text = self.kept_text.saturating_add(len);
        if self.kept_text > MAX_KEPT_TEXT_BYTES {
            Value::Other
        } else {
            v
        }
    }

    fn push(&mut self, v: Value) -> Result<(), Stop> {
        if self.held >= MAX_STACK_VALUES {
            return Err(Stop::Limit(format!(
                "the pickle stack grew past {MAX_STACK_VALUES} values"
            )));
        }
        self.held += 1;
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, Stop> {
        let v = self
            .stack
            .pop()
            .ok_or_else(|| Stop::Malformed("stack underflow".into()))?;
        self.held -= 1;
        Ok(v)
    }

    fn pop_n(&mut self, n: usize) -> Result<(), Stop> {
        for _ in 0..n {
            self.pop()?;
        }
        Ok(())
    }

    fn top(&self) -> Result<&Value, Stop> {
        self.stack
            .last()
            .ok_or_else(|| Stop::Malformed("stack empty where a value is needed".into()))
    }

    fn mark(&mut self) -> Result<(), Stop> {
        if self.held >= MAX_STACK_VALUES {
            return Err(Stop::Limit(format!(
                "the pickle stack grew past {MAX_STACK_VALUES} values"
            )));
        }
        self.held += 1;
        let frame = std::mem::take(&mut self.stack);
        self.frames.push(frame);
        Ok(())
    }

    /// Close the current frame; its items (the callers only need the first).
    fn pop_mark(&mut self) -> Result<Vec<Value>, Stop> {
        let outer = self
            .frames
            .pop()
            .ok_or_else(|| Stop::Malformed("no MARK to pop to".into()))?;
        let items = std::mem::replace(&mut self.stack, outer);
        self.held -= items.len() + 1;
        Ok(items)
    }

    fn memo_set(&mut self, index: u64) -> Result<(), Stop> {
        let v = self.top()?.clone();
        if self.memo.len() < MAX_MEMO_ENTRIES || self.memo.contains_key(&index) {
            self.memo.insert(index, v);
        } else {
            self.memo_full = true;
        }
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Result<(), Stop> {
        let v = match self.memo.get(&index) {
            Some(v) => v.clone(),
            None if self.memo_full => Value::Other,
            None => {
                return Err(Stop::Malformed(format!(
                    "memo entry {index} read before it was written"
                )));
            }
        };
        self.push(v)
    }

    fn memo_next_index(&self) -> u64 {
        self.memo.len() as u64
    }
}

/// Scan one pickle up to and including STOP.
pub(crate) fn scan_one<R: Read>(
    src: &mut Source<R>,
    report: &mut Report,
) -> Result<PickleShape, Stop> {
    let mut m = Machine::default();
    loop {
        let at = src.consumed();
        let byte = src.byte()?;
        let (op, arg) = opcodes::decode(byte)
            .ok_or_else(|| Stop::Malformed(format!("unknown opcode 0x{byte:02x} at byte {at}")))?;
        m.opcodes += 1;
        if step(&mut m, src, report, op, arg)? {
            report.pickles += 1;
            return Ok(PickleShape {
                torch_magic: m.saw_magic && m.opcodes <= 4,
            });
        }
    }
}

/// Decoded argument of one opcode.
enum Decoded {
    None,
    Int(u64),
    SignedInt(i32),
    Bytes(Vec<u8>, bool),
    /// Module and name lines, and whether both were kept whole.
    Lines(Vec<u8>, Vec<u8>, bool),
}

fn read_arg<R: Read>(src: &mut Source<R>, op: Op, arg: Arg) -> Result<Decoded, Stop> {
    Ok(match arg {
        Arg::None => Decoded::None,
        Arg::Fixed(1) => Decoded::Int(u64::from(src.byte()?)),
        Arg::Fixed(2) => Decoded::Int(u64::from(u16::from_le_bytes(src.array()?))),
        // int4 (BININT, EXT4) is signed; uint4 (LONG_BINGET/PUT) unsigned.
        Arg::Fixed(4) if matches!(op, Op::BinInt | Op::Ext4) => {
            Decoded::SignedInt(i32::from_le_bytes(src.array()?))
        }
        Arg::Fixed(4) => Decoded::Int(u64::from(u32::from_le_bytes(src.array()?))),
        Arg::Fixed(_) => Decoded::Int(u64::from_le_bytes(src.array::<8>()?)),
        Arg::Line => {
            let (line, complete) = src.line(MAX_NAME_BYTES)?;
            Decoded::Bytes(line, complete)
        }
        Arg::LinePair => {
            let (module, module_complete) = src.line(MAX_NAME_BYTES)?;
            let (name, name_complete) = src.line(MAX_NAME_BYTES)?;
            Decoded::Lines(module, name, module_complete && name_complete)
        }
        Arg::Len1 => {
            let len = u64::from(src.byte()?);
            src.check_len(len, "a length prefix")?;
            let (b, c) = src.payload(len, MAX_NAME_BYTES)?;
            Decoded::Bytes(b, c)
        }
        Arg::Len4Signed => {
            let len = i32::from_le_bytes(src.array()?);
            let len = u64::try_from(len)
                .map_err(|_| Stop::Malformed(format!("negative length {len}")))?;
            src.check_len(len, "a length prefix")?;
            let (b, c) = src.payload(len, MAX_NAME_BYTES)?;
            Decoded::Bytes(b, c)
        }
        Arg::Len4 | Arg::Len8 => {
            let len = if arg == Arg::Len4 {
                u64::from(u32::from_le_bytes(src.array()?))
            } else {
                u64::from_le_bytes(src.array()?)
            };
            src.check_len(len, "a length prefix")?;
            let (b, c) = src.payload(len, MAX_NAME_BYTES)?;
            Decoded::Bytes(b, c)
        }
    })
}

/// Execute one opcode's stack effect. `Ok(true)` at STOP.
fn step<R: Read>(
    m: &mut Machine,
    src: &mut Source<R>,
    report: &mut Report,
    op: Op,
    arg: Arg,
) -> Result<bool, Stop> {
    let decoded = read_arg(src, op, arg)?;
    match op {
        Op::Proto => {
            if let Decoded::Int(p) = decoded
                && p > 5
            {
                return Err(Stop::Malformed(format!("unsupported protocol {p}")));
            }
        }
        Op::Frame => {
            if let Decoded::Int(len) = decoded {
                src.check_len(len, "a FRAME")?;
            }
        }
        Op::Stop => {
            m.pop()?;
            return Ok(true);
        }
        // Values the scanner does not need to know.
        Op::Int
        | Op::BinInt
        | Op::BinInt1
        | Op::BinInt2
        | Op::Long
        | Op::Long4
        | Op::BinBytes
        | Op::ShortBinBytes
        | Op::BinBytes8 => m.push(Value::Other)?,
        Op::ByteArray8
        | Op::NextBuffer
        | Op::None
        | Op::NewTrue
        | Op::NewFalse
        | Op::Float
        | Op::BinFloat => m.push(Value::Other)?,
        Op::EmptyList | Op::EmptyTuple | Op::EmptyDict | Op::EmptySet => m.push(Value::Other)?,
        Op::Long1 => {
            if let Decoded::Bytes(b, _) = &decoded {
                m.saw_magic |= b.as_slice() == TORCH_LEGACY_MAGIC;
            }
            m.push(Value::Other)?;
        }
        Op::String
        | Op::BinString
        | Op::ShortBinString
        | Op::Unicode
        | Op::ShortBinUnicode
        | Op::BinUnicode
        | Op::BinUnicode8 => {
            let value = match decoded {
                Decoded::Bytes(b, true) => text_value(op, &b)?,
                _ => Value::Other,
            };
            let value = m.kept(value);
            m.push(value)?;
        }
        Op::ReadonlyBuffer => {
            m.top()?;
        }
        Op::Append => m.pop_n(1)?,
        Op::SetItem => m.pop_n(2)?,
        Op::Appends | Op::SetItems | Op::AddItems => {
            m.pop_mark()?;
            m.top()?;
        }
        Op::List | Op::Tuple | Op::Dict | Op::FrozenSet => {
            m.pop_mark()?;
            m.push(Value::Other)?;
        }
        Op::Tuple1 | Op::Tuple2 | Op::Tuple3 => {
            let n = match op {
                Op::Tuple1 => 1,
                Op::Tuple2 => 2,
                _ => 3,
            };
            m.pop_n(n)?;
            m.push(Value::Other)?;
        }
        Op::Pop => {
            // CPython: POP on an empty frame pops the mark instead.
            if m.stack.is_empty() {
                m.pop_mark()?;
            } else {
                m.pop()?;
            }
        }
        Op::Dup => {
            let v = m.top()?.clone();
            m.push(v)?;
        }
        Op::Mark => m.mark()?,
        Op::PopMark => {
            m.pop_mark()?;
        }
        Op::Get | Op::BinGet | Op::LongBinGet => m.memo_get(memo_index(&decoded)?)?,
        Op::Put | Op::BinPut | Op::LongBinPut => m.memo_set(memo_index(&decoded)?)?,
        Op::Memoize => {
            let index = m.memo_next_index();
            m.memo_set(index)?;
        }
        Op::Ext1 | Op::Ext2 | Op::Ext4 => {
            let code = match decoded {
                Decoded::Int(c) => i64::try_from(c).unwrap_or(i64::MAX),
                Decoded::SignedInt(c) => i64::from(c),
                _ => 0,
            };
            if code <= 0 {
                return Err(Stop::Malformed(format!(
                    "extension code {code} is not positive"
                )));
            }
            let name = format!("<ext:{code}>");
            report.import(&name);
            let value = m.kept(Value::Global(name.into()));
            m.push(value)?;
        }
        Op::Global => {
            let name = global_name(&decoded);
            report.import(&name);
            let value = m.kept(Value::Global(name.into()));
            m.push(value)?;
        }
        Op::StackGlobal => {
            let name = m.pop()?;
            let module = m.pop()?;
            let full = match (module, name) {
                (Value::Str(module), Value::Str(name)) => format!("{module}.{name}"),
                _ => UNRESOLVED.to_owned(),
            };
            report.import(&full);
            let value = m.kept(Value::Global(full.into()));
            m.push(value)?;
        }
        Op::Inst => {
            let name = global_name(&decoded);
            report.import(&name);
            report.called.insert(name);
            report.calls += 1;
            m.pop_mark()?;
            m.push(Value::Other)?;
        }
        Op::Obj => {
            let items = m.pop_mark()?;
            let callable = items
                .first()
                .ok_or_else(|| Stop::Malformed("OBJ without a class".into()))?;
            called(report, callable);
            m.push(Value::Other)?;
        }
        Op::Reduce | Op::NewObj | Op::NewObjEx => {
            // REDUCE: callable, args; NEWOBJ: cls, args; NEWOBJ_EX: cls, args, kwargs.
            m.pop_n(if op == Op::NewObjEx { 2 } else { 1 })?;
            let callable = m.pop()?;
            called(report, &callable);
            m.push(Value::Other)?;
        }
        Op::Build => {
            m.pop()?;
            m.top()?;
            report.calls += 1;
        }
        Op::PersId => m.push(Value::Other)?,
        Op::BinPersId => {
            m.pop()?;
            m.push(Value::Other)?;
        }
    }
    Ok(false)
}

/// Recorded for a STACK_GLOBAL whose operands are not two known strings.
pub(crate) const UNRESOLVED: &str = "<unresolved>";

fn called(report: &mut Report, callable: &Value) {
    report.calls += 1;
    if let Value::Global(name) = callable
        && report.called.len() < MAX_IMPORTS
    {
        report.called.insert(name.to_string());
    }
}

/// `module.name` from GLOBAL/INST lines (CPython decodes them as UTF-8).
fn global_name(decoded: &Decoded) -> String {
    match decoded {
        Decoded::Lines(module, name, complete) => format!(
            "{}.{}{}",
            String::from_utf8_lossy(module),
            String::from_utf8_lossy(name),
            // A cut name must never equal an allowed one.
            if *complete { "" } else { "…(truncated)" }
        ),
        _ => UNRESOLVED.to_owned(),
    }
}

fn memo_index(decoded: &Decoded) -> Result<u64, Stop> {
    match decoded {
        Decoded::Int(i) => Ok(*i),
        Decoded::Bytes(line, _) => std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Stop::Malformed(format!(
                    "memo index {:?} is not a non-negative integer",
                    String::from_utf8_lossy(line)
                ))
            }),
        _ => Err(Stop::Malformed("memo index missing".into())),
    }
}

/// A string opcode's value. Only strings whose meaning is certain become
/// names: escapes (protocol 0 `STRING`/`UNICODE`) and non-ASCII `BINSTRING`
/// bytes (decoded by the unpickler's `encoding`) are kept as unknown, so a
/// `STACK_GLOBAL` built from them is reported as unresolved (fail closed).
fn text_value(op: Op, bytes: &[u8]) -> Result<Value, Stop> {
    let text = match op {
        Op::String => {
            // pickletools stringnl: a quoted repr.
            let inner = match bytes {
                [q @ (b'\'' | b'"'), inner @ .., last] if last == q => inner,
                _ => return Err(Stop::Malformed("STRING argument is not quoted".into())),
            };
            if inner.contains(&b'\\') || !inner.is_ascii() {
                return Ok(Value::Other);
            }
            inner
        }
        Op::Unicode if bytes.contains(&b'\\') || !bytes.is_ascii() => return Ok(Value::Other),
        Op::BinString | Op::ShortBinString if !bytes.is_ascii() => return Ok(Value::Other),
        _ => bytes,
    };
    Ok(std::str::from_utf8(text).map_or(Value::Other, |s| Value::Str(s.into())))
}
