"""The trust policy, docs/policy.md §2-§5: load a TOML file into the rules
the checks use, refusing every policy the document refuses. A load error is
a PolicyError (exit 2, or 10 when a file cannot be read: §3).
"""

import base64
import binascii
import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field

from manifest import is_label
from refusal import PolicyError

MAX_POLICY = 1 << 20  # [P1]
MAX_KEY_FILE = 64 << 10  # [P13]
MAX_KEYS = 1000  # [P9]
MAX_ROLES = 256  # [P9]
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # bundle-format.md §7 "Key id"
FORMATS = [  # §4.4
    "gguf", "safetensors", "pickle", "pytorch-zip", "json", "text", "tiktoken", "sentencepiece", "code",
    "unknown",
]
SEVERITIES = ["none", "info", "warning", "error"]
DRIFT_CLASSES = [  # §8, in order of consequence
    "format", "architecture", "quantization", "tokenizer", "chat_template", "licence", "base_model",
    "tensors", "tensor_types", "parameter_count", "context_length", "vocab_size", "name_version",
    "metadata", "findings", "file_changed", "file_removed", "file_added", "file_renamed",
]
DEFAULT_DRIFT = ["format", "architecture", "quantization", "tokenizer", "chat_template", "licence", "base_model"]
SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
U64_MAX = 2**64 - 1


@dataclass
class TrustedKey:
    key_id: str
    public: bytes
    name: str  # the first name it is listed under (§5)
    roles: set = field(default_factory=set)


@dataclass
class Policy:
    path: str
    sha256: str
    keys: dict  # key id -> TrustedKey (one entry per distinct key, [P26])
    required_roles: list
    thresholds: dict
    unknown_signers: str
    allowed_formats: list
    allowed_licences: object  # None (any) or list
    fail_on: str
    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int
    max_path_bytes: int
    max_age: object  # seconds, or None for "none"
    require_expiry: bool
    clock: str
    allow_rollback: bool
    allow_fork: bool
    require_acceptance: list

    def keys_for_role(self, role: str) -> set:
        return {k for k, key in self.keys.items() if role in key.roles}


def invalid(key: str, problem: str) -> PolicyError:
    return PolicyError(f"{key}: {problem}")


def read_regular(path: str, limit: int, what: str) -> bytes:
    """[P1], [P13]: a regular file of at most `limit` bytes, checked before
    reading, without blocking on a FIFO or device."""
    try:
        info = os.stat(path)
    except OSError as e:
        raise PolicyError(f"{what} {path}: {e.strerror}", io=True) from None
    if not stat.S_ISREG(info.st_mode):
        raise PolicyError(f"{what} {path} is not a regular file")
    if info.st_size > limit:
        raise PolicyError(f"{what} {path} is larger than {limit} bytes")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise PolicyError(f"{what} {path}: {e.strerror}", io=True) from None
    if len(data) > limit:
        raise PolicyError(f"{what} {path} is larger than {limit} bytes")
    return data


def only_keys(table, allowed, where: str) -> None:
    """[P4]: every table rejects keys it does not define."""
    if not isinstance(table, dict):
        raise invalid(where, "is not a table")
    for key in table:
        if key not in allowed:
            raise invalid(f"{where}.{key}" if where else key, "unknown key")


def label_list(value, where: str, empty_ok: bool = False) -> list:
    if not isinstance(value, list) or (not value and not empty_ok):
        raise invalid(where, "must be a non-empty list of labels")
    for item in value:
        if not is_label(item):
            raise invalid(where, f"{item!r} is not a label")
    no_repeats(value, where)
    return value


def no_repeats(value: list, where: str) -> None:
    """[P8]: no list names the same value twice."""
    seen = set()
    for item in value:
        if item in seen:
            raise invalid(where, f"{item!r} is listed twice")
        seen.add(item)


