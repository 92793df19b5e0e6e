#!/usr/bin/env python3
# Copied from /work/shared/tools/validators/check_hf_readme.py (the project's shared validator).
"""Parse a Hugging Face model card (README.md with YAML front matter) with the
official huggingface_hub library, offline.  Checks: front matter present and
valid YAML mapping, ModelCardData round-trips, license is a known HF license id
(list in huggingface_hub is not exhaustive -> warning only), base_model shape.
Usage: check_hf_readme.py README.md     exit 0 = parsed OK"""
import sys, yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import metadata_load
p = sys.argv[1]
meta = metadata_load(p)
if meta is None:
    sys.exit(f"{p}: no YAML front matter")
card = ModelCard.load(p)                     # local path: no network
d = card.data.to_dict()
print(f"{p}: front matter OK, keys={sorted(d)}")
HF_LICENSES = {"apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
               "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
               "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
               "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
               "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
               "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0",
               "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0",
               "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl",
               "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1",
               "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
               "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other"}
lic = d.get("license")
if lic is not None and lic not in HF_LICENSES:
    print(f"  warning: license {lic!r} not in the Hub's license list (use license: other + license_name)")
bm = d.get("base_model")
if bm is not None and not (isinstance(bm, str) or (isinstance(bm, list) and all(isinstance(x, str) for x in bm))):
    sys.exit("  base_model must be a string or list of strings")
print("  OK")
