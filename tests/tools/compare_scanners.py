#!/usr/bin/env python3
"""Compare lbom with the PyPI model scanners on the threat corpus (make compare-scanners).

Usage: compare_scanners.py [--lbom BIN] [--peers-dir DIR] [--out DIR] [--jobs N]
                           [--tools lbom,modelaudit,...] [--no-install]

1. Installs each peer, pinned, into its own venv under --peers-dir (default
   target/scanner-peers/<tool>); a peer that does not install is reported
   and left out of the table.
2. Generates the whole corpus (tests/tools/threat_corpus/generate.py --check,
   with $LBOM_VENV's Python) into --out/corpus and checks that every case the
   repository commits came out byte for byte as committed (the generators are
   deterministic), and that py7zr (from the picklescan venv) reads the 7z
   cases the corpus's own 7z writer made.
3. Runs every tool on every case (one process per tool and case, a fresh
   working folder each, 300 s timeout) and maps its result to detected /
   clean / error, each tool by its own default gate (docs/threat-corpus.md):
     lbom        `lbom scan CASE --format json --fail-on error -q`: exit 1 = detected
                 (an error finding, what a station's default fail_on = "error" refuses),
                 0 = clean, anything else = error
     modelaudit  `modelaudit scan CASE --format json --no-cache`: detected when its JSON
                 has a WARNING or CRITICAL issue or a failed check (the rule behind its
                 exit code 1), clean on exit 0, else error
     picklescan  `picklescan -p CASE`: detected when it reports infected files (dangerous
                 globals; its exit 1, or 2 when a parse error follows), 0 = clean, else error
     modelscan   `modelscan scan -p CASE -r json`: exit 1 = detected (any issue), 0 or 3
                 (no supported file) = clean, else error
     fickling    `fickling --check-safety CASE`: exit 1 = detected (not LIKELY_SAFE),
                 0 = clean, else error
     aisbom      `aisbom scan CASE --format json --output F` (aisbom-cli, offline): detected
                 when a component's aisbom:risk is CRITICAL (the rule behind its default
                 --fail-on-risk exit 2), clean when the report has none, error when it
                 writes no report
4. Prints one table per verdict (malicious: detected of total; benign: false
   alarms of total; warning: flagged of total), per class and tool, writes
   it as Markdown to --out/table.md and every case's outcome to
   --out/results.json.

Nothing here unpickles or renders a payload; the peers only scan (ModelAudit's
Jinja scanner test-renders templates inside jinja2's SandboxedEnvironment,
which is its own method; every payload's command is `echo lbom-threat-corpus`).
Network: none is needed after the installs; ModelAudit's telemetry is
switched off through its documented environment variables.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# Pinned: the newest releases PyPI served when this harness was written.
PEERS = {
    "modelaudit": ["modelaudit[sevenzip,safetensors,joblib]==0.2.54", "jinja2==3.1.6"],
    # picklescan scans .npy/.npz with numpy but does not declare it.
    "picklescan": ["picklescan[7z]==1.0.5", "numpy==2.4.6"],
    "modelscan": ["modelscan==0.8.8"],
    # fickling 0.1.12 imports typing_extensions without declaring it.
    "fickling": ["fickling==0.1.12", "typing_extensions==4.16.0"],
    # Issue 20 names aisbom among the peers; its PyPI package is aisbom-cli.
    "aisbom": ["aisbom-cli==1.7.0"],
}
TOOLS = ["lbom"] + list(PEERS)
TIMEOUT = 300
QUIET_ENV = {"CI": "1", "PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_ANALYTICS": "1",
             "MODELAUDIT_TELEMETRY_DISABLED": "1", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1",
             "AISBOM_OFFLINE": "1", "AISBOM_NO_TELEMETRY": "1", "AISBOM_NO_OSV": "1"}


def say(msg):
    print(f"compare-scanners: {msg}", file=sys.stderr, flush=True)


def install_peers(peers_dir, wanted, no_install):
    """Return {tool: bin dir} for the peers that are usable, and {tool: reason} for the rest."""
    ok, failed = {}, {}
    os.makedirs(peers_dir, exist_ok=True)
    for tool in wanted:
        if tool == "lbom":
            continue
        venv = os.path.join(peers_dir, tool)
        stamp = os.path.join(venv, ".lbom-pins")
        pins = " ".join(PEERS[tool])
        exe = os.path.join(venv, "bin", tool)
        if os.path.exists(stamp) and open(stamp).read() == pins and os.access(exe, os.X_OK):
            ok[tool] = os.path.join(venv, "bin")
            continue
        if no_install:
            failed[tool] = "not installed (--no-install)"
            continue
        say(f"installing {pins} into {venv}")
        log = os.path.join(peers_dir, f"{tool}.log")
        with open(log, "w") as f:
            r = subprocess.run([sys.executable, "-m", "venv", "--clear", venv], stdout=f, stderr=f)
            if r.returncode == 0:
                r = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet",
                                    "--disable-pip-version-check"] + PEERS[tool], stdout=f, stderr=f)
        if r.returncode == 0 and os.access(exe, os.X_OK):
            with open(stamp, "w") as f:
                f.write(pins)
            ok[tool] = os.path.join(venv, "bin")
        else:
            with open(log) as f:
                tail = f.read().strip().splitlines()[-3:]
            failed[tool] = "pip install failed: " + " / ".join(tail)
    return ok, failed


def generate(out, venv_python):
    corpus = os.path.join(out, "corpus")
    if os.path.exists(corpus):
        shutil.rmtree(corpus)
    gen = os.path.join(HERE, "threat_corpus", "generate.py")
    r = subprocess.run([venv_python, gen, "--check", corpus], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compare-scanners: generate.py failed:\n{r.stdout}{r.stderr}")
    say(r.stdout.strip().splitlines()[-1])
    with open(os.path.join(corpus, "index.json")) as f:
        generated = json.load(f)
    with open(os.path.join(REPO, "tests", "vectors", "threats", "index.json")) as f:
        committed = json.load(f)
    got = {c["path"]: c["sha256"] for c in generated["cases"]}
    diffs = [c["path"] for c in committed["cases"] if got.get(c["path"]) != c["sha256"]]
    if diffs or len(got) != len(committed["cases"]):
        raise SystemExit("compare-scanners: the generators no longer reproduce the committed corpus "
                         f"(run generate.py --update): {diffs[:10]}")
    return corpus, generated["cases"]


def check_7z(corpus, cases, peer_bins):
    """py7zr (an independent 7z reader) must read the corpus's 7z files."""
    if "picklescan" not in peer_bins:
        return "skipped (no picklescan venv with py7zr)"
    paths = [os.path.join(corpus, c["path"]) for c in cases if c["path"].endswith(".7z")]
    code = ("import sys, py7zr\n"
            "for p in sys.argv[1:]:\n"
            "    with py7zr.SevenZipFile(p) as z:\n"
            "        assert z.testzip() is None, p\n"
            "        assert z.getnames(), p\n"
            "print(len(sys.argv) - 1)")
    r = subprocess.run([os.path.join(peer_bins["picklescan"], "python"), "-c", code] + paths,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compare-scanners: py7zr does not read the corpus's 7z files:\n{r.stderr}")
    return f"py7zr read all {r.stdout.strip()} 7z cases"


def run(argv, cwd, env):
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=TIMEOUT)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout", time.monotonic() - t0


