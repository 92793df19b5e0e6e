#!/usr/bin/env bash
# Seed each cargo-fuzz target's corpus (fuzz/corpus/<target>/) from files in
# the repository: model fixtures and the hostile model corpus for the model readers, bundles and hostile
# tars for the bundle reader, chain links for the envelope reader, key files
# for the key reader. Run from the repository root; idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seed() { # TARGET FILE...
    local t="$1"; shift
    mkdir -p "fuzz/corpus/$t"
    for f in "$@"; do
        [[ -f "$f" ]] && cp -n "$f" "fuzz/corpus/$t/$(printf %s "$f" | tr / _)"
    done
    return 0
}
mapfile -t models < <(find fixtures tests/vectors/models -type f -size -2M \( -name '*.gguf' -o -name '*.safetensors' -o -name '*.bin' -o -name '*.pkl' -o -name '*.pt' \) | sort)
for t in gguf_header safetensors_header pickle_scan inspect_any; do
    seed "$t" "${models[@]}"
done
mapfile -t containers < <(find tests/vectors/threats -type f -size -2M ! -name '*.json' ! -name '*.md' | sort)
seed pickle_containers "${containers[@]}"
mapfile -t bundles < <(find tests/vectors -type f \( -name '*.lbom' -o -name '*.tar' \) | sort)
seed bundle_reader "${bundles[@]}"
mapfile -t links < <(find tests/vectors -type f -name '*.dsse.json' | sort)
seed envelope_link "${links[@]}"
# The chain links inside the shipped bundles, too.
for b in tests/vectors/bundle/*.lbom; do
    for name in $(tar -tf "$b" | grep '^chain/'); do
        mkdir -p fuzz/corpus/envelope_link
        tar -xOf "$b" "$name" >"fuzz/corpus/envelope_link/$(basename "$b")-$(basename "$name")"
    done
done
mapfile -t keys < <(find keys -type f \( -name '*.pub' -o -name '*.key' \) | sort)
seed key_files "${keys[@]}"
mapfile -t policies < <(find docs/examples -type f -name '*.toml' 2>/dev/null | sort)
seed policy_file "${policies[@]}"
mapfile -t sides < <(find fixtures -type f -size -2M \( -name '*.json' -o -name '*.jinja' -o -name 'README.md' \) | sort)
seed side_files "${sides[@]}"
mapfile -t templates < <(find tests/vectors/templates -type f -name '*.jinja' | sort)
seed chat_template "${templates[@]}"
mapfile -t indexes < <(find tests/vectors/parts -type f -name '*.index.dsse.json' | sort)
seed part_index "${indexes[@]}"
mapfile -t payloads < <(find tests/vectors/delta -type f -name '*.payload' | sort)
seed delta_recipe "${payloads[@]}"
mapfile -t documents < <(find tests/vectors/registry -type f | sort)
seed registry_documents "${documents[@]}"
