"""The case registry every threat-corpus module writes through.

A case is one file (or one folder, for Hugging Face layouts) plus what lbom
must say about it. Each module of this package registers its cases with
`Corpus.add_file` / `Corpus.add_folder`; `generate.py` writes the bytes under
an output folder and the index (`index.json`) that lists every case:

  {"path": "pickle/os-system-proto0.pkl",   relative to the corpus root
   "kind": "file" | "folder",
   "class": "pickle",                       one of CLASSES
   "technique": "...",                      what the case does, in a sentence
   "advisory": "CVE-2024-34359" | null,     the advisory whose shape it reproduces
   "verdict": "malicious" | "benign" | "warning",
   "expected_codes": ["pickle.code_execution"],   codes a fixed lbom should emit (may be empty)
   "why": "...",                            why that verdict
   "committed": true | false,               small cases live in tests/vectors/threats/
   "size": 123, "sha256": "..."}            of the file; of the folder's listing for folders

Verdicts, judged as a station's default policy judges lbom (`fail_on = "error"`):

* malicious: loading or rendering the case runs attacker code (or the case
  hides such a payload where a loader can reach it); lbom must give an error.
* benign: what real checkpoints and models contain; lbom must give no error
  (a pickle's `pickle.code_execution` warning is allowed).
* warning: unusual but not code execution ({% include %}, a very long
  template); lbom should warn and must not refuse.

Nothing here ever unpickles, renders or loads a payload: pickles are raw
opcodes, templates are text.
"""
import hashlib
import json
import os

CLASSES = {
    "template": "a chat template (real or hostile) in a GGUF `tokenizer.chat_template`",
    "template_carrier": "a template in each place a GGUF file or a Hugging Face folder can carry one",
    "pickle": "a raw pickle stream (protocols 0-5), malicious or what real checkpoints hold",
    "pickle_container": "a pickle inside a container: torch zip, nested zip, 7z, NumPy .npy/.npz, joblib",
    "pickle_hidden": "a pickle or archive appended to, or hidden in the gaps of, a GGUF or safetensors file",
    "structure": "header attacks: NUL-suffixed duplicate keys, long tensor names, unknown ggml types, polyglots",
}
VERDICTS = ("malicious", "benign", "warning")
# Cases up to this size are committed under tests/vectors/threats/.
COMMIT_LIMIT = 50 * 1024

# A harmless command for every payload: nothing here is ever run, and if a
# reader ever did run one by mistake it would only print this.
CMD = "echo lbom-threat-corpus"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def folder_digest(files):
    """SHA-256 of a folder: `<sha256>  <relative path>\\n` per file, sorted by path
    (sha256sum's listing format)."""
    lines = "".join(f"{sha256(data)}  {rel}\n" for rel, data in sorted(files.items()))
    return sha256(lines.encode()), sum(len(d) for d in files.values())


class Corpus:
    def __init__(self):
        self.cases = []
        self.payloads = {}
        self._paths = set()

    def _entry(self, path, kind, cls, technique, advisory, verdict, codes, why, committed):
        if cls not in CLASSES:
            raise ValueError(f"{path}: unknown class {cls}")
        if verdict not in VERDICTS:
            raise ValueError(f"{path}: unknown verdict {verdict}")
        if path in self._paths:
            raise ValueError(f"{path}: registered twice")
        self._paths.add(path)
        return {"path": path, "kind": kind, "class": cls, "technique": technique,
                "advisory": advisory, "verdict": verdict, "expected_codes": list(codes),
                "why": why, "committed": committed}

    def add_file(self, path, data, cls, technique, verdict, why, advisory=None, codes=(),
                 commit=None):
        """Register one file. `commit` None: committed when under COMMIT_LIMIT."""
        committed = len(data) <= COMMIT_LIMIT if commit is None else commit
        entry = self._entry(path, "file", cls, technique, advisory, verdict, codes, why, committed)
        entry["size"] = len(data)
        entry["sha256"] = sha256(data)
        self.cases.append(entry)
        self.payloads[path] = {"": data}

    def add_folder(self, path, files, cls, technique, verdict, why, advisory=None, codes=(),
                   commit=None):
        """Register a folder: `files` maps relative paths to bytes."""
        digest, size = folder_digest(files)
        committed = size <= COMMIT_LIMIT if commit is None else commit
        entry = self._entry(path, "folder", cls, technique, advisory, verdict, codes, why, committed)
        entry["size"] = size
        entry["sha256"] = digest
        entry["files"] = sorted(files)
        self.cases.append(entry)
        self.payloads[path] = dict(files)

    def write(self, out, only_committed=False):
        """Write the cases' bytes under `out` (all of them, or the committed ones)."""
        for entry in self.cases:
            if only_committed and not entry["committed"]:
                continue
            for rel, data in self.payloads[entry["path"]].items():
                target = os.path.join(out, entry["path"], rel) if rel else os.path.join(out, entry["path"])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(data)

    def index(self, extra=None):
        doc = {
            "about": "lbom threat corpus: every case, its class and the verdict lbom must reach. "
                     "Written by tests/tools/threat_corpus/generate.py; see docs/threat-corpus.md.",
            "classes": CLASSES,
            "verdicts": {
                "malicious": "lbom must give an error finding (a station's default fail_on = \"error\" refuses it)",
                "benign": "lbom must give no error finding (a pickle's pickle.code_execution warning is allowed)",
                "warning": "unusual, not code execution: lbom should warn and must not give an error",
            },
            "commit_limit_bytes": COMMIT_LIMIT,
            "cases": sorted(self.cases, key=lambda c: c["path"]),
        }
        if extra:
            doc.update(extra)
        return doc


def dump_json(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
