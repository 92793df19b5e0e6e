# lbom developer entry points. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

CARGO ?= cargo
LBOM_VENV ?= $(CURDIR)/.venv
export LBOM_VENV
DEMO := out/demo
LBOM := $(or $(CARGO_TARGET_DIR),target)/debug/lbom

.PHONY: test venv fmt-check clippy cargo-test demo man fixtures bench bench-peers bench-smoke bench-micro fuzz fuzz-smoke \
	compare-scanners

venv:
	tests/tools/setup-venv.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings
	# The library as a program embedding it sees it, without the tests' `internals`
	# feature: dead code and missing docs of the facade (docs/architecture.md).
	$(CARGO) clippy --lib --bins -- -D warnings

cargo-test: venv
	$(CARGO) test --all-targets
	$(CARGO) test --doc

## test: venv, formatting, lints, every test (unit, integration, validators, doc tests, criterion
## benches run once), the bench harness on 8 MiB (no timing asserted) and every fuzz target for 15 s
test: venv fmt-check clippy cargo-test bench-smoke fuzz-smoke

## demo: scan fixtures/ in every format, pack + sign + countersign, verify, import, audit (out/demo/)
demo:
	# Only the binary, with cargo's progress shown: the first build takes minutes.
	$(CARGO) build --bin lbom
	# A fresh folder each time: nothing left by an earlier run can pass for this one's output.
	if [ -d $(DEMO) ]; then chmod -R u+w $(DEMO) && rm -rf $(DEMO); fi
	mkdir -p $(DEMO)
	SOURCE_DATE_EPOCH=0 $(LBOM) scan fixtures --format json      --output $(DEMO)/scan.json
	SOURCE_DATE_EPOCH=0 $(LBOM) scan fixtures --format spdx      --output $(DEMO)/scan.spdx
	SOURCE_DATE_EPOCH=0 $(LBOM) scan fixtures --format spdx-json --output $(DEMO)/scan.spdx.json
	SOURCE_DATE_EPOCH=0 $(LBOM) scan fixtures --format cyclonedx --output $(DEMO)/scan.cdx.json
	SOURCE_DATE_EPOCH=0 $(LBOM) scan fixtures/gguf/tiny-llama-Q4_K_M.gguf --format hf-readme \
	    --hf-title "LBOM Tiny Llama" --hf-short-description "Random-weight test fixture" \
	    --output $(DEMO)/README.md
	$(LBOM) scan fixtures --format table
	@echo "== pack and sign (maintainer), countersign (transfer desk), inspect"
	rm -f $(DEMO)/demo-v1.lbom $(DEMO)/demo-v2.lbom
	$(LBOM) pack fixtures/drift/base/model.gguf fixtures/safetensors/tiny-llama \
	    --name demo-model --channel demo --output $(DEMO)/demo-v1.lbom \
	    --key keys/demo-maintainer.key --role maintainer
	$(LBOM) sign $(DEMO)/demo-v1.lbom --key keys/demo-transfer.key --role transfer \
	    --note "carried across the air gap by the demo transfer desk"
	$(LBOM) inspect $(DEMO)/demo-v1.lbom
	tar -tvf $(DEMO)/demo-v1.lbom > /dev/null
	@echo "== quarantine station: verify against the demo policy, import into a store, audit it"
	$(LBOM) verify $(DEMO)/demo-v1.lbom --policy docs/examples/demo.toml
	chmod -R u+w $(DEMO)/store 2>/dev/null || true
	rm -rf $(DEMO)/store
	$(LBOM) store init $(DEMO)/store
	$(LBOM) import $(DEMO)/demo-v1.lbom --into $(DEMO)/store --policy docs/examples/demo.toml
	$(LBOM) audit $(DEMO)/store
	@echo "== release 2: re-quantized, chat template edited; the policy wants both accepted by name"
	$(LBOM) pack fixtures/drift/demo_v2/model.gguf fixtures/safetensors/tiny-llama \
	    --name demo-model --channel demo --previous $(DEMO)/demo-v1.lbom --output $(DEMO)/demo-v2.lbom \
	    --key keys/demo-maintainer.key --role maintainer
	$(LBOM) sign $(DEMO)/demo-v2.lbom --key keys/demo-transfer.key --role transfer
	$(LBOM) diff $(DEMO)/store $(DEMO)/demo-v2.lbom --format markdown > $(DEMO)/drift-v2.md || test $$? -eq 1
	@echo "== the drift gate must refuse release 2 (exit 8) until the changes are accepted"
	if $(LBOM) import $(DEMO)/demo-v2.lbom --into $(DEMO)/store --policy docs/examples/demo.toml; \
	    then echo "make demo: the drift gate let release 2 in" >&2; exit 1; else test $$? -eq 8; fi
	$(LBOM) import $(DEMO)/demo-v2.lbom --into $(DEMO)/store --policy docs/examples/demo.toml \
	    --accept-drift quantization --accept-drift chat_template
	$(LBOM) audit $(DEMO)/store
	$(LBOM) log $(DEMO)/store --channel demo
	@echo "demo outputs in $(DEMO)/: $$(ls $(DEMO) | tr '\n' ' ')"

