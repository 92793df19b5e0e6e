"""The check pipeline of docs/policy.md §9: every check in order, the first
failure decides the exit code ([P32]) and the checks after it are reported
`skipped` ([P33]).

Checks the reference cannot make from the spec alone are reported with the
status `not_checked`, never `pass`: a fresh scan of an artifact needs lbom's
model parsers, whose output the spec does not define (README.md).
"""

import hashlib
from datetime import timedelta

import attestation
import chain
import layout as layout_mod
import limits as reader_limits
import manifest as manifest_mod
import readings
import tarprofile
import zstdframe
from policy import FORMATS
from refusal import CHECKS, Refusal

FUTURE_SLACK = timedelta(minutes=5)  # [P36]


class Run:
    """The outcome of each check, in docs/policy.md order."""

    def __init__(self):
        self.results = {}
        self.failed = None

    def record(self, name, status, detail):
        self.results[name] = (status, detail)

    def report(self, bundle: str) -> dict:
        checks = []
        not_checked = []
        for name in CHECKS:
            status, detail = self.results.get(name, ("skipped", "not checked: an earlier check failed"))
            checks.append({"name": name, "status": status, "detail": detail})
            if status == "not_checked":
                not_checked.append(name)
        if self.failed:
            verdict, code, failing = "refuse", self.failed.code, self.failed.check
        elif not_checked:
            verdict, code, failing = "incomplete", None, None
        else:
            verdict, code, failing = "accept", 0, None
        return {
            "bundle": bundle,
            "verdict": verdict,
            "exit_code": code,
            "failing_check": failing,
            "not_checked": not_checked,
            "checks": checks,
        }


def expiry(manifest, chain_links, policy, now) -> tuple:
    """`bundle.expiry` ([P27], [P36], [P29], [P30]); (status, detail)."""
    if policy.require_expiry and manifest.expires is None:
        raise Refusal("bundle.expiry", "the policy requires an expiry and the manifest has none")
    late = []
    if manifest.created > now + FUTURE_SLACK:
        late.append(f"created {manifest.created_text} is in the future")
    for link in chain_links:
        if link.time > now + FUTURE_SLACK:
            late.append(f"link {link.index} time {link.time_text} is in the future")
    if manifest.expires is not None and manifest.expires <= now:
        late.append(f"expired at {manifest.expires_text}")
    if policy.clock == "trusted":
        if late:
            raise Refusal("bundle.expiry", "; ".join(late))
        return "pass", f"created {manifest.created_text}, expires {manifest.expires_text}"
    # Untrusted clock: local-clock findings are warnings ([P29]); the
    # baseline check needs a channel, which `verify` without --store lacks.
    return "warn", "; ".join(late + ["no channel baseline: baseline check skipped"])


def age(manifest, policy, now) -> tuple:
    """`bundle.age` ([P28], [P29], [P30])."""
    old = policy.max_age is not None and (now - manifest.created).total_seconds() > policy.max_age
    if policy.clock == "untrusted":
        return "warn", ("older than max_age by the local clock; " if old else "") + "no channel baseline"
    if old:
        raise Refusal("bundle.age", f"created {manifest.created_text} is older than max_age")
    return "pass", "within max_age" if policy.max_age is not None else "the policy sets no maximum age"


def digests(data: bytes, pairs, manifest) -> str:
    """`entries.digests` ([B20], [B49], [B56], [B57]): every entry before
    the manifest, in bundle order: for version 2 its stored bytes' SHA-256
    (their length is the tar entry's, held equal to `stored_size` by
    manifest.form); for zstd the frame rules; then the decoded size and
    SHA-256."""
    total = 0
    for tar_entry, m in pairs:
        stored = data[tar_entry.data_offset : tar_entry.data_offset + tar_entry.size]
        if m.stored_sha256 is not None and hashlib.sha256(stored).hexdigest() != m.stored_sha256:
            raise Refusal("entries.digests", f"{m.path}: the stored bytes' SHA-256 is not stored_sha256 ([B57])")
        if m.encoding == "zstd":
            got = zstdframe.decode_digest(stored, m.size)
            if isinstance(got, str):
                raise Refusal("entries.digests", f"{m.path}: {got}")
            sha, size = got
        else:
            sha, size = hashlib.sha256(stored).hexdigest(), len(stored)
        if size != m.size or sha != m.sha256:
            raise Refusal(
                "entries.digests",
                f"{m.path}: {size} bytes with SHA-256 {sha}, the manifest says {m.size} and {m.sha256} ([B20])",
            )
        total += size
    return f"{len(pairs)} entries ({total} bytes decoded) match the manifest"