def severities_of_lbom(stdout):
    try:
        doc = json.loads(stdout)
    except ValueError:
        return [], []
    docs = doc if isinstance(doc, list) else [doc]
    findings = [f for d in docs for f in d.get("findings", [])]
    return sorted({f["code"] for f in findings if f.get("severity") == "error"}), \
        sorted({f["code"] for f in findings if f.get("severity") == "warning"})


def scan(tool, path, lbom, peer_bins):
    """One tool on one case: {outcome, exit, detail}."""
    env = dict(os.environ)
    env.update(QUIET_ENV)
    with tempfile.TemporaryDirectory(prefix=f"cmp-{tool}-") as cwd:
        env["HOME"] = cwd
        if tool == "lbom":
            rc, out, err, secs = run([lbom, "scan", path, "--format", "json", "--fail-on", "error", "-q"], cwd, env)
            errors, warnings = severities_of_lbom(out)
            outcome = {1: "detected", 0: "clean"}.get(rc, "error")
            detail = {"errors": errors, "warnings": warnings}
            if outcome == "error":
                detail["stderr"] = err.decode(errors="replace").strip()[-300:]
            return {"outcome": outcome, "exit": rc, "seconds": round(secs, 2), "detail": detail}
        bin_dir = peer_bins[tool]
        if tool == "modelaudit":
            report = os.path.join(cwd, "report.json")
            rc, out, err, secs = run([os.path.join(bin_dir, "modelaudit"), "scan", path, "--format", "json",
                                      "--no-cache", "-o", report], cwd, env)
            issues, failed = [], 0
            try:
                with open(report) as f:
                    doc = json.load(f)
                issues = [(str(i.get("severity", "")).lower(), i.get("message", "")[:120])
                          for i in doc.get("issues") or []]
                failed = sum(1 for c in doc.get("checks") or []
                             if str(c.get("status", "")).lower() == "failed"
                             and str(c.get("severity", "")).lower() in ("warning", "critical"))
            except (OSError, ValueError):
                pass
            security = [i for i in issues if i[0] in ("warning", "critical")]
            if security or failed:
                outcome = "detected"
            elif rc == 0:
                outcome = "clean"
            else:
                outcome = "error"
            detail = {"security_issues": security[:5], "failed_checks": failed}
            if outcome == "error":
                detail["issues"] = issues[:5]
                detail["stderr"] = err.decode(errors="replace").strip()[-300:]
            return {"outcome": outcome, "exit": rc, "seconds": round(secs, 2), "detail": detail}
        if tool == "picklescan":
            rc, out, err, secs = run([os.path.join(bin_dir, "picklescan"), "-p", path], cwd, env)
            text = (out + err).decode(errors="replace").strip().splitlines()
            # "Infected files: N" counts files with dangerous globals; it can be
            # non-zero when a later parse error makes the exit code 2.
            infected = any(ln.startswith("Infected files:") and ln.split(":", 1)[1].strip() not in ("", "0")
                           for ln in text)
            outcome = "detected" if infected or rc == 1 else {0: "clean"}.get(rc, "error")
            return {"outcome": outcome, "exit": rc, "seconds": round(secs, 2), "detail": {"tail": text[-3:]}}
        if tool == "modelscan":
            report = os.path.join(cwd, "report.json")
            rc, out, err, secs = run([os.path.join(bin_dir, "modelscan"), "scan", "-p", path, "-r", "json",
                                      "-o", report], cwd, env)
            outcome = {1: "detected", 0: "clean", 3: "clean"}.get(rc, "error")
            detail = {}
            try:
                with open(report) as f:
                    doc = json.load(f)
                detail = {"issues": [(i.get("severity"), i.get("module"), i.get("operator"))
                                     for i in doc.get("issues") or []][:5],
                          "scanned": (doc.get("summary") or {}).get("scanned", {}).get("total_scanned"),
                          "errors": [e.get("description", "")[:120] for e in doc.get("errors") or []][:3]}
            except (OSError, ValueError):
                detail = {"stderr": err.decode(errors="replace").strip()[-300:]}
            return {"outcome": outcome, "exit": rc, "seconds": round(secs, 2), "detail": detail}
        if tool == "fickling":
            report = os.path.join(cwd, "report.json")
            rc, out, err, secs = run([os.path.join(bin_dir, "fickling"), "--check-safety", path,
                                      "--json-output", report], cwd, env)
            outcome = {1: "detected", 0: "clean"}.get(rc, "error")
            detail = {}
            try:
                with open(report) as f:
                    detail = {"severity": json.load(f).get("severity")}
            except (OSError, ValueError):
                detail = {"stderr": err.decode(errors="replace").strip()[-200:]}
            return {"outcome": outcome, "exit": rc, "seconds": round(secs, 2), "detail": detail}
        if tool == "aisbom":
            report = os.path.join(cwd, "report.json")
            rc, out, err, secs = run([os.path.join(bin_dir, "aisbom"), "scan", path, "--format", "json",
                                      "--output", report], cwd, env)
            try:
                with open(report) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                return {"outcome": "error", "exit": rc, "seconds": round(secs, 2),
                        "detail": {"stderr": (out + err).decode(errors="replace").strip()[-300:]}}
            risks = [p.get("value", "") for c in doc.get("components") or []
                     for p in c.get("properties") or [] if p.get("name") == "aisbom:risk"]
            critical = [r for r in risks if r.upper().startswith("CRITICAL")]
            return {"outcome": "detected" if critical else "clean", "exit": rc, "seconds": round(secs, 2),
                    "detail": {"risks": sorted(set(risks))[:5]}}
    raise ValueError(tool)


