#!/usr/bin/env bash
# End-to-end timing of cargo-store on a real project, against the shell floor.
#
# Usage: benches/worktree.sh PROJECT_DIR [CARGO_BUILD_ARGUMENTS...]
#
# PROJECT_DIR must be a git repository of a Cargo project that has been built with the given
# arguments (for example `cargo build --locked`). The script uses a fresh store in a temporary
# directory, so the user's store is untouched, and prints one line per figure:
#   - `cp -a` and `cp -al` of the whole target directory (the shell's floor for the same files);
#   - the first ingest and a no-op ingest;
#   - checkout into a new `git worktree`, the files it placed, and a no-op checkout;
#   - the first `cargo build` in that worktree: its time and how many dependency units it
#     compiled (0 is the point of the tool);
#   - the unique bytes the worktree's target adds on disk (hard links into the store are free).
set -euo pipefail

project=$(cd "${1:?usage: benches/worktree.sh PROJECT_DIR [CARGO_BUILD_ARGUMENTS...]}" && pwd)
shift
build_arguments=("$@")
binary=${CARGO_STORE_BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/cargo-store}
[ -x "$binary" ] || { echo "error: no cargo-store binary at $binary" >&2; echo "hint: run \`cargo build --release\` first, or set CARGO_STORE_BIN" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cargo-store-bench.XXXXXX")
worktree="$scratch/worktree"
export CARGO_STORE_DIR="$scratch/store"
cleanup() {
    git -C "$project" worktree remove --force "$worktree" 2>/dev/null || true
    chmod -R u+w "$scratch" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

milliseconds() { echo $(( $(date +%s%N) / 1000000 )); }
timed() { # label command...
    local start end
    start=$(milliseconds)
    "${@:2}" > "$scratch/last.out" 2>&1 || { cat "$scratch/last.out" >&2; exit 1; }
    end=$(milliseconds)
    printf '%-44s %8d ms\n' "$1" $((end - start))
}

target="$project/target"
files=$(find "$target" -type f | wc -l)
bytes=$(du -sb "$target" | cut -f1)
printf '%-44s %8s\n' "project" "$project"
printf '%-44s %8d files, %d MiB\n' "target directory" "$files" $((bytes / 1048576))

sync
timed "cp -a target" cp -a "$target" "$scratch/copy"
timed "cp -al target" cp -al "$target" "$scratch/links"
rm -rf "$scratch/copy" "$scratch/links"

timed "ingest (first)" "$binary" ingest --manifest-path "$project/Cargo.toml"
grep -E '^Ingested|skipped' "$scratch/last.out" | sed 's/^/    /'
timed "ingest (no-op)" "$binary" ingest --manifest-path "$project/Cargo.toml"

git -C "$project" worktree add --quiet --detach "$worktree"
timed "checkout (new worktree)" "$binary" checkout --manifest-path "$worktree/Cargo.toml" --json
python3 - "$scratch/last.out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
placed = sum(report[k] for k in ("files_hardlinked", "files_reflinked", "files_copied", "files_created"))
print(f"    {report['units_placed']} units, {placed} files: {report['files_hardlinked']} hardlinked, "
      f"{report['files_reflinked']} reflinked, {report['files_copied']} copied, {report['files_created']} created")
PY
unique=$(du -sb "$CARGO_STORE_DIR" "$worktree/target" | tail -1 | cut -f1)
printf '%-44s %8d MiB (%d bytes)\n' "worktree target after checkout: unique bytes" $((unique / 1048576)) "$unique"
timed "checkout (no-op)" "$binary" checkout --manifest-path "$worktree/Cargo.toml"

start=$(milliseconds)
(cd "$worktree" && cargo build "${build_arguments[@]}" --message-format=json > "$scratch/build.json" 2> "$scratch/build.err") \
    || { cat "$scratch/build.err" >&2; exit 1; }
end=$(milliseconds)
printf '%-44s %8d ms\n' "cargo build after checkout" $((end - start))
python3 - "$scratch/build.json" <<'PY'
import json, sys
compiled, fresh, local = [], 0, 0
for line in open(sys.argv[1]):
    message = json.loads(line)
    if message.get("reason") != "compiler-artifact":
        continue
    if message["package_id"].startswith("path+"):
        local += 1
    elif message["fresh"]:
        fresh += 1
    else:
        compiled.append(message["package_id"])
print(f"    dependency units fresh: {fresh}, compiled: {len(compiled)}; workspace units: {local}")
for package in compiled:
    print(f"    compiled: {package}")
PY
unique=$(du -sb "$CARGO_STORE_DIR" "$worktree/target" | tail -1 | cut -f1)
printf '%-44s %8d MiB (%d bytes)\n' "worktree target after build: unique bytes" $((unique / 1048576)) "$unique"
