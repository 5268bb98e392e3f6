#!/usr/bin/env bash
# Runs every command in the docs for real, so that no example drifts from the program:
# the lines of the fenced `sh` blocks (and bare ``` blocks) of README.md, CONTRIBUTING.md
# and docs/*.md, in order, each file in a fresh temporary folder holding copies of data/
# and configs/ and `gruf sample` data as btc.csv (HOME is that folder too). tests/docs.rs
# checks that the same commands parse; this checks that they run.
#
# Usage: scripts/doc-commands.sh [FILE.md ...]     (default: every doc)
#   GRUF: the binary (default target/release/gruf; build it with cargo build --release --locked)
#
# A line is run with bash (pipes, redirections and `&&` as written), `gruf` being $GRUF and
# `cargo run --release --` standing for it. Not run, and listed:
#   - lines naming data outside the repository (real BTC-USD prices, hourly-414.csv, paths
#     under ../shared or path/to), and the rest of their block, which builds on them;
#   - lines that build, test or benchmark the code (cargo, benches/, scripts/, .ci/);
#   - blocks whose fence says `sh no-run` (a job script for a scheduler, say).
# The first failing command stops the run: its file, line, command and output are printed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gruf=${GRUF:-$root/target/release/gruf}
if [ ! -x "$gruf" ]; then
  echo "doc-commands: no gruf binary at $gruf: run cargo build --release --locked first" >&2
  exit 1
fi
gruf=$(cd "$(dirname "$gruf")" && pwd)/$(basename "$gruf")

if [ $# -gt 0 ]; then
  files=("$@")
else
  files=("$root/README.md" "$root/CONTRIBUTING.md" "$root"/docs/*.md)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gruf-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$gruf" "$work/bin/gruf"

# Data a reader has to fetch: named in the docs, not in the repository.
outside='BTC-USD\.csv|hourly-414\.csv|\.\./shared|path/to/'
# Commands that build, test or measure the code rather than use gruf.
not_examples='^(cargo|RUSTC_BOOTSTRAP=|GRUF_GOLDEN_EXACT=|(bash )?benches/|(bash )?scripts/|\.ci/|pip )'

# Prints "LINE<TAB>BLOCK<TAB>COMMAND" for each logical line of the runnable blocks of a
# markdown file (continuation lines joined, and the lines of a quote spanning lines, with a
# space; a leading "$ " prompt dropped).
extract() {
  awk '
    # 1 when s ends inside a single-quoted string (a # comment outside quotes ends it).
    function open_quote(s,    i, c, q) {
      q = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q == "") {
          if (c == "\047" || c == "\"") q = c
          else if (c == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) return 0
          else if (c == "\\") i++
        } else if (c == q) q = ""
        else if (q == "\"" && c == "\\") i++
      }
      return q == "\047"
    }
    /^[ \t]*```/ {
      line = $0; sub(/^[ \t]*/, "", line)
      if (!inside) {
        inside = 1; block++
        info = substr(line, 4); sub(/[ \t]+$/, "", info)
        split(info, words, /[ \t,{]+/)
        run = (words[1] == "" || words[1] == "sh" || words[1] == "bash" || words[1] == "shell" || words[1] == "console")
        if (info ~ /no-run/) run = 0
      } else if (line ~ /^```[ \t]*$/) {
        if (pending != "") print start "\t" block "\t" pending
        inside = 0; pending = ""
      }
      next
    }
    inside && run {
      text = $0; sub(/^[ \t]+/, "", text); sub(/[ \t]+$/, "", text)
      if (pending == "") { start = NR; sub(/^\$ /, "", text) }
      if (text ~ /\\$/) { sub(/\\$/, "", text); pending = pending text " "; next }
      pending = pending text
      if (open_quote(pending)) { pending = pending " "; next }
      if (pending != "" && pending !~ /^#/) print start "\t" block "\t" pending
      pending = ""
    }
  ' "$1"
}

ran=0
skipped=()
started=$SECONDS
for file in "${files[@]}"; do
  name=${file#"$root"/}
  dir="$work/$(echo "$name" | tr '/.' '__')"
  mkdir -p "$dir/home"
  cp -r "$root/data" "$root/configs" "$dir/"
  "$gruf" sample --out "$dir/btc.csv" --quiet
  skip_block=""
  while IFS=$'\t' read -r line block command; do
    if [ "$skip_block" = "$block" ]; then
      skipped+=("$name:$line: $command  (builds on a skipped command)")
      continue
    fi
    if [[ $command =~ $outside ]]; then
      skipped+=("$name:$line: $command  (needs data outside the repository)")
      skip_block=$block
      continue
    fi
    if [[ $command =~ $not_examples ]] && [[ ! $command =~ ^cargo\ run\ --release\ --\  ]]; then
      skipped+=("$name:$line: $command  (builds, tests or measures the code)")
      continue
    fi
    command=${command//cargo run --release -- /gruf }
    if ! output=$(cd "$dir" && HOME="$dir/home" PATH="$work/bin:$PATH" \
      bash -o pipefail -c "$command" 2>&1 </dev/null); then
      echo "doc-commands: $name:$line: this command failed:" >&2
      echo "  $command" >&2
      echo "$output" | tail -n 20 | sed 's/^/  | /' >&2
      exit 1
    fi
    ran=$((ran + 1))
    echo "ok  $name:$line: $command"
  done < <(extract "$file")
done

if [ ${#skipped[@]} -gt 0 ]; then
  echo
  echo "not run (${#skipped[@]}):"
  printf '  %s\n' "${skipped[@]}"
fi
echo
echo "doc-commands: $ran commands ran in $((SECONDS - started)) s"