def tables(cases, results, tools):
    classes = []
    for c in cases:
        if c["class"] not in classes:
            classes.append(c["class"])
    order = ["template", "template_carrier", "pickle", "pickle_container", "pickle_hidden", "structure"]
    classes = [c for c in order if c in classes] + [c for c in classes if c not in order]

    def cell(cls, verdict, tool):
        sel = [c for c in cases if c["class"] == cls and c["verdict"] == verdict]
        if not sel:
            return None, 0
        hit = sum(1 for c in sel if results[c["path"]][tool]["outcome"] == "detected")
        err = sum(1 for c in sel if results[c["path"]][tool]["outcome"] == "error")
        return (hit, err), len(sel)

    out = []
    for verdict, title in (("malicious", "Malicious cases detected (higher is better)"),
                           ("benign", "False alarms on benign cases (lower is better)"),
                           ("warning", "Warning-level cases flagged (lbom: refused at fail_on = \"error\"; "
                                       "should be 0, a warning is expected)")):
        rows = [f"**{title}**", "", "| class | cases | " + " | ".join(tools) + " |",
                "|---|---:|" + "---:|" * len(tools)]
        totals = {t: [0, 0] for t in tools}
        n_total = 0
        any_row = False
        for cls in classes:
            cells, n = [], 0
            for t in tools:
                v, n = cell(cls, verdict, t)
                if v is None:
                    break
                cells.append(f"{v[0]}" + (f" (+{v[1]} err)" if v[1] else ""))
                totals[t][0] += v[0]
                totals[t][1] += v[1]
            if not cells:
                continue
            any_row = True
            n_total += n
            rows.append(f"| {cls} | {n} | " + " | ".join(cells) + " |")
        if not any_row:
            continue
        rows.append(f"| **all** | **{n_total}** | " + " | ".join(
            f"**{totals[t][0]}**" + (f" (+{totals[t][1]} err)" if totals[t][1] else "") for t in tools) + " |")
        out.append("\n".join(rows))
    return "\n\n".join(out)


