#!/bin/sh
# Regenerate the historical bundle (issue 7 item 5). Run from the repository
# root with the lbom binary to test: LBOM=target/debug/lbom sh tests/vectors/historical/make.sh
# Do this only when starting a NEW historical vector (e.g. v0.1.0.lbom for
# this version): the point of a committed one is that it is never remade.
set -eu
LBOM=${LBOM:-target/debug/lbom}
VERSION=$("$LBOM" --version | cut -d' ' -f2)
OUT=tests/vectors/historical/lbom-$VERSION.lbom
# A fixed creation time (2026-01-01T00:00:00Z); link times are the signing
# time (sign takes no SOURCE_DATE_EPOCH), so a rerun differs in the links.
export SOURCE_DATE_EPOCH=1767225600
"$LBOM" pack -q -o "$OUT" --name historical --channel historical \
    --compress zstd \
    --key keys/demo-maintainer.key --role maintainer \
    fixtures/safetensors/tiny-llama/config.json \
    fixtures/safetensors/tiny-llama/generation_config.json
"$LBOM" sign -q "$OUT" --key keys/demo-transfer.key --role transfer \
    --note "historical vector for lbom $VERSION"
sha256sum "$OUT" | sed 's| .*/|  |' > "$OUT.sha256"
