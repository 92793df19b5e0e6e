"""A pickle assembler: opcodes written by hand, never `pickle.dumps` of a hostile object.

Opcode bytes and argument encodings are those of CPython's Lib/pickletools.py
(the `opcodes` table) and Lib/pickle.py (the protocol 0-5 writer). Every
payload built here is bytes only; nothing in this package unpickles.
"""
import struct

# Protocol 0/1 text and binary opcodes (pickletools names).
MARK, STOP, POP, POP_MARK, DUP = b"(", b".", b"0", b"1", b"2"
FLOAT, INT, BININT, BININT1, LONG, BININT2, NONE = b"F", b"I", b"J", b"K", b"L", b"M", b"N"
PERSID, BINPERSID, REDUCE, STRING, BINSTRING, SHORT_BINSTRING = b"P", b"Q", b"R", b"S", b"T", b"U"
UNICODE, BINUNICODE, APPEND, BUILD, GLOBAL, DICT, EMPTY_DICT = b"V", b"X", b"a", b"b", b"c", b"d", b"}"
APPENDS, GET, BINGET, INST, LONG_BINGET, LIST, EMPTY_LIST = b"e", b"g", b"h", b"i", b"j", b"l", b"]"
OBJ, PUT, BINPUT, LONG_BINPUT, SETITEM, TUPLE, EMPTY_TUPLE, SETITEMS = (
    b"o", b"p", b"q", b"r", b"s", b"t", b")", b"u")
BINFLOAT = b"G"
# Protocol 2.
PROTO, NEWOBJ, TUPLE1, TUPLE2, TUPLE3, NEWTRUE, NEWFALSE, LONG1 = (
    b"\x80", b"\x81", b"\x85", b"\x86", b"\x87", b"\x88", b"\x89", b"\x8a")
# Protocol 3.
BINBYTES, SHORT_BINBYTES = b"B", b"C"
# Protocol 4.
SHORT_BINUNICODE, BINUNICODE8, BINBYTES8, EMPTY_SET, ADDITEMS, FROZENSET = (
    b"\x8c", b"\x8d", b"\x8e", b"\x8f", b"\x90", b"\x91")
NEWOBJ_EX, STACK_GLOBAL, MEMOIZE, FRAME = b"\x92", b"\x93", b"\x94", b"\x95"
# Protocol 5.
BYTEARRAY8, NEXT_BUFFER, READONLY_BUFFER = b"\x96", b"\x97", b"\x98"


def proto(n):
    return PROTO + bytes([n])


def frame(body):
    """Protocol 4+ framing: FRAME <u64 length> then the body."""
    return FRAME + struct.pack("<Q", len(body)) + body


def glob(module, name):
    """GLOBAL: `c<module>\\n<name>\\n` (protocols 0-3; still read by 4 and 5)."""
    return GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def text_unicode(s):
    """Protocol 0 UNICODE: raw-unicode-escape text up to a newline."""
    return UNICODE + s.encode("raw-unicode-escape") + b"\n"


def text_string(s):
    """Protocol 0 STRING: a quoted Python repr up to a newline."""
    return STRING + repr(s).encode() + b"\n"


def binunicode(s):
    b = s.encode()
    return BINUNICODE + struct.pack("<I", len(b)) + b


def short_binunicode(s):
    b = s.encode()
    if len(b) > 255:
        return binunicode(s)
    return SHORT_BINUNICODE + bytes([len(b)]) + b


def short_binstring(s):
    b = s.encode("latin-1")
    return SHORT_BINSTRING + bytes([len(b)]) + b


def short_binbytes(b):
    return SHORT_BINBYTES + bytes([len(b)]) + b


def binbytes(b):
    return BINBYTES + struct.pack("<I", len(b)) + b


def bytearray8(b):
    return BYTEARRAY8 + struct.pack("<Q", len(b)) + b


def binint(n):
    if 0 <= n < 256:
        return BININT1 + bytes([n])
    if 0 <= n < 65536:
        return BININT2 + struct.pack("<H", n)
    return BININT + struct.pack("<i", n)


def binput(i):
    return BINPUT + bytes([i])


def binget(i):
    return BINGET + bytes([i])


def text_put(i):
    return PUT + str(i).encode() + b"\n"


def text_get(i):
    return GET + str(i).encode() + b"\n"


def stack_global(module, name, string=short_binunicode, memoize=True):
    """Protocol 4 import: two strings on the stack, then STACK_GLOBAL."""
    m = MEMOIZE if memoize else b""
    return string(module) + m + string(name) + m + STACK_GLOBAL + m


