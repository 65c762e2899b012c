#!/usr/bin/env python3
"""What keeping the store current costs: `git worktree add` with the hook (sync + checkout)
against `git worktree add` alone, and a no-op sync among many sibling worktrees.

Usage: benches/sync.py PROJECT_DIR --binary PATH [--store DIR] [--repetitions N] [--siblings N]

PROJECT_DIR is a git repository of a Cargo project, built in its main worktree and never
ingested into DIR (a fresh store is made there; default: a temporary directory). In one run:

1. `git worktree add` of a new worktree without the hook, N times (median);
2. `cargo store hook install`, then `git worktree add` with the hook: the first one syncs the
   main worktree into the empty store (an ingest) and checks out; the next N - 1 find nothing
   changed (median);
3. SIBLINGS more worktrees, checked out; then, in one more worktree that is already checked
   out, a no-op `cargo store checkout` with the sync (reading SIBLINGS + 1 siblings' shapes)
   against `--no-sync`, N times each, interleaved (medians).

Every worktree it adds is removed at the end; the main worktree's target is never written.
Times are wall-clock; the machine is what it is, so compare ratios within one run.
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


def run(command, cwd=None, env=None, capture=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=capture, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(command, cwd=None, env=None):
    start = time.perf_counter()
    result = run(command, cwd=cwd, env=env)
    return (time.perf_counter() - start) * 1000, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--store")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--siblings", type=int, default=10)
    arguments = parser.parse_args()
    project = os.path.realpath(arguments.project)
    binary = os.path.realpath(arguments.binary)
    scratch = tempfile.mkdtemp(prefix="cargo-store-sync-")
    store = arguments.store or os.path.join(scratch, "store")
    if os.path.exists(store):
        shutil.rmtree(store)
    env = dict(os.environ, CARGO_STORE_DIR=store, PATH=os.path.dirname(binary) + os.pathsep + os.environ["PATH"])
    added = []

    def add(name):
        path = os.path.join(scratch, name)
        milliseconds, _ = timed(["git", "worktree", "add", "--quiet", "--detach", path], cwd=project, env=env)
        added.append(path)
        return path, milliseconds

    results = {"project": project, "binary": binary, "repetitions": arguments.repetitions}
    try:
        plain = [add(f"plain-{index}")[1] for index in range(arguments.repetitions)]
        run([binary, "hook", "install", "--repository", project], env=env)
        hooked = [add(f"hook-{index}")[1] for index in range(arguments.repetitions)]
        for index in range(arguments.siblings):
            add(f"sibling-{index}")
        probe, _ = add("probe")
        with_sync, without_sync = [], []
        for _ in range(arguments.repetitions):
            milliseconds, output = timed([binary, "checkout", "--json"], cwd=probe, env=env)
            with_sync.append(milliseconds)
            milliseconds, _ = timed([binary, "checkout", "--json", "--no-sync"], cwd=probe, env=env)
            without_sync.append(milliseconds)
        sync = json.loads(output.stdout)["sync"]
        results.update(
            {
                "worktree_add_without_hook_ms": plain,
                "worktree_add_with_hook_first_ms": hooked[0],
                "worktree_add_with_hook_later_ms": hooked[1:],
                "noop_checkout_with_sync_ms": with_sync,
                "noop_checkout_without_sync_ms": without_sync,
                "noop_sync_report": sync,
            }
        )
    finally:
        subprocess.run([binary, "hook", "uninstall", "--repository", project], env=env, capture_output=True)
        for path in added:
            subprocess.run(["git", "worktree", "remove", "--force", path], cwd=project, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    median = statistics.median
    print(f"project: {project}")
    print(f"git worktree add without the hook: median {median(plain):.0f} ms")
    print(f"git worktree add with the hook, first (sync of the main worktree + checkout): {hooked[0]:.0f} ms")
    if len(hooked) > 1:
        print(f"git worktree add with the hook, later (no-op sync + checkout): median {median(hooked[1:]):.0f} ms")
    print(
        f"no-op checkout among {sync['worktrees_checked']} siblings: with sync median {median(with_sync):.1f} ms, "
        f"--no-sync median {median(without_sync):.1f} ms (sync {median(with_sync) - median(without_sync):.1f} ms)"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
