#!/usr/bin/env python3
"""Validate SPDX 3.0.1 JSON-LD documents with spdx3-validate's engine
(JSON schema, then the SHACL shapes of the SPDX 3.0.1 model), offline.

spdx3-validate downloads the schema, the model and the JSON-LD context from
spdx.org at run time; the suite runs offline, so this script hands its
engine (`spdx3_validate.core`: `schema_validator`, `check_graph`) the same
three files committed in tests/schemas/spdx-3.0.1/ (from the spdx/spdx-spec
repository's published 3.0.1 pages, see tests/schemas/README.md), and parses
each document as spdx3-validate does with the context read from there.

Usage: validate_spdx3.py FILE.spdx3.json...
Exit 0 = every file valid, 1 = some file invalid (every error printed).
"""
import json
import os
import sys

import rdflib
from spdx3_validate.core import Document, check_graph, schema_validator
from spdx3_validate.spdx_versions import find_version

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "schemas", "spdx-3.0.1")
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"

with open(os.path.join(data, "schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
with open(os.path.join(data, "spdx-context.jsonld"), encoding="utf-8") as f:
    context = json.load(f)["@context"]
shacl = rdflib.Graph()
shacl.parse(os.path.join(data, "spdx-model.ttl"), format="turtle")
version = find_version(CONTEXT)
validator = schema_validator(schema)

if len(sys.argv) < 2:
    sys.exit(__doc__)
bad = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    doc_json = json.loads(text)
    if doc_json.get("@context") != CONTEXT:
        print(f"{path}: INVALID: @context is {doc_json.get('@context')!r}, not SPDX 3.0.1's")
        bad = True
        continue
    errors = [f"schema: {e.json_path}: {e.message[:300]}" for e in validator.iter_errors(doc_json)]
    # The document as RDF, its context read from the committed copy.
    local = dict(doc_json)
    local["@context"] = context
    graph = rdflib.Graph()
    graph.parse(data=json.dumps(local), format="json-ld")
    doc = Document(path, doc_json, graph, version)
    errors += [f"shacl: {e}" for e in check_graph(doc.graph, shacl, version, True)]
    for e in errors:
        print(f"{path}: INVALID: {e}")
    if not errors:
        print(f"{path}: valid SPDX 3.0.1 ({len(graph)} triples)")
    bad |= bool(errors)
sys.exit(1 if bad else 0)
