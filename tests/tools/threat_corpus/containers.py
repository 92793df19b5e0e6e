"""Class `pickle_container`: a pickle inside a container a loader opens.

torch zips (the pickle entry named otherwise than *.pkl, CVE-2025-1889;
CRC, flag-bit and name-mismatch zip tricks, CVE-2025-10156 / -1945 /
-1944), zips nested in zips, 7z, NumPy .npy/.npz object arrays, joblib
files compressed with zlib/gzip/bz2/lzma/xz. Benign twins are the real
layouts: a torch.save zip, numeric .npy/.npz, numpy's own object array,
a joblib file of plain data.
"""
import bz2
import gzip
import io
import lzma
import zlib

import archives
from common import CMD
from pickleasm import plain_data, reduce_call
from pickles import PY, torch_state_dict_pickle

CLS = "pickle_container"
CODES = ["pickle.code_execution"]


def evil(protocol=2):
    return reduce_call("os", "system", [CMD], protocol)


def malicious(corpus, path, data, technique, why, advisory=None, codes=CODES):
    corpus.add_file(f"containers/{path}", data, CLS, technique, "malicious", why, advisory, codes)


def benign(corpus, path, data, technique, why):
    corpus.add_file(f"containers/{path}", data, CLS, technique, "benign", why)


def torch_zips(corpus):
    good = torch_state_dict_pickle()
    benign(corpus, "torch-save-benign.pt", archives.torch_zip(good),
           "torch.save zip layout (archive/data.pkl, data/0, version, byteorder, ...) with a state dict",
           "every import is on torch's weights_only allow-list")
    benign(corpus, "torch-save-benign-custom-root.pth", archives.torch_zip(good, root="resnet18"),
           "torch.save layout whose root folder is the file's stem, as torch names it",
           "same content as the benign torch zip")
    malicious(corpus, "torch-zip-data-pkl.pt", archives.torch_zip(evil()),
              "torch zip whose archive/data.pkl calls os.system", "torch.load unpickles data.pkl")
    malicious(corpus, "torch-zip-pickle-named-config-json.pt",
              archives.torch_zip(good, extra=[("archive/config.json", evil())]),
              "torch zip with a benign data.pkl and a malicious pickle in an entry named config.json",
              "torch.load(f, pickle_file='config.json') unpickles any entry; a scanner that only reads *.pkl "
              "entries misses it", advisory="CVE-2025-1889")
    malicious(corpus, "torch-zip-pickle-named-data-txt.zip",
              archives.zip_bytes([("data.txt", evil(4))]),
              "zip whose only entry, data.txt, is a malicious pickle (picklescan malicious1_wrong_ext shape)",
              "a pickle found by content, not by name", advisory="CVE-2025-1889")
    malicious(corpus, "torch-zip-pickle-no-extension.pt",
              archives.torch_zip(evil(), pkl_name="weights"),
              "torch zip layout whose pickle entry is archive/weights (no extension)",
              "torch.load(f, pickle_file='weights') unpickles it", advisory="CVE-2025-1889")
    bad = archives.torch_zip(evil())
    malicious(corpus, "torch-zip-crc-mismatch.pt", archives.zip_set_crc(bad, "archive/data.pkl", 0x12345678),
              "torch zip whose data.pkl CRC-32 is wrong in both headers",
              "Python's zipfile refuses the entry (so zipfile-based scanners skip it) while torch's reader does "
              "not check the CRC and unpickles it", advisory="CVE-2025-10156",
              codes=CODES + ["pickle.zip_malformed"])
    malicious(corpus, "torch-zip-flag-bit5-patched-data.pt",
              archives.zip_or_flags(bad, "archive/data.pkl", 0x20),
              "torch zip whose data.pkl has general-purpose flag bit 5 (compressed patched data) set",
              "Python's zipfile raises NotImplementedError on the entry; a loader that ignores the flag "
              "unpickles it", advisory="CVE-2025-1945", codes=CODES + ["pickle.zip_malformed"])
    malicious(corpus, "torch-zip-flag-bit0-encrypted.pt",
              archives.zip_or_flags(bad, "archive/data.pkl", 0x01),
              "torch zip whose data.pkl has the 'encrypted' flag set although it is not encrypted",
              "Python's zipfile asks for a password and the scanner skips the entry; the bytes are a plain "
              "malicious pickle", advisory="CVE-2025-1945", codes=CODES + ["pickle.zip_malformed"])
    malicious(corpus, "torch-zip-local-name-mismatch.pt",
              archives.zip_rename_local(bad, "archive/data.pkl", "archive/datap.kl"),
              "local header names archive/datap.kl, central directory archive/data.pkl",
              "Python's zipfile refuses the mismatch; torch's reader goes by the central directory",
              advisory="CVE-2025-1944", codes=CODES + ["pickle.zip_malformed"])
    malicious(corpus, "torch-zip-deflated.pt",
              archives.zip_bytes([("archive/data.pkl", evil()), ("archive/version", b"3\n")],
                                 compression=archives.zipfile.ZIP_DEFLATED),
              "torch zip whose data.pkl is deflate-compressed", "zip readers inflate it before unpickling")
    malicious(corpus, "torch-zip-deep-path.pt",
              archives.zip_bytes([("a/b/c/d/data.pkl", evil()), ("a/b/c/d/version", b"3\n")]),
              "pickle entry four folders deep", "found by content wherever it sits")


