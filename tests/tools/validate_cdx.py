#!/usr/bin/env python3
"""Validate CycloneDX JSON with cyclonedx-python-lib's bundled (offline) schemas.

Adapted from /work/shared/tools/validators/validate_cdx.py: the spec version
defaults to the BOM's own "specVersion", so the validator checks what the
document claims to be.

Usage: validate_cdx.py FILE.json... [--spec 1.6] [--lax]
  default: JsonStrictValidator (the schema variant with additionalProperties=false)
  --lax:   JsonValidator (plain schema)
Exit 0 = every file valid, 1 = some file invalid (all errors printed), 2 = usage.
"""
import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator, JsonValidator

args = sys.argv[1:]
spec = None
if "--spec" in args:
    i = args.index("--spec")
    spec = args[i + 1]
    del args[i:i + 2]
lax = "--lax" in args
if lax:
    args.remove("--lax")
if not args:
    sys.exit(__doc__)
bad = False
for path in args:
    text = open(path, encoding="utf-8").read()
    version = spec
    if version is None:
        try:
            version = json.loads(text).get("specVersion")
        except (ValueError, AttributeError) as e:
            print(f"{path}: INVALID: not a JSON object: {e}")
            bad = True
            continue
    try:
        sv = SchemaVersion.from_version(str(version))
    except Exception:
        print(f"{path}: INVALID: unknown CycloneDX specVersion {version!r}")
        bad = True
        continue
    validator = (JsonValidator if lax else JsonStrictValidator)(sv)
    errs = validator.validate_str(text, all_errors=True)
    errs = list(errs) if errs else []
    for e in errs:
        d = e.data
        print(f"{path}: INVALID at {list(d.absolute_path)}: {d.message[:300]}")
    if not errs:
        print(f"{path}: valid CycloneDX {version} ({'lax' if lax else 'strict'})")
    bad |= bool(errs)
sys.exit(1 if bad else 0)