## man: man pages from the clap definitions (clap_mangen) into out/man/ (man -l out/man/lbom.1)
man:
	$(CARGO) build --bin lbom
	$(LBOM) man out/man

## fixtures: regenerate fixtures/ with the independent writers (deterministic)
fixtures: venv
	fixtures/generate.sh

## bench: release build, peers (tests/bench/setup-peers.sh: b3sum, model_signing), then every
## benchmark in one run (tests/bench/run_all.sh) ending in one table: scan, header-only scan, pack,
## sign, verify, import vs openssl / sha256sum / b3sum / tar / model_signing, with peak RSS.
## LBOM_BENCH_MB (default 2048), LBOM_BENCH_RUNS (default 3); LBOM_BENCH_STRICT=1 fails on a missed target
bench: bench-peers
	$(CARGO) build --release --quiet
	LBOM_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release/lbom tests/bench/run_all.sh

## bench-peers: install the benchmark's optional peers (b3sum; model-signing in its own venv)
bench-peers:
	tests/bench/setup-peers.sh

## bench-smoke: the whole harness on 8 MiB, one run each, with the debug build and whatever peers
## are installed: fails only when a command does not run (no timing asserted; CI)
bench-smoke: bench-peers
	$(CARGO) build --quiet
	LBOM_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/lbom LBOM_BENCH_MB=8 LBOM_BENCH_RUNS=1 \
	    LBOM_BENCH_WARMUP=0 LBOM_BENCH_SCALING=0 LBOM_BENCH_STRICT=0 LBOM_BENCH_DIFF_FILES=200 LBOM_BENCH_TIMING=0 \
	    tests/bench/run_all.sh

## bench-micro: criterion micro-benchmarks (benches/micro.rs): SHA-256, GGUF and safetensors
## headers, a 10,000-entry manifest
bench-micro:
	$(CARGO) bench --bench micro

## compare-scanners: lbom and the PyPI model scanners (ModelAudit, picklescan, ModelScan, fickling, aisbom-cli;
## pinned, each in its own venv under target/scanner-peers/) on the threat corpus
## (tests/tools/threat_corpus/), judged as a station's default policy judges lbom (fail_on = "error"):
## one table of detections and false alarms per class and tool, per-case results in
## target/compare-scanners/. A comparison, not a test (like `make bench`); method in docs/threat-corpus.md
compare-scanners: venv
	$(CARGO) build --quiet
	LBOM_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/lbom $(LBOM_VENV)/bin/python tests/tools/compare_scanners.py

## fuzz: every cargo-fuzz target for FUZZ_SECONDS each (default 60), seeded by fuzz/seed.sh;
## crash inputs land in fuzz/artifacts/<target>/ and the run stops with an error
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := gguf_header safetensors_header pickle_scan inspect_any bundle_reader envelope_link key_files policy_file side_files chat_template pickle_containers part_index delta_recipe registry_documents
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	# The fuzz crate is its own workspace with its own lock: refuse a stale one
	# rather than let the build rewrite a committed file (tests/clean_clone.rs).
	$(CARGO) metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml > /dev/null || \
	    { echo "fuzz/Cargo.lock does not match Cargo.toml: run 'cargo update --workspace --manifest-path fuzz/Cargo.toml' and commit it" >&2; exit 1; }
	fuzz/seed.sh
	for t in $(FUZZ_TARGETS); do \
	    RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t fuzz/corpus/$$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 ; \
	done

## fuzz-smoke: what CI runs: every target for 15 s (a crash, leak, OOM over 1 GiB or a 10 s
## input fails the build; its input is left in fuzz/artifacts/<target>/)
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15
