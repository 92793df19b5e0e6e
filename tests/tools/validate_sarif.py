#!/usr/bin/env python3
"""Validate SARIF documents against the SARIF 2.1.0 JSON schema committed in
tests/schemas/ (OASIS sarif-spec, see tests/schemas/README.md), with the
`jsonschema` package's Draft 4 validator, offline.

Usage: validate_sarif.py FILE.sarif...
Exit 0 = every file valid, 1 = some file invalid (every error printed).
"""
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
schema_path = os.path.join(here, "..", "schemas", "sarif-schema-2.1.0.json")
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(schema)
if len(sys.argv) < 2:
    sys.exit(__doc__)
bad = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print(f"{path}: INVALID at {list(e.absolute_path)}: {e.message[:300]}")
    if doc.get("version") != "2.1.0":
        print(f"{path}: INVALID: version is {doc.get('version')!r}, not 2.1.0")
        bad = True
    if not errors:
        print(f"{path}: valid SARIF 2.1.0")
    bad |= bool(errors)
sys.exit(1 if bad else 0)