def lbom_misses(cases, results):
    """Markdown: per class, the cases where lbom's outcome is against the verdict."""
    if not all("lbom" in results[c["path"]] for c in cases):
        return ""
    by_class = {}
    for c in cases:
        r = results[c["path"]]["lbom"]
        detected = r["outcome"] == "detected"
        wrong = detected != (c["verdict"] == "malicious")
        if c["verdict"] == "warning" and not (r.get("detail") or {}).get("warnings"):
            wrong = True  # a warning is expected (and no error)
        if wrong or r["outcome"] == "error":
            d = r.get("detail", {})
            said = ", ".join(d.get("errors") or []) or (
                "warnings only: " + ", ".join(d["warnings"]) if d.get("warnings") else "no finding")
            if r["outcome"] == "error":
                said = f"exit {r['exit']}: {d.get('stderr', '')}"
            by_class.setdefault((c["class"], c["verdict"]), []).append(f"`{c['path']}` ({said})")
    lines = []
    for (cls, verdict), items in sorted(by_class.items()):
        kind = {"malicious": "missed", "benign": "refused"}.get(verdict, "not warned, or refused")
        lines.append(f"* **{cls}**, {verdict}, {len(items)} {kind}: " + "; ".join(items))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lbom", default=os.environ.get("LBOM_BIN"))
    ap.add_argument("--peers-dir", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")),
                                                        "scanner-peers"))
    ap.add_argument("--out", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")),
                                                  "compare-scanners"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args(argv[1:])
    wanted = [t for t in args.tools.split(",") if t]
    unknown = [t for t in wanted if t not in TOOLS]
    if unknown:
        raise SystemExit(f"compare-scanners: unknown tools {unknown}; known: {TOOLS}")
    lbom = args.lbom
    if "lbom" in wanted:
        if not lbom:
            for cand in ("release", "debug"):
                p = os.path.join(REPO, "target", cand, "lbom")
                if os.access(p, os.X_OK):
                    lbom = p
                    break
        if not lbom or not os.access(lbom, os.X_OK):
            raise SystemExit("compare-scanners: no lbom binary (cargo build, or --lbom BIN)")
        lbom = os.path.abspath(lbom)
    venv_python = os.path.join(os.environ.get("LBOM_VENV", os.path.join(REPO, ".venv")), "bin", "python")
    os.makedirs(args.out, exist_ok=True)
    peer_bins, failed = install_peers(args.peers_dir, wanted, args.no_install)
    for tool, why in failed.items():
        say(f"{tool} left out: {why}")
    tools = [t for t in wanted if t == "lbom" or t in peer_bins]
    corpus, cases = generate(args.out, venv_python)
    say(check_7z(corpus, cases, peer_bins))
    versions = {"lbom": subprocess.run([lbom, "--version"], capture_output=True, text=True).stdout.strip()
                .removeprefix("lbom ") if "lbom" in tools else None}
    for t in tools:
        if t != "lbom":
            package = PEERS[t][0].split("[")[0].split("=")[0]
            r = subprocess.run([os.path.join(peer_bins[t], "pip"), "show", package], capture_output=True, text=True)
            versions[t] = next((ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines()
                                if ln.startswith("Version:")), "?")
    jobs = [(c["path"], t) for c in cases for t in tools]
    results = {c["path"]: {} for c in cases}
    say(f"{len(cases)} cases x {len(tools)} tools = {len(jobs)} scans, {args.jobs} at a time")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(scan, t, os.path.join(corpus, p), lbom, peer_bins): (p, t) for p, t in jobs}
        for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            p, t = futures[fut]
            results[p][t] = fut.result()
            if i % 200 == 0:
                say(f"{i}/{len(jobs)} scans, {time.monotonic() - t0:.0f} s")
    table = tables(cases, results, tools)
    header = ("Tools: " + ", ".join(f"{t} {versions.get(t)}" for t in tools)
              + (". Left out: " + "; ".join(f"{t} ({w})" for t, w in failed.items()) if failed else "") + ".")
    misses = lbom_misses(cases, results)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(header + "\n\n" + table + "\n")
        if misses:
            f.write("\n**lbom against the verdicts** (what tests/threat_corpus.rs's ignored "
                    "lbom_meets_the_corpus_verdicts reports)\n\n" + misses + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"versions": versions, "left_out": failed,
                   "cases": [dict(c, results=results[c["path"]]) for c in cases]}, f, indent=1)
    print(header + "\n\n" + table)
    say(f"per-case results in {os.path.join(args.out, 'results.json')}, table in "
        f"{os.path.join(args.out, 'table.md')} ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