def parse_pem(text: str, where: str) -> bytes:
    """[P13]: one SPKI PEM block in any layout (whitespace around lines,
    blank lines, CRLF, any wrapping), nothing else; the DER must be the
    Ed25519 SPKI of RFC 8410 (the only DER encoding of one)."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if lines and "PRIVATE KEY" in lines[0]:
        raise invalid(where, "is a private key; the policy needs the public key (NAME.pub)")
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise invalid(where, "is not one PEM PUBLIC KEY block")
    body = "".join(lines[1:-1])
    if ":" in body or "-" in body:
        raise invalid(where, "PEM headers or a second block are not allowed")
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(where, "PEM body is not base64") from None
    if len(der) != 44 or not der.startswith(SPKI_PREFIX):
        raise invalid(where, "is not an Ed25519 SubjectPublicKeyInfo")
    return der


def parse_size(value, where: str) -> int:
    """§4 *size*: a positive integer, or decimal digits with an optional
    unit. One space between number and unit is accepted, as in the examples
    `"500 MB"`; none too (ambiguity R9 in README.md)."""
    if isinstance(value, bool):
        raise invalid(where, "is not a size")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        m = re.fullmatch(r"([0-9]+) ?([A-Za-z]+)?", value)
        if not m:
            raise invalid(where, f"{value!r} is not a size")
        unit = m.group(2) or "B"
        if unit not in SIZE_UNITS:
            raise invalid(where, f"unknown unit {unit!r} (units are case-sensitive)")
        number = int(m.group(1)) * SIZE_UNITS[unit]
    else:
        raise invalid(where, "is not a size")
    if number < 1:
        raise invalid(where, "must be at least 1 ([P22])")
    if number > U64_MAX:
        raise invalid(where, "is above 2^64 - 1 bytes ([P22])")
    return number


FRIENDLY_UNITS = [
    (("weeks", "week", "wks", "wk", "w"), 7 * 86400),
    (("days", "day", "d"), 86400),
    (("hours", "hour", "hrs", "hr", "h"), 3600),
    (("minutes", "minute", "mins", "min", "m"), 60),
    (("seconds", "second", "secs", "sec", "s"), 1),
]
CALENDAR_UNITS = ("years", "year", "yrs", "yr", "y", "months", "month", "mos", "mo")


def parse_duration(value, where: str):
    """§4 *duration*, in seconds. The spec delegates the grammar to "jiff's
    friendly format" and ISO 8601; this reader knows the subset below and
    refuses the rest as invalid (ambiguity R9 in README.md): integers with
    the units w, d, h, m, s (and their long names), optionally separated by
    spaces or commas, or ISO 8601 `PnW`, `PnDTnHnMnS`. Months and years are
    refused, as the spec says."""
    if not isinstance(value, str):
        raise invalid(where, "is not a duration string")
    text = value.strip()
    iso = re.fullmatch(r"P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?", text)
    if iso and text not in ("P", "PT") and not text.endswith("T"):
        w, d, h, m, s = (int(g) if g else 0 for g in iso.groups())
        return (((w * 7 + d) * 24 + h) * 60 + m) * 60 + s
    if re.fullmatch(r"P.*", text):
        raise invalid(where, f"{value!r}: ISO 8601 months and years are refused, or the duration is malformed")
    total = 0
    rest = text
    matched = False
    while rest:
        m = re.match(r"([0-9]+)\s*([a-z]+)\s*,?\s*", rest)
        if not m:
            raise invalid(where, f"{value!r} is not a duration this reader knows")
        number, unit = int(m.group(1)), m.group(2)
        if unit in CALENDAR_UNITS:
            raise invalid(where, f"{value!r}: months and years are refused (their length depends on the date)")
        for names, seconds in FRIENDLY_UNITS:
            if unit in names:
                total += number * seconds
                break
        else:
            raise invalid(where, f"{value!r}: unknown unit {unit!r}")
        rest = rest[m.end() :]
        matched = True
    if not matched:
        raise invalid(where, "is empty")
    return total


def load(path: str) -> Policy:
    raw = read_regular(path, MAX_POLICY, "policy")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("policy is not UTF-8 ([P2])") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"policy is not TOML ({e})") from None
    # [P3]: version first, before any other key is interpreted.
    version = doc.get("version")
    if isinstance(version, bool) or version != 1:
        raise PolicyError(f"unsupported policy version {version!r}")
    only_keys(doc, ["version", "keys", "signatures", "content", "caps", "time", "history", "drift"], "")
    folder = os.path.dirname(os.path.abspath(path))

    keys_table = doc.get("keys")
    if not isinstance(keys_table, list) or not 1 <= len(keys_table) <= MAX_KEYS:
        raise invalid("keys", f"1 to {MAX_KEYS} [[keys]] tables are required ([P9])")
    keys = {}
    names = set()
    for n, entry in enumerate(keys_table):
        where = f"keys[{n}]"
        only_keys(entry, ["name", "public_key", "pem", "key_id", "roles"], where)
        name = entry.get("name")
        if not is_label(name):
            raise invalid(f"{where}.name", "must be a label ([P11])")
        if name in names:
            raise invalid(f"{where}.name", f"{name!r} is used twice ([P11])")
        names.add(name)
        roles = label_list(entry.get("roles"), f"{where}.roles")
        if ("public_key" in entry) == ("pem" in entry):
            raise invalid(where, "needs exactly one of public_key and pem ([P10])")
        if "public_key" in entry:
            if not isinstance(entry["public_key"], str):
                raise invalid(f"{where}.public_key", "is not a string")
            key_path = os.path.join(folder, entry["public_key"])  # [P5]
            data = read_regular(key_path, MAX_KEY_FILE, "key file")
            try:
                pem_text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid(f"{where}.public_key", "key file is not text") from None
            der = parse_pem(pem_text, f"{where}.public_key")
        else:
            if not isinstance(entry["pem"], str):
                raise invalid(f"{where}.pem", "is not a string")
            der = parse_pem(entry["pem"], f"{where}.pem")
        key_id = hashlib.sha256(der).hexdigest()
        if "key_id" in entry:
            pin = entry["key_id"]
            if not isinstance(pin, str) or not re.fullmatch(r"[0-9a-f]{64}", pin):
                raise invalid(f"{where}.key_id", "is not 64 lowercase hex digits")
            if pin != key_id:
                raise invalid(f"{where}.key_id", f"pins {pin} but the key's id is {key_id} ([P14])")
        key = keys.setdefault(key_id, TrustedKey(key_id, der[12:], name))
        key.roles.update(roles)  # [P26]: one key under two names merges roles
    all_roles = set().union(*(k.roles for k in keys.values()))
    if len(all_roles) > MAX_ROLES:
        raise invalid("keys", f"more than {MAX_ROLES} distinct roles ([P9])")

    sig = doc.get("signatures")
    if sig is None:
        raise invalid("signatures", "is required")
    only_keys(sig, ["required_roles", "thresholds", "unknown_signers"], "signatures")
    if "required_roles" not in sig:
        raise invalid("signatures.required_roles", "is required ([P15])")
    required = label_list(sig["required_roles"], "signatures.required_roles")
    thresholds = {role: 1 for role in required}
    given = sig.get("thresholds", {})
    if not isinstance(given, dict):
        raise invalid("signatures.thresholds", "is not a table")
    for role, n in given.items():
        where = f"signatures.thresholds.{role}"
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 2**32 - 1:
            raise invalid(where, "must be an integer from 1 to 2^32 - 1 ([P16])")
        if role not in all_roles:
            raise invalid(where, "no key may sign as this role ([P17])")
        if role not in required:
            raise invalid(where, "is not a required role ([P17])")
        thresholds[role] = n
    for role in required:
        have = sum(1 for k in keys.values() if role in k.roles)
        if have < thresholds[role]:
            raise invalid(
                "signatures.required_roles",
                f"role {role!r} needs {thresholds[role]} distinct keys but the policy trusts {have} for it ([P18])",
            )
    unknown_signers = sig.get("unknown_signers", "refuse")
    if unknown_signers not in ("refuse", "ignore"):
        raise invalid("signatures.unknown_signers", "must be \"refuse\" or \"ignore\"")

    content = doc.get("content", {})
    only_keys(content, ["allowed_formats", "allowed_licences", "fail_on"], "content")
    formats = content.get("allowed_formats", ["gguf", "safetensors", "json", "text", "tiktoken", "sentencepiece"])
    if not isinstance(formats, list) or not formats:
        raise invalid("content.allowed_formats", "must be a non-empty list ([P19])")
    for item in formats:
        if item not in FORMATS:
            raise invalid("content.allowed_formats", f"unknown format {item!r} ([P19])")
    no_repeats(formats, "content.allowed_formats")
    licences = content.get("allowed_licences")
    if licences is not None:
        if not isinstance(licences, list) or not all(isinstance(x, str) for x in licences):
            raise invalid("content.allowed_licences", "must be a list of licence ids")
        for item in licences:
            # Expressions are refused; whether an id is on the SPDX licence
            # list is NOT checked here (the reference ships no licence list).
            if not re.fullmatch(r"[A-Za-z0-9.+-]+", item):
                raise invalid("content.allowed_licences", f"{item!r} is not one licence id")
        no_repeats(licences, "content.allowed_licences")
    fail_on = content.get("fail_on", "error")
    if fail_on not in SEVERITIES:
        raise invalid("content.fail_on", f"must be one of {SEVERITIES}")

    caps = doc.get("caps", {})
    only_keys(caps, ["max_entries", "max_entry_bytes", "max_total_bytes", "max_path_bytes"], "caps")
    max_entries = caps.get("max_entries", 10000)
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise invalid("caps.max_entries", "must be an integer of at least 1 ([P22])")
    max_entry_bytes = parse_size(caps.get("max_entry_bytes", "256 GiB"), "caps.max_entry_bytes")
    max_total_bytes = parse_size(caps.get("max_total_bytes", "1 TiB"), "caps.max_total_bytes")
    max_path_bytes = parse_size(caps.get("max_path_bytes", 255), "caps.max_path_bytes")

    time = doc.get("time", {})
    only_keys(time, ["max_age", "require_expiry", "clock"], "time")
    max_age = time.get("max_age", "90d")
    if max_age == "none":
        max_age = None
    else:
        max_age = parse_duration(max_age, "time.max_age")
        if max_age <= 0:
            raise invalid("time.max_age", "must be longer than zero ([P23])")
    require_expiry = time.get("require_expiry", False)
    if not isinstance(require_expiry, bool):
        raise invalid("time.require_expiry", "is not a boolean")
    clock = time.get("clock", "trusted")
    if clock not in ("trusted", "untrusted"):
        raise invalid("time.clock", "must be \"trusted\" or \"untrusted\"")

    history = doc.get("history", {})
    only_keys(history, ["allow_rollback", "allow_fork"], "history")
    flags = {}
    for key in ("allow_rollback", "allow_fork"):
        flags[key] = history.get(key, False)
        if not isinstance(flags[key], bool):
            raise invalid(f"history.{key}", "is not a boolean")

    drift = doc.get("drift", {})
    only_keys(drift, ["require_acceptance"], "drift")
    acceptance = drift.get("require_acceptance", DEFAULT_DRIFT)
    if not isinstance(acceptance, list):
        raise invalid("drift.require_acceptance", "is not a list")
    for item in acceptance:
        if item not in DRIFT_CLASSES:
            raise invalid("drift.require_acceptance", f"unknown drift class {item!r} ([P24])")
    no_repeats(acceptance, "drift.require_acceptance")

    return Policy(
        path, hashlib.sha256(raw).hexdigest(), keys, required, thresholds, unknown_signers,
        formats, licences, fail_on, max_entries, max_entry_bytes, max_total_bytes, max_path_bytes,
        max_age, require_expiry, clock, flags["allow_rollback"], flags["allow_fork"], acceptance,
    )