def nested(corpus):
    inner = archives.torch_zip(evil())
    malicious(corpus, "zip-in-zip.zip", archives.zip_bytes([("model/pytorch_model.bin", inner)]),
              "a zip holding a torch zip whose data.pkl calls os.system",
              "unpacking the outer archive yields a malicious checkpoint")
    level2 = archives.zip_bytes([("inner.zip", archives.zip_bytes([("model.pt", inner)]))])
    malicious(corpus, "zip-in-zip-in-zip.zip", level2, "three nested zips, a malicious torch zip innermost",
              "every level unpacks to the next")
    malicious(corpus, "zip-in-zip-stored-as-bin.bin", archives.zip_bytes([("weights.bin", inner)]),
              "nested zip named .bin", "content, not the name, makes it a container of a pickle")
    benign(corpus, "zip-in-zip-benign.zip",
           archives.zip_bytes([("model/pytorch_model.bin", archives.torch_zip(torch_state_dict_pickle()))]),
           "a zip holding a benign torch zip", "the inner checkpoint imports only allow-listed callables")


def sevenzip(corpus):
    malicious(corpus, "archive-data-pkl.7z", archives.sevenzip("archive/data.pkl", evil(4)),
              "7z archive (Copy coder) holding a malicious data.pkl (picklescan malicious1.7z shape)",
              "a 7z is a container of a pickle: read it or refuse it (an error either way), never wave it through")
    malicious(corpus, "torch-zip-in.7z", archives.sevenzip("model.pt", archives.torch_zip(evil())),
              "7z archive holding a malicious torch zip", "two containers deep")


def numpy_files(corpus):
    import numpy as np  # noqa: PLC0415

    def npy(arr):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=True)
        return buf.getvalue()

    malicious(corpus, "object-array-os-system.npy", archives.npy_object_array(evil(3)),
              "NPY header with descr '|O', then a pickle calling os.system",
              "np.load(allow_pickle=True) unpickles everything after the header")
    malicious(corpus, "object-array-eval-proto4.npy", archives.npy_object_array(reduce_call("builtins", "eval", [PY], 4)),
              "object .npy whose pickle calls builtins.eval (protocol 4)", "np.load(allow_pickle=True)")
    malicious(corpus, "object-array-in.npz",
              archives.zip_bytes([("weights.npy", npy(np.zeros(3, dtype=np.float32))),
                                  ("meta.npy", archives.npy_object_array(evil(3)))]),
              ".npz (zip of .npy) with one malicious object array among numeric ones",
              "np.load(..., allow_pickle=True)['meta'] unpickles it")
    benign(corpus, "float32-array.npy", npy(np.arange(16, dtype=np.float32)),
           "numeric .npy written by numpy.save", "no pickle at all")
    benign(corpus, "numeric-arrays.npz",
           archives.zip_bytes([("a.npy", npy(np.arange(4, dtype=np.int64))),
                               ("b.npy", npy(np.ones((2, 2), dtype=np.float16)))]),
           ".npz of numeric arrays (the layout numpy.savez writes, fixed timestamps)", "no pickle at all")
    obj = np.empty(3, dtype=object)
    obj[:] = [1, "two", 3.0]
    benign(corpus, "object-array-plain-values.npy", npy(obj),
           f"object .npy written by numpy {np.__version__} of plain ints/str/float",
           "its pickle imports only numpy's array rebuild callables (allow-list)")


JOBLIB = [
    # (suffix, compress, joblib's magic for it; joblib/compressor.py)
    ("joblib.z", lambda b: zlib.compress(b, 3), "zlib (joblib _ZLIB_PREFIX b'\\x78')"),
    ("joblib.gz", lambda b: gzip.compress(b, 3, mtime=0), "gzip (b'\\x1f\\x8b')"),
    ("joblib.bz2", lambda b: bz2.compress(b, 3), "bz2 (b'BZ')"),
    ("joblib.xz", lambda b: lzma.compress(b, format=lzma.FORMAT_XZ), "xz (b'\\xfd7zXZ')"),
    ("joblib.lzma", lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE), "lzma alone (b'\\x5d\\x00')"),
]


def joblib_files(corpus):
    for suffix, compress, how in JOBLIB:
        malicious(corpus, f"model.{suffix}", compress(evil(4)),
                  f"joblib file compressed with {how}: a malicious pickle inside",
                  "joblib.load detects the compressor by magic and unpickles the stream")
    for suffix, compress, how in JOBLIB[:1] + JOBLIB[3:4]:
        benign(corpus, f"plain-data.{suffix}", compress(plain_data(4)),
               f"joblib file compressed with {how} holding plain data", "no import at all")
    malicious(corpus, "model.joblib", evil(4), "uncompressed joblib file (a plain pickle) named .joblib",
              "joblib.load unpickles it")


def build(corpus):
    torch_zips(corpus)
    nested(corpus)
    sevenzip(corpus)
    numpy_files(corpus)
    joblib_files(corpus)
