#!/usr/bin/env python3
"""Count lbom's public API from rustdoc's JSON (docs/architecture.md, "The
public API"): every item reachable by a path from the crate root (modules
walked, re-exports followed, each item once), by kind; then the public
fields, variants and inherent methods those items bring.

    CARGO_TARGET_DIR=target/rustdoc-json cargo +nightly rustdoc --lib -- -Z unstable-options --output-format json
    python3 tests/tools/count_public_api.py target/rustdoc-json/doc/lbom.json

Not run by the test suite (it needs a nightly toolchain); tests/architecture.rs
checks the facade's list itself.
"""

import json,sys,collections
d=json.load(open(sys.argv[1]))
idx=d["index"]
root=d["root"]
seen=set(); kinds=collections.Counter(); members=collections.Counter()
def kind(it): return next(iter(it["inner"]))
def visit(i):
    i=str(i)
    if i in seen or i not in idx: return
    seen.add(i)
    it=idx[i]; k=kind(it)
    if k=="module":
        if i!=str(root): kinds["module"]+=1
        for c in it["inner"]["module"]["items"]: visit(c)
        return
    if k=="use":
        u=it["inner"]["use"]
        if u.get("id") is not None: visit(u["id"])
        return
    kinds[k]+=1
    inner=it["inner"][k]
    if k=="struct":
        kd=inner.get("kind",{})
        if isinstance(kd,dict) and "plain" in kd:
            members["field"]+=sum(1 for f in kd["plain"]["fields"] if idx.get(str(f),{}).get("visibility")=="public")
    if k=="enum":
        members["variant"]+=len(inner["variants"])
    for imp in inner.get("impls",[]) if isinstance(inner,dict) else []:
        im=idx.get(str(imp))
        if not im: continue
        ii=im["inner"]["impl"]
        if ii.get("trait") is None:
            members["method"]+=sum(1 for m in ii["items"] if idx.get(str(m),{}).get("visibility")=="public")
visit(root)
print("items:",dict(kinds),"total",sum(kinds.values()))
print("members:",dict(members),"total",sum(members.values()))
