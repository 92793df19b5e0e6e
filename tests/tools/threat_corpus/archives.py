"""Deterministic archive writers: zip (Python's zipfile, fixed timestamps), a
minimal 7z writer, NumPy .npy framing, and a torch.save-layout zip.

7z: no 7z library is in the project's venv, so a small writer follows
7-Zip's DOC/7zFormat.txt: the 32-byte signature header, one packed stream
stored with the Copy coder (method id 0x00), and a plain (unencoded) header
with MainStreamsInfo (PackInfo, UnPackInfo, SubStreamsInfo with the CRC)
and FilesInfo (kName). compare_scanners.py checks that py7zr reads what it
writes (tests/tools/README.md).
"""
import io
import struct
import zipfile
import zlib

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def zip_bytes(entries, compression=zipfile.ZIP_STORED):
    """A zip of `entries` (list of (name, bytes)), in order, fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def torch_zip(data_pkl, pkl_name="data.pkl", storages=None, root="archive", extra=()):
    """The member layout torch.save (torch >= 1.6 zipfile serialization) writes,
    per torch/serialization.py `_save`: <root>/data.pkl, .format_version,
    .storage_alignment, byteorder, data/<key> per storage, version,
    .data/serialization_id. Stored (uncompressed), as torch writes it."""
    storages = {"0": struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)} if storages is None else storages
    entries = [(f"{root}/{pkl_name}", data_pkl), (f"{root}/.format_version", b"1"),
               (f"{root}/.storage_alignment", b"64"), (f"{root}/byteorder", b"little")]
    entries += [(f"{root}/data/{k}", v) for k, v in storages.items()]
    entries += [(f"{root}/version", b"3\n"), (f"{root}/.data/serialization_id", b"0" * 40)]
    entries += list(extra)
    return zip_bytes(entries)


def zip_entry_offsets(data, name):
    """(local header offset, central directory header offset) of entry `name`."""
    z = zipfile.ZipFile(io.BytesIO(data))
    info = z.getinfo(name)
    local = info.header_offset
    cd_start = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack_from("<I", data, cd_start + 16)
    pos = cd_offset
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + n].decode() == name:
            return local, pos
        pos += 46 + n + m + k
    raise KeyError(name)


def zip_set_crc(data, name, crc):
    """Write `crc` into both headers of `name` (a CRC mismatch when wrong)."""
    local, central = zip_entry_offsets(data, name)
    b = bytearray(data)
    struct.pack_into("<I", b, local + 14, crc)
    struct.pack_into("<I", b, central + 16, crc)
    return bytes(b)


def zip_or_flags(data, name, bits, local=True, central=True):
    """OR `bits` into the general-purpose flags of `name`'s headers."""
    lo, ce = zip_entry_offsets(data, name)
    b = bytearray(data)
    if local:
        (f,) = struct.unpack_from("<H", b, lo + 6)
        struct.pack_into("<H", b, lo + 6, f | bits)
    if central:
        (f,) = struct.unpack_from("<H", b, ce + 8)
        struct.pack_into("<H", b, ce + 8, f | bits)
    return bytes(b)


def zip_rename_local(data, name, new_name):
    """Change the name in the local header only (same length): the central
    directory and the local header then disagree."""
    if len(new_name) != len(name):
        raise ValueError("same length only")
    lo, _ = zip_entry_offsets(data, name)
    b = bytearray(data)
    assert b[lo + 30:lo + 30 + len(name)] == name.encode()
    b[lo + 30:lo + 30 + len(name)] = new_name.encode()
    return bytes(b)


# ------------------------------------------------------------------- 7z
def _7z_number(v):
    for n in range(9):
        if n == 8 or v < (1 << (7 * (n + 1))):
            break
    if n == 8:
        return b"\xff" + struct.pack("<Q", v)
    high = v >> (8 * n)
    first = ((0xFF << (8 - n)) & 0xFF) | high
    return bytes([first]) + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


def sevenzip(name, data):
    """A 7z archive holding one file, stored with the Copy coder."""
    n = _7z_number
    header = (
        b"\x01"                                              # kHeader
        + b"\x04"                                            # kMainStreamsInfo
        + b"\x06" + n(0) + n(1) + b"\x09" + n(len(data)) + b"\x00"          # PackInfo
        + b"\x07" + b"\x0b" + n(1) + b"\x00"                 # UnPackInfo: 1 folder, not external
        + n(1) + b"\x01" + b"\x00"                           # folder: 1 coder, id size 1, Copy (0x00)
        + b"\x0c" + n(len(data)) + b"\x00"                   # unpack size, kEnd
        + b"\x08" + b"\x0a" + b"\x01" + struct.pack("<I", zlib.crc32(data)) + b"\x00"  # SubStreamsInfo CRC
        + b"\x00"                                            # end of MainStreamsInfo
        + b"\x05" + n(1)                                     # kFilesInfo, 1 file
        + b"\x11" + n(1 + 2 * (len(name) + 1)) + b"\x00" + name.encode("utf-16-le") + b"\x00\x00"
        + b"\x00"                                            # end of FilesInfo
        + b"\x00"                                            # end of Header
    )
    start = struct.pack("<QQI", len(data), len(header), zlib.crc32(header))
    sig = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start
    return sig + data + header


# ------------------------------------------------------------------ NumPy
def npy_header(descr, shape, fortran=False):
    """NPY format 1.0 header (numpy/lib/format.py): magic, version, u16 length,
    a dict literal padded with spaces to a multiple of 64 bytes, ending in \\n."""
    d = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran, tuple(shape))
    total = 10 + len(d) + 1
    pad = (-total) % 64
    text = d + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin-1")


def npy_object_array(pickle_bytes, count=1):
    """An object-dtype .npy: the header, then the pickle np.load(allow_pickle=True)
    reads with pickle.load (numpy/lib/format.py read_array)."""
    return npy_header("|O", (count,)) + pickle_bytes
