#!/bin/sh
# Lists the product functions whose body is longer than a limit (80 lines unless given), the
# longest first, then their count: `tools/long_functions.sh [LIMIT]`, from the top of the
# repository. A body is the lines between the line that opens it and the line that closes it,
# as rustfmt lays them out (the closing `}` at the indentation of `fn`). Code for the tests
# is not product code and is not counted: modules under `#[cfg(test)]` or the `testing`
# feature, inline (`mod tests { ... }`) or in their own files (`mod check;`), and src/testing/.
# Prints `LINES FILE:LINE NAME`.
set -eu
limit=${1:-80}
test_only='^[ \t]*#\[cfg\((test|feature = "testing"|any\(test, feature = "testing"\))\)\]'
files=$(find src backends -name '*.rs' | sort)
# The files of the modules declared under a test-only cfg: `dir/name.rs` or `dir/name/mod.rs`.
# shellcheck disable=SC2086 # one word per file
excluded=$(awk -v attr="$test_only" '
  $0 ~ attr { marked = 1; next }
  marked && /^[ \t]*#\[/ { next }
  marked && /^[ \t]*(pub(\([a-z]+\))? )?mod [A-Za-z0-9_]+;/ {
    name = $0; sub(/^.*mod /, "", name); sub(/;.*$/, "", name)
    dir = FILENAME; sub(/[^\/]*$/, "", dir)
    if (FILENAME !~ /(^|\/)(mod|lib)\.rs$/) { own = FILENAME; sub(/\.rs$/, "/", own); dir = own }
    print dir name ".rs"; print dir name "/"
  }
  { marked = 0 }
' $files)
product=$(for f in $files; do
  case $f in src/testing/*) continue ;; esac
  skip=no
  for e in $excluded; do
    case $f in "$e" | "$e"*) skip=yes ;; esac
  done
  [ $skip = yes ] || echo "$f"
done)
# shellcheck disable=SC2086 # one word per file
awk -v limit="$limit" -v attr="$test_only" '
  FNR == 1 { depth = 0; skipping = 0; pending = 0; marked = 0 }
  # A module for the tests only: skipped up to its closing brace.
  skipping { if ($0 == skip "}") skipping = 0; next }
  $0 ~ attr { marked = 1; next }
  marked && /^[ \t]*#\[/ { next }
  marked {
    marked = 0
    if ($0 ~ /^[ \t]*(pub(\([a-z]+\))? )?mod [A-Za-z0-9_]+ \{$/) {
      match($0, /^[ \t]*/); skip = substr($0, 1, RLENGTH); skipping = 1; next
    }
  }
  # A signature that spans lines: its body opens on the line that ends with `{`.
  pending {
    if ($0 ~ /;$/ && $0 !~ /\{/) { pending = 0; depth-- }
    else if ($0 ~ /\{$/) { pending = 0; open[depth] = FNR }
    next
  }
  /^[ \t]*(pub(\([a-z]+\))? )?(const )?(async )?(unsafe )?fn [A-Za-z0-9_]+/ {
    match($0, /^[ \t]*/); ind = substr($0, 1, RLENGTH)
    name = $0; sub(/^.*fn /, "", name); sub(/[^A-Za-z0-9_].*$/, "", name)
    if ($0 ~ /\{.*\}$/ || $0 ~ /;$/) next
    depth++; indent[depth] = ind; fname[depth] = name; at[depth] = FNR
    if ($0 ~ /\{$/) open[depth] = FNR; else pending = 1
    next
  }
  depth > 0 && $0 == indent[depth] "}" {
    body = FNR - open[depth] - 1
    if (body > limit) printf "%d %s:%d %s\n", body, FILENAME, at[depth], fname[depth]
    depth--
  }
' $product | sort -rn > "${TMPDIR:-/tmp}/long_functions.$$"
cat "${TMPDIR:-/tmp}/long_functions.$$"
echo "functions with a body over $limit lines: $(wc -l < "${TMPDIR:-/tmp}/long_functions.$$")"
rm -f "${TMPDIR:-/tmp}/long_functions.$$"
