#!/bin/sh
# Makes the seed corpus of every target (fuzz/corpus/, not committed) from the project's
# Procfiles: the real-world corpus, the golden ones, and the inputs saved in
# tests/fixtures/fuzz/. For parse_v2 a Procfile's text after its `version: 2` line is used,
# as the target puts that line in front itself.
set -eu
cd "$(dirname "$0")"
fixtures=../tests/fixtures
for target in parse_v1 parse_v2 render; do
    mkdir -p "corpus/$target"
    cp "$fixtures/fuzz/$target/"* "corpus/$target/"
done
n=0
for file in "$fixtures"/corpus/*.Procfile "$fixtures"/golden/*/Procfile; do
    n=$((n + 1))
    cp "$file" "corpus/parse_v1/seed$n"
    cp "$file" "corpus/render/seed$n"
    awk 'found { print } /^version:/ { found = 1 }' "$file" > "corpus/parse_v2/seed$n"
    [ -s "corpus/parse_v2/seed$n" ] || cp "$file" "corpus/parse_v2/seed$n"
done
echo "seeded $n Procfiles into fuzz/corpus/"