def caps(manifest, policy) -> str:
    """`policy.caps` (§4.5), from the manifest alone."""
    entries = manifest.entries
    if len(entries) > policy.max_entries:
        raise Refusal("policy.caps", f"{len(entries)} entries, the policy allows {policy.max_entries}")
    for e in entries:
        if e.size > policy.max_entry_bytes:
            raise Refusal("policy.caps", f"{e.path}: {e.size} bytes, the policy allows {policy.max_entry_bytes}")
        if len(e.path.encode("utf-8")) > policy.max_path_bytes:
            raise Refusal("policy.caps", f"{e.path}: path longer than {policy.max_path_bytes} bytes")
    total = sum(e.size for e in entries)
    if total > policy.max_total_bytes:
        raise Refusal("policy.caps", f"{total} bytes in all, the policy allows {policy.max_total_bytes}")
    return f"{len(entries)} entries, {total} bytes"


def _run(data: bytes, bundle: str, policy, now, demo_key_ids) -> dict:
    run = Run()
    try:
        _pipeline(run, data, policy, now, demo_key_ids)
    except Refusal as refusal:
        run.failed = refusal
        run.record(refusal.check, "fail", refusal.detail)
    run.results.setdefault("store.history", ("skipped", "no store given"))
    return run.report(bundle)


def outcome(report: dict) -> tuple:
    return report["verdict"], report["exit_code"], report["failing_check"]


def verify(data: bytes, bundle: str, policy, now, demo_key_ids) -> dict:
    """The report under the reference's readings. When the bundle meets a
    place where the spec allows two readings (readings.py) and the other
    reading gives another outcome, the report names the ambiguities
    (`undecided`) and carries that outcome (`alternative`)."""
    readings.ALTERNATE.clear()
    readings.HIT.clear()
    report = _run(data, bundle, policy, now, demo_key_ids)
    hit = sorted(readings.HIT)
    report["undecided"] = []
    report["alternative"] = None
    if hit:
        readings.ALTERNATE.update(hit)
        readings.HIT.clear()
        other = _run(data, bundle, policy, now, demo_key_ids)
        readings.ALTERNATE.clear()
        if outcome(other) != outcome(report):
            report["undecided"] = hit
            report["alternative"] = {k: other[k] for k in ("verdict", "exit_code", "failing_check", "not_checked")}
    return report


def _pipeline(run, data, policy, now, demo_key_ids):
    entries = tarprofile.walk(data)
    layout_mod.entry_collisions(entries)
    run.record("archive.structure", "pass", f"{len(entries)} ustar entries, canonical names, no collision")

    bundle_layout = layout_mod.split(entries)
    m_entry = bundle_layout.manifest
    reader_limits.manifest_size(m_entry.size)
    manifest_raw = data[m_entry.data_offset : m_entry.data_offset + m_entry.size]
    manifest = manifest_mod.parse(manifest_raw)
    reader_limits.manifest_entries(manifest)
    pairs = layout_mod.match(manifest, bundle_layout.before)
    manifest_digest = hashlib.sha256(manifest_raw).hexdigest()
    run.record("manifest.form", "pass", f"manifest {manifest_digest} (format {manifest.version})")

    run.record("policy.caps", "pass", caps(manifest, policy))

    links = chain.links(data, bundle_layout.after, manifest_digest)
    run.record("chain.links", "pass", f"{len(links)} link(s) over this manifest, chained")
    n = chain.signatures(links, policy)
    run.record("chain.signatures", "pass", f"{n} signature(s) verify under policy keys")
    counted = chain.signers(links, policy)
    run.record("chain.signers", "pass", f"{len(counted)} link(s) by keys trusted for their roles")
    run.record("chain.threshold", "pass", chain.threshold(counted, policy))
    chain.required_roles(counted, policy)
    run.record("chain.required_roles", "pass", ", ".join(policy.required_roles))

    run.record("bundle.expiry", *expiry(manifest, links, policy, now))
    run.record("bundle.age", *age(manifest, policy, now))
    demo = sorted({link.index for link in counted if link.keyid in demo_key_ids})
    if demo:
        run.record("trust.demo_key", "warn", f"public demo key signed link(s) {demo}")
    else:
        run.record("trust.demo_key", "pass", "no public demo key signed")

    att = pairs[-1][0]
    subjects = attestation.check(data[att.data_offset : att.data_offset + att.size], manifest)
    run.record("attestation.subjects", "pass", f"{subjects} subject(s), exactly the manifest's artifacts")
    run.record("entries.digests", "pass", digests(data, pairs, manifest))

    run.record("sbom.consistent", "not_checked", "needs a fresh scan by a model parser; the spec does not define one")
    if set(FORMATS) <= set(policy.allowed_formats):
        run.record("policy.formats", "pass", "the policy allows every format")
    else:
        run.record("policy.formats", "not_checked", "format detection from the bytes is not specified")
    if policy.allowed_licences is None:
        run.record("policy.licences", "pass", "the policy allows any licence")
    else:
        run.record("policy.licences", "not_checked", "a model's declared licence needs a model parser")
    if policy.fail_on == "none":
        run.record("policy.findings", "pass", "fail_on is none")
    else:
        run.record("policy.findings", "not_checked", "findings need lbom's scanner (docs/findings.md)")