def call(callable_bytes, args, tuple_op=None):
    """Push a callable, its argument tuple, REDUCE. `args` are opcode bytes
    for each argument; the tuple uses TUPLE1/2/3 when `tuple_op` is None and
    the count allows, else MARK ... TUPLE."""
    if tuple_op is None and 1 <= len(args) <= 3:
        tup = b"".join(args) + (TUPLE1, TUPLE2, TUPLE3)[len(args) - 1]
    elif not args:
        tup = EMPTY_TUPLE
    else:
        tup = MARK + b"".join(args) + TUPLE
    return callable_bytes + tup + REDUCE


def reduce_call(module, name, args, protocol=4):
    """The shape `pickle.dumps` gives an object whose `__reduce__` returns
    `(module.name, args)`, at `protocol`, written by hand. `args` are Python
    str/int/bytes values (or pre-encoded opcode bytes wrapped in `Raw`)."""
    def enc(v):
        if isinstance(v, Raw):
            return v.data
        if isinstance(v, bool):
            return NEWTRUE if v else NEWFALSE
        if isinstance(v, int):
            return binint(v) if protocol >= 1 else INT + str(v).encode() + b"\n"
        if isinstance(v, bytes):
            return short_binbytes(v) if protocol >= 3 else text_string(v.decode("latin-1"))
        if v is None:
            return NONE
        if protocol == 0:
            return text_unicode(v)
        if protocol < 4:
            return binunicode(v)
        return short_binunicode(v) + MEMOIZE
    enc_args = [enc(a) for a in args]
    if protocol == 0:
        return glob(module, name) + MARK + b"".join(enc_args) + TUPLE + REDUCE + STOP
    if protocol < 4:
        # Protocols 2 and 3 cannot name a dotted qualname with GLOBAL;
        # pickle writes them as getattr(class, name) instead.
        if "." in name:
            outer, attr = name.rsplit(".", 1)
            target = call(glob("builtins", "getattr"), [glob(module, outer), enc(attr)])
        else:
            target = glob(module, name)
        head = proto(protocol) if protocol >= 2 else b""
        return head + call(target, enc_args) + STOP
    body = stack_global(module, name) + (
        b"".join(enc_args) + ((TUPLE1, TUPLE2, TUPLE3)[len(enc_args) - 1] if 1 <= len(enc_args) <= 3
                               else (EMPTY_TUPLE if not enc_args else MARK + TUPLE))
    ) + MEMOIZE + REDUCE + MEMOIZE + STOP
    if len(enc_args) > 3:
        body = stack_global(module, name) + MARK + b"".join(enc_args) + TUPLE + MEMOIZE + REDUCE + MEMOIZE + STOP
    return proto(protocol) + frame(body)


class Raw:
    """Opcode bytes passed through `reduce_call` unchanged."""

    def __init__(self, data):
        self.data = data


def plain_data(protocol):
    """A benign pickle of plain data (dict of str/int/float/list/bytes/None/bool)
    at `protocol`, as CPython's writer lays it out."""
    if protocol == 0:
        return (b"(dp0\n" + text_unicode("name") + text_put(1) + text_unicode("lbom") + text_put(2)
                + SETITEM + text_unicode("layers") + text_put(3) + b"(lp4\nI1\naI2\naI3\na"
                + SETITEM + text_unicode("lr") + text_put(5) + b"F0.001\n" + SETITEM + b".")
    if protocol == 1:
        return (EMPTY_DICT + binput(0) + MARK + binunicode("name") + binput(1) + binunicode("lbom")
                + binput(2) + binunicode("layers") + binput(3) + EMPTY_LIST + binput(4) + MARK
                + binint(1) + binint(2) + binint(3) + APPENDS + binunicode("lr") + binput(5)
                + BINFLOAT + struct.pack(">d", 0.001) + SETITEMS + STOP)
    body = (EMPTY_DICT + (MEMOIZE if protocol >= 4 else binput(0)) + MARK
            + (short_binunicode("name") if protocol >= 4 else binunicode("name"))
            + (short_binunicode("lbom") if protocol >= 4 else binunicode("lbom"))
            + (short_binunicode("layers") if protocol >= 4 else binunicode("layers"))
            + EMPTY_LIST + MARK + binint(1) + binint(2) + binint(3) + APPENDS
            + (short_binunicode("lr") if protocol >= 4 else binunicode("lr"))
            + BINFLOAT + struct.pack(">d", 0.001)
            + (short_binunicode("flag") if protocol >= 4 else binunicode("flag")) + NEWTRUE
            + (short_binunicode("none") if protocol >= 4 else binunicode("none")) + NONE
            + SETITEMS)
    if protocol >= 3:
        body = body[:-1] + (short_binunicode("blob") if protocol >= 4 else binunicode("blob")) \
            + short_binbytes(b"\x00\x01\x02") + SETITEMS
    if protocol >= 5:
        body = body[:-1] + short_binunicode("buf") + bytearray8(b"abc") + SETITEMS
    body += STOP
    if protocol >= 4:
        return proto(protocol) + frame(body)
    return proto(protocol) + body
