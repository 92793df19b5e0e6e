# lbom developer entry points. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

CARGO ?= cargo
LBOM_VENV ?= $(CURDIR)/.venv
export LBOM_VENV
DEMO := out/demo
LBOM := $(or $(CARGO_TARGET_DIR),target)/debug/lbom

.PHONY: test venv fmt-check clippy cargo-test demo fixtures bench fuzz

venv:
	tests/tools/setup-venv.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

cargo-test: venv
	$(CARGO) test --all-targets
	$(CARGO) test --doc

## test: venv, formatting, lints, every test (unit, integration, validators, doc tests)
test: venv fmt-check clippy cargo-test

## demo: scan fixtures/ in every format into out/demo/ and print the table
demo:
	$(CARGO) build --quiet
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
	rm -f $(DEMO)/tiny-llama.lbom
	SOURCE_DATE_EPOCH=0 $(LBOM) pack fixtures/gguf/tiny-llama-Q4_K_M.gguf fixtures/safetensors/tiny-llama \
	    --name tiny-llama --channel demo --output $(DEMO)/tiny-llama.lbom \
	    --key keys/demo-maintainer.key --role maintainer
	SOURCE_DATE_EPOCH=0 $(LBOM) sign $(DEMO)/tiny-llama.lbom --key keys/demo-transfer.key --role transfer \
	    --note "carried across the air gap by the demo transfer desk"
	$(LBOM) inspect $(DEMO)/tiny-llama.lbom
	tar -tvf $(DEMO)/tiny-llama.lbom > /dev/null
	@echo "demo outputs in $(DEMO)/: $$(ls $(DEMO) | tr '\n' ' ')"

## fixtures: regenerate fixtures/ with the independent writers (deterministic)
fixtures: venv
	fixtures/generate.sh

## bench: release build; scan and pack vs openssl / sha256sum, header-only scan, sign, peak RSS
## (LBOM_BENCH_MB=8 for a smoke run of seconds; LBOM_BENCH_STRICT=1 to fail on a missed target)
bench:
	$(CARGO) build --release --quiet
	LBOM_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release/lbom tests/bench/scan_bench.sh
	LBOM_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release/lbom tests/bench/pack_bench.sh

## fuzz: every cargo-fuzz target for FUZZ_SECONDS each (default 60), seeded by fuzz/seed.sh;
## crash inputs land in fuzz/artifacts/<target>/ and the run stops with an error
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := gguf_header safetensors_header pickle_scan inspect_any bundle_reader envelope_link key_files
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	fuzz/seed.sh
	for t in $(FUZZ_TARGETS); do \
	    RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t fuzz/corpus/$$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 ; \
	done
