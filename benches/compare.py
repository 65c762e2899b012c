#!/usr/bin/env python3
"""Two (or more) builds of cargo-store side by side on one real project, in one run.

Usage: benches/compare.py PROJECT_DIR --binary NAME=PATH --binary NAME=PATH [...]
           [--repetitions N] [--scratch DIR] [--output FILE]

PROJECT_DIR is a git repository of a Cargo project built in its main worktree (its target
directory is only read). For each repetition (default 5), and within it for each binary in
turn (the order rotated at every repetition, so that no binary always runs first):

- `ingest`: the first ingest of the main worktree into a fresh store of that binary's own
  (binaries of different versions may not share a store);
- `no-op ingest`: the same again, with nothing new;
- `checkout`: `cargo store checkout --no-sync` into a new git worktree (added outside the
  timing), from that store;
- `no-op checkout`: the same again in that worktree, with everything already there.

Printed: per step and binary the median and spread (min-max) in ms, and each binary's median
over the first binary's. Stores and worktrees are removed at the end of the run only: on a
filesystem that is slow to reuse freed inodes (ext4 without a journal), a removal right before a
timed step makes that step slower, whichever binary it is.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = ["ingest", "no-op ingest", "checkout", "no-op checkout"]


def run(command, cwd, env):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` in {cwd} failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(command, cwd, env):
    start = time.perf_counter()
    run(command, cwd, env)
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--binary", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--scratch")
    parser.add_argument("--output")
    arguments = parser.parse_args()
    project = os.path.realpath(arguments.project)
    binaries = []
    for spec in arguments.binary:
        name, _, path = spec.partition("=")
        if not path or not os.access(path, os.X_OK):
            sys.exit(f"--binary {spec}: expected NAME=PATH of an executable")
        binaries.append((name, os.path.realpath(path)))
    scratch = tempfile.mkdtemp(prefix="cargo-store-compare-", dir=arguments.scratch)
    times = {name: {step: [] for step in STEPS} for name, _ in binaries}
    worktrees = []
    try:
        for repetition in range(arguments.repetitions):
            order = binaries[repetition % len(binaries) :] + binaries[: repetition % len(binaries)]
            for name, binary in order:
                store = os.path.join(scratch, f"store-{name}-{repetition}")
                env = dict(os.environ, CARGO_STORE_DIR=store)
                times[name]["ingest"].append(timed([binary, "ingest", "--json"], project, env))
                times[name]["no-op ingest"].append(timed([binary, "ingest", "--json"], project, env))
                worktree = os.path.join(scratch, f"worktree-{name}-{repetition}")
                run(["git", "worktree", "add", "--quiet", "--detach", worktree], project, env)
                worktrees.append(worktree)
                checkout = [binary, "checkout", "--no-sync", "--json"]
                times[name]["checkout"].append(timed(checkout, worktree, env))
                times[name]["no-op checkout"].append(timed(checkout, worktree, env))
    finally:
        for worktree in worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", worktree], cwd=project, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    first = binaries[0][0]
    print(f"project: {project}; median (min-max) of {arguments.repetitions}, ms")
    header = f"{'step':16}" + "".join(f"{name:>24}" for name, _ in binaries)
    print(header)
    for step in STEPS:
        cells = []
        for name, _ in binaries:
            values = times[name][step]
            median = statistics.median(values)
            ratio = median / statistics.median(times[first][step])
            cells.append(f"{median:7.1f} ({min(values):.0f}-{max(values):.0f}) x{ratio:4.2f}")
        print(f"{step:16}" + "".join(f"{cell:>24}" for cell in cells))
    if arguments.output:
        with open(arguments.output, "w") as output:
            json.dump({"project": project, "binaries": dict(binaries), "times_ms": times}, output, indent=2)


if __name__ == "__main__":
    main()
