#!/usr/bin/env python3
"""Sweep of a worktree's target directory after several build variants: size, time, freshness.

Usage: benches/sweep.py PROJECT_DIR --binary PATH [--feature NAME] [--scratch DIR] [--output FILE]

PROJECT_DIR is a Cargo project whose dependencies are fetched (everything builds `--locked
--offline`). Its sources, without `target/`, are copied into a temporary directory made a git
repository, where these variants are built in order, each with `--locked --offline`:

    cargo build                           cargo test --no-run
    cargo build --features NAME           cargo build --release
    cargo check                           RUSTFLAGS="-C debug-assertions=off" cargo build
    cargo check --features NAME           RUSTFLAGS="-C opt-level=1" cargo build
                                          cargo build   (the current build: finds everything fresh)

(without --feature, the two feature variants are left out). Then twice, on a copy (`cp -a`) of
that worktree never ingested, swept by its path without a store, and on the worktree itself
after `cargo store ingest` into a fresh store, swept as a registered root: `du` of `target/`,
its file, `.rlib`, unit and incremental directory counts, then `cargo store sweep --dry-run`,
`cargo store sweep` and a second `cargo store sweep` (nothing left to do), timed, all with the
store's clock a month ahead (`CARGO_STORE_TEST_NOW`, so that the variants are a month old), and
the counts again; last, the most recent build, check and test of each profile with
`--message-format=json`: every artifact must be fresh.

Times are wall-clock, from the spawn of the binary (run directly, not through `cargo`) to its
exit, after a `sync`. Printed: a Markdown table per case; with --output FILE, the reports as
JSON. Everything is built and removed under a temporary directory (under --scratch DIR if
given); PROJECT_DIR is only read.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

MONTH = 30 * 24 * 3600


def run(command, cwd, env=None, capture=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=capture, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return result


def variants(feature):
    """The builds, in order: (description, arguments, extra environment)."""
    steps = [("cargo build", ["build"], {})]
    if feature:
        steps.append((f"cargo build --features {feature}", ["build", "--features", feature], {}))
    steps.append(("cargo check", ["check"], {}))
    if feature:
        steps.append((f"cargo check --features {feature}", ["check", "--features", feature], {}))
    steps += [
        ("cargo test --no-run", ["test", "--no-run"], {}),
        ("cargo build --release", ["build", "--release"], {}),
        ('RUSTFLAGS="-C debug-assertions=off" cargo build', ["build"], {"RUSTFLAGS": "-C debug-assertions=off"}),
        ('RUSTFLAGS="-C opt-level=1" cargo build', ["build"], {"RUSTFLAGS": "-C opt-level=1"}),
        ("cargo build (current)", ["build"], {}),
    ]
    return steps


def current_builds(feature):
    """The most recent build, check and test of each profile after `variants`."""
    check = ["check", "--features", feature] if feature else ["check"]
    return [["build"], check, ["test", "--no-run"], ["build", "--release"]]


def census(worktree):
    target = os.path.join(worktree, "target")
    du = int(subprocess.run(["du", "-sk", target], capture_output=True, text=True).stdout.split()[0])
    files = rlibs = 0
    for _, _, names in os.walk(target):
        files += len(names)
        rlibs += sum(name.endswith(".rlib") for name in names)
    units = sum(
        len(os.listdir(os.path.join(target, profile, ".fingerprint")))
        for profile in ("debug", "release")
        if os.path.isdir(os.path.join(target, profile, ".fingerprint"))
    )
    incremental = os.path.join(target, "debug", "incremental")
    crates = os.listdir(incremental) if os.path.isdir(incremental) else []
    sessions = sum(
        1
        for crate in crates
        for name in os.listdir(os.path.join(incremental, crate))
        if os.path.isdir(os.path.join(incremental, crate, name))
    )
    free = os.statvfs(target)
    return {
        "du_kib": du,
        "files": files,
        "rlibs": rlibs,
        "units": units,
        "incremental_directories": len(crates),
        "incremental_sessions": sessions,
        "free_kib": free.f_bavail * free.f_frsize // 1024,
    }


def timed(command, cwd, env):
    subprocess.run(["sync"])
    start = time.monotonic()
    result = run(command, cwd, env)
    subprocess.run(["sync"])
    return (time.monotonic() - start) * 1000, json.loads(result.stdout)


def fresh(worktree, feature):
    """For each current build: (command, artifacts, artifacts fresh)."""
    results = []
    for arguments in current_builds(feature):
        output = run(["cargo", *arguments, "--locked", "--offline", "--message-format=json"], worktree).stdout
        artifacts = [json.loads(line) for line in output.splitlines() if '"reason":"compiler-artifact"' in line]
        results.append((" ".join(["cargo", *arguments]), len(artifacts), sum(a["fresh"] for a in artifacts)))
    return results


def measure(name, worktree, binary, env, sweep_arguments, feature):
    now = int(time.time())
    env = dict(env, CARGO_STORE_TEST_NOW=str(now + MONTH))
    before = census(worktree)
    dry_ms, dry = timed([binary, "sweep", "--dry-run", "--json", *sweep_arguments], worktree, env)
    sweep_ms, swept = timed([binary, "sweep", "--json", *sweep_arguments], worktree, env)
    again_ms, again = timed([binary, "sweep", "--json", *sweep_arguments], worktree, env)
    after = census(worktree)
    builds = fresh(worktree, feature)
    case = {
        "case": name,
        "before": before,
        "after": after,
        "dry_run_ms": dry_ms,
        "sweep_ms": sweep_ms,
        "again_ms": again_ms,
        "dry_run": dry,
        "sweep": swept,
        "again": again,
        "fresh": builds,
    }
    if dry["bytes_removed"] != swept["bytes_removed"] or again["entries_removed"] != 0:
        sys.exit(f"{name}: the dry run, the sweep and the second sweep disagree: {json.dumps(case, indent=1)}")
    for command, artifacts, fresh_artifacts in builds:
        if fresh_artifacts != artifacts:
            sys.exit(f"{name}: `{command}` compiled {artifacts - fresh_artifacts} artifacts after the sweep")
    return case


def table(case):
    before, after, swept = case["before"], case["after"], case["sweep"]
    mib = lambda kib: f"{kib / 1024:,.0f} MiB"
    rows = [
        ("`du` of `target/`", mib(before["du_kib"]), mib(after["du_kib"])),
        ("files", f"{before['files']:,}", f"{after['files']:,}"),
        ("`.rlib` files", before["rlibs"], after["rlibs"]),
        ("units (fingerprint directories)", before["units"], after["units"]),
        ("incremental directories (sessions)",
         f"{before['incremental_directories']} ({before['incremental_sessions']})",
         f"{after['incremental_directories']} ({after['incremental_sessions']})"),
    ]
    lines = [f"**{case['case']}**", "", "| | before | after |", "| --- | ---: | ---: |"]
    lines += [f"| {what} | {was} | {now} |" for what, was, now in rows]
    root = swept["roots"][0]
    groups = ", ".join(f"{g['entries']} {g['kind']} ({g['bytes'] / 2**20:,.1f} MiB)" for g in root["removed"])
    lines += [
        "",
        f"Removed {swept['entries_removed']} entries, {swept['bytes_removed'] / 2**20:,.1f} MiB, "
        f"{swept['bytes_freed'] / 2**20:,.1f} MiB freed (free space: "
        f"+{(after['free_kib'] - before['free_kib']) / 1024:,.0f} MiB): {groups}; "
        f"{root['units_current']} of {root['units']} units current, {swept['units_restorable']} removed units stored. "
        f"`sweep --dry-run` {case['dry_run_ms']:,.0f} ms, `sweep` {case['sweep_ms']:,.0f} ms, "
        f"the second `sweep` {case['again_ms']:,.0f} ms.",
        "",
        "Fresh after the sweep: "
        + "; ".join(f"`{command}` {fresh_artifacts}/{artifacts}" for command, artifacts, fresh_artifacts in case["fresh"]),
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--feature")
    parser.add_argument("--scratch")
    parser.add_argument("--output")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    scratch = tempfile.mkdtemp(prefix="cargo-store-sweep-", dir=arguments.scratch)
    try:
        worktree = os.path.join(scratch, "worktree")
        shutil.copytree(arguments.project, worktree, symlinks=True, ignore=shutil.ignore_patterns("target"))
        if not os.path.isdir(os.path.join(worktree, ".git")):
            run(["git", "init", "--quiet"], worktree)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_STORE") and k != "RUSTFLAGS"}
        for description, cargo_arguments, extra in variants(arguments.feature):
            start = time.monotonic()
            run(["cargo", *cargo_arguments, "--locked", "--offline"], worktree, dict(env, **extra))
            print(f"built: {description} ({time.monotonic() - start:.1f} s)", file=sys.stderr)
        plain = os.path.join(scratch, "plain")
        run(["cp", "-a", worktree, plain], scratch)
        cases = []
        no_store = dict(env, CARGO_STORE_DIR=os.path.join(scratch, "no-store"))
        cases.append(measure("Never ingested, swept by its path (no store)", plain, binary, no_store, ["."], arguments.feature))
        store = dict(env, CARGO_STORE_DIR=os.path.join(scratch, "store"))
        run([binary, "ingest", "--no-gc"], worktree, store)
        cases.append(measure("Ingested, swept as a registered root", worktree, binary, store, [], arguments.feature))
        for case in cases:
            print(table(case))
            print()
        if arguments.output:
            with open(arguments.output, "w") as output:
                json.dump(cases, output, indent=1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
