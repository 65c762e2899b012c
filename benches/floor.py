#!/usr/bin/env python3
"""Checkout of a new worktree against the shell floor for the same files, and the fixed overhead.

Usage: benches/floor.py PROJECT_DIR... --binary PATH [--repetitions N] [--scratch DIR] [--output FILE]

Each PROJECT_DIR is a git repository of a Cargo project, built in its main worktree (target
directory PROJECT_DIR/target) with its dependencies fetched (`cargo fetch --locked`: cargo-store
reads the workspace offline). For each project, in one run:

1. a fresh store, and `cargo store ingest --no-gc` of the main worktree into it;
2. `git worktree add` of a listing worktree and `cargo store checkout --no-sync --json` there,
   not timed (after the ingest, it is the store's first command that remembers cargo's answer
   for the workspace): every file checkout created under target/ is listed, with the main
   worktree's file at the same path as its source, and classed by what checkout did with it:
   linked (the same inode as the source: on ext4 the .rlib/.rmeta files outside OUT_DIR) or
   copied (the rest, empty files and CACHEDIR.TAG included); the files whose class differs
   from the plain rule (`cp -al` for .rlib/.rmeta, `cp -a` for the rest) are printed;
3. a second fresh store, left empty, warmed by two checkouts into new worktrees (the first
   creates the store, the second remembers cargo's answer), kept as `overhead_first_ms`;
4. N times (default 5), these five steps, in an order rotated by one at each repetition, each
   after a `sync` and into a fresh destination (worktrees are added before the timing):
   - checkout: `cargo store checkout --no-sync --json` in a new worktree (its report must
     place what the listing's did);
   - floor: in a new worktree, one `sh -c` that creates every directory checkout created (one
     `mkdir -p`), hard-links the linked files (one `cp -al --parents`) and copies the others
     (one `cp -a --parents`) from the main worktree's target, each batched by `xargs -0`;
   - `cp -a` and `cp -al` of the main worktree's whole target directory;
   - fixed overhead: `cargo store checkout --no-sync` in a new worktree with the empty store,
     where there is nothing to place: the command itself (the workspace read from the cache,
     the cached `rustc -vV`, the index opened and found empty).

Times are wall-clock, from the spawn of the binary (run directly, not through `cargo`) to its
exit. Printed: a Markdown table, per project, of units placed, files linked / copied, MiB placed
(checkout's `bytes`), median and min-max of checkout and floor, checkout / floor (of the
medians), the `cp -a` and `cp -al` medians and the fixed overhead; with --output FILE, every
time and report as JSON. The machine is what it is: compare ratios within one run.

Nothing is removed until every project is measured. ext4 without a journal (as here) never
gives a new file an inode freed in the last minute, and looks at each such inode in turn
before it finds one: right after two worktrees checked out by the shell for bat were removed,
60 % of the next one's CPU samples were in that search (3 % without removals before), so a step
after a removal would be slower for its place in the order, whatever it does. At the end every
worktree is removed (`git worktree remove --force`) with the temporary directory (under
--scratch DIR if given) that holds them, the stores and the copies: it needs room for N + 1
checkouts, N floors and N `cp -a` of each target. The main worktrees are only read.
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# What checkout hard-links on a filesystem without reflink (the rule `--link-mode auto` states).
LINKED_SUFFIXES = (".rlib", ".rmeta")


def run(command, cwd=None, env=None):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: `{' '.join(map(str, command))}` failed\n{result.stdout}\n{result.stderr}")
    return result.stdout


def timed(command, cwd=None, env=None):
    os.sync()
    start = time.perf_counter()
    output = run(command, cwd=cwd, env=env)
    return (time.perf_counter() - start) * 1000, output


def remove(path):
    if os.path.lexists(path):
        subprocess.run(["chmod", "-R", "u+w", path], capture_output=True)
        shutil.rmtree(path)


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def tree(root):
    """The files and directories under `root`, relative to it."""
    files, directories = [], []
    for directory, subdirectories, names in os.walk(root):
        relative = os.path.relpath(directory, root)
        directories.append(relative)
        files.extend(os.path.normpath(os.path.join(relative, name)) for name in names)
    return sorted(files), sorted(directories)


class Project:
    def __init__(self, path, binary, scratch, repetitions):
        self.path = path
        self.name = os.path.basename(path)
        self.binary = binary
        self.scratch = os.path.join(scratch, self.name)
        self.repetitions = repetitions
        self.target = os.path.join(path, "target")
        self.store = os.path.join(self.scratch, "store")
        self.empty_store = os.path.join(self.scratch, "empty-store")
        self.worktrees = []
        os.makedirs(self.scratch)

    def command(self, store, *arguments):
        return [self.binary, "--store", store, *arguments], dict(os.environ, CARGO_STORE_DIR=store)

    def add_worktree(self):
        path = os.path.join(self.scratch, f"worktree-{len(self.worktrees) + 1}")
        run(["git", "worktree", "add", "--quiet", "--detach", path], cwd=self.path)
        self.worktrees.append(path)
        return path

    def remove_worktrees(self):
        for path in self.worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", path], cwd=self.path, capture_output=True)
        self.worktrees = []

    def checkout(self, store, json_report=True):
        """A timed checkout into a new worktree: (milliseconds, report or None)."""
        worktree = self.add_worktree()
        command, env = self.command(store, "checkout", "--no-sync", *(["--json"] if json_report else []))
        milliseconds, output = timed(command, cwd=worktree, env=env)
        return milliseconds, json.loads(output) if json_report else None

    def measure(self):
        if not os.path.isdir(self.target):
            sys.exit(f"error: {self.target} does not exist\nhint: build the project first (`cargo build --locked`)")
        main_files, _ = tree(self.target)
        main_bytes = sum(os.lstat(os.path.join(self.target, file)).st_size for file in main_files)
        print(f"{self.name}: target {len(main_files)} files, {main_bytes / 2**20:.0f} MiB", file=sys.stderr, flush=True)

        command, env = self.command(self.store, "ingest", "--no-gc", "--json")
        ingest = json.loads(run(command, cwd=self.path, env=env))

        # What checkout places, and how, from a checked-out worktree.
        listing = self.add_worktree()
        command, env = self.command(self.store, "checkout", "--no-sync", "--json")
        listing_report = json.loads(run(command, cwd=listing, env=env))
        placed, directories = tree(os.path.join(listing, "target"))
        linked, copied, missing, off_rule = [], [], [], []
        for file in placed:
            try:
                source = os.lstat(os.path.join(self.target, file))
            except FileNotFoundError:
                missing.append(file)
                continue
            here = os.lstat(os.path.join(listing, "target", file))
            is_linked = (here.st_dev, here.st_ino) == (source.st_dev, source.st_ino)
            (linked if is_linked else copied).append(file)
            if is_linked != file.endswith(LINKED_SUFFIXES):
                off_rule.append(file)
        if missing:
            sys.exit(f"error: checkout created {len(missing)} files the main worktree does not have, e.g. {missing[0]}")
        lists = os.path.join(self.scratch, "lists")
        os.makedirs(lists)
        for name, entries in [("linked", linked), ("copied", copied)]:
            with open(os.path.join(lists, name), "w") as file:
                file.write("\0".join(entries))
        print(
            f"  checkout places {listing_report['units_placed']} units, "
            f"{len(placed)} files in {len(directories)} directories: "
            f"{len(linked)} linked, {len(copied)} copied; off the .rlib/.rmeta rule: {', '.join(off_rule) or 'none'}",
            file=sys.stderr,
            flush=True,
        )

        # The empty store: the first checkout creates it, the second remembers cargo's answer.
        first = [self.checkout(self.empty_store, json_report=False)[0] for _ in range(2)]

        times = {"checkout": [], "floor": [], "cp_a": [], "cp_al": [], "overhead": []}
        reports = []

        def checkout():
            milliseconds, report = self.checkout(self.store)
            units, present = report["units_placed"], report["files_present"]
            if (units, present) != (listing_report["units_placed"], 0):
                expected = listing_report["units_placed"]
                sys.exit(f"error: checkout placed {units} units ({present} files present), the listing's {expected}")
            reports.append(report)
            times["checkout"].append(milliseconds)

        def floor():
            worktree = self.add_worktree()
            destination = os.path.join(worktree, "target")
            quote = shlex.quote
            with open(os.path.join(lists, "directories"), "w") as file:
                file.write("\0".join(os.path.normpath(os.path.join(destination, name)) for name in directories))
            script = (
                f"cd {quote(self.target)}"
                f" && xargs -0 -r -a {quote(os.path.join(lists, 'directories'))} mkdir -p --"
                f" && xargs -0 -r -a {quote(os.path.join(lists, 'linked'))} cp -al --parents -t {quote(destination)} --"
                f" && xargs -0 -r -a {quote(os.path.join(lists, 'copied'))} cp -a --parents -t {quote(destination)} --"
            )
            milliseconds, _ = timed(["sh", "-c", script])
            made, _ = tree(destination)
            if len(made) != len(placed):
                sys.exit(f"error: the shell made {len(made)} files, checkout {len(placed)}")
            times["floor"].append(milliseconds)

        def copy_all(flags, key):
            def step():
                destination = os.path.join(self.scratch, f"{key}-{len(times[key]) + 1}")
                milliseconds, _ = timed(["cp", flags, self.target, destination])
                times[key].append(milliseconds)

            return step

        def overhead():
            times["overhead"].append(self.checkout(self.empty_store, json_report=False)[0])

        steps = [checkout, floor, copy_all("-a", "cp_a"), copy_all("-al", "cp_al"), overhead]
        for repetition in range(self.repetitions):
            shift = repetition % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step()

        report = reports[0]
        result = {
            "project": self.path,
            "target_files": len(main_files),
            "target_bytes": main_bytes,
            "ingest": {
                key: ingest[key] for key in ("units_added", "units_skipped", "files_added", "bytes_added", "elapsed_ms")
            },
            "units_placed": report["units_placed"],
            "files_placed": len(placed),
            "directories_placed": len(directories),
            "files_linked": len(linked),
            "files_copied": len(copied),
            "files_off_rule": off_rule,
            "report": {
                key: report[key]
                for key in (
                    "files_hardlinked",
                    "files_reflinked",
                    "files_copied",
                    "files_created",
                    "files_linked_within_units",
                    "bytes",
                )
            },
            "bytes_placed": report["bytes"],
            "checkout_elapsed_ms": [report["elapsed_ms"] for report in reports],
            "overhead_first_ms": first,
        }
        result.update({f"{key}_ms": spread(values) for key, values in times.items()})
        result["checkout_over_floor"] = result["checkout_ms"]["median"] / result["floor_ms"]["median"]
        return result


def milliseconds(value):
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def with_spread(times):
    return f"{milliseconds(times['median'])} ({milliseconds(times['min'])}-{milliseconds(times['max'])})"


def table(results):
    lines = [
        "| project | units | files linked / copied | MiB placed | checkout, ms | floor, ms | checkout / floor "
        "| `cp -a target`, ms | `cp -al target`, ms | fixed overhead, ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {os.path.basename(result['project'])} | {result['units_placed']} "
            f"| {result['files_linked']:,} / {result['files_copied']:,} | {result['bytes_placed'] / 2**20:.0f} "
            f"| {with_spread(result['checkout_ms'])} | {with_spread(result['floor_ms'])} "
            f"| {result['checkout_over_floor']:.2f} "
            f"| {milliseconds(result['cp_a_ms']['median'])} | {milliseconds(result['cp_al_ms']['median'])} "
            f"| {with_spread(result['overhead_ms'])} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="+", metavar="PROJECT_DIR")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--scratch", help="where the temporary directory goes (default: the system's)")
    parser.add_argument("--output", help="write the results as JSON to this file")
    arguments = parser.parse_args()
    binary = os.path.realpath(arguments.binary)
    scratch = tempfile.mkdtemp(prefix="cargo-store-floor-", dir=arguments.scratch)
    projects, results = [], []
    try:
        for path in arguments.projects:
            projects.append(Project(os.path.realpath(path), binary, scratch, arguments.repetitions))
            results.append(projects[-1].measure())
    finally:
        # Only now: see the module docs.
        for project in projects:
            project.remove_worktrees()
        remove(scratch)
        for project in projects:
            subprocess.run(["git", "worktree", "prune"], cwd=project.path, capture_output=True)
    version = run([binary, "--version"]).strip()
    print(f"{version}; {os.cpu_count()} cores; median (min-max) of {arguments.repetitions}\n")
    print(table(results))
    if arguments.output:
        with open(arguments.output, "w") as file:
            summary = {"binary": binary, "version": version, "repetitions": arguments.repetitions, "projects": results}
            json.dump(summary, file, indent=2)
            file.write("\n")


if __name__ == "__main__":
    main()
