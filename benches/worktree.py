#!/usr/bin/env python3
"""End-to-end timing of cargo-store on a real project, against the shell floor, in one run.

Usage: benches/worktree.py PROJECT_DIR [--repetitions N] [--no-builds] [-- CARGO_BUILD_ARGUMENTS...]

PROJECT_DIR is a git repository of a Cargo project built with CARGO_BUILD_ARGUMENTS (default
`--locked`). A fresh store in a temporary directory is used, so the user's store is untouched.
Each figure is measured N times (default 5) and printed as median and spread (min-max):

- `cp -a` of the whole target directory, and the shell doing checkout's own per-file choices on
  the same files (`cp -al` for .rlib/.rmeta, `cp -a` for the rest);
- `cargo store ingest`: first (into an empty store) and no-op;
- `cargo store checkout` into a new git worktree: default policy and each `--link-mode`, and
  the no-op checkout into a worktree that has everything;
- unless --no-builds: a cold `cargo build` in a fresh worktree against checkout + `cargo build`
  in another, once each, with the dependency units each compiled;
- the unique bytes a checked-out worktree adds on disk;
- with CARGO_STORE_BENCH_REFLINK_DIR set to a directory on XFS (reflink=1) or Btrfs: the same
  checkout with a store and a worktree there.

The binary is target/release/cargo-store of this repository, or CARGO_STORE_BIN.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def main():
    arguments = sys.argv[1:]
    build_arguments = ["--locked"]
    if "--" in arguments:
        index = arguments.index("--")
        build_arguments = arguments[index + 1 :]
        arguments = arguments[:index]
    repetitions = 5
    builds = True
    positional = []
    iterator = iter(arguments)
    for argument in iterator:
        if argument == "--repetitions":
            repetitions = int(next(iterator))
        elif argument == "--no-builds":
            builds = False
        else:
            positional.append(argument)
    if len(positional) != 1:
        sys.exit(__doc__)
    project = Path(positional[0]).resolve()
    binary = Path(os.environ.get("CARGO_STORE_BIN", REPOSITORY / "target/release/cargo-store"))
    if not binary.is_file():
        sys.exit(f"error: no cargo-store binary at {binary}\nhint: run `cargo build --release` first, or set CARGO_STORE_BIN")
    target = project / "target"
    if not target.is_dir():
        sys.exit(f"error: {target} does not exist\nhint: build the project first (cargo build {' '.join(build_arguments)})")
    Bench(project, target, binary, repetitions, builds, build_arguments).run()


def run(command, **options):
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if result.returncode != 0:
        sys.exit(f"error: `{' '.join(map(str, command))}` failed\n{result.stdout}\n{result.stderr}")
    return result.stdout


def remove(path):
    if path.exists():
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
        shutil.rmtree(path)


def free_bytes(path):
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


def unique_bytes(store, directory):
    """Bytes under `directory` not shared (by inode) with `store`: `du` counts an inode once."""
    output = run(["du", "-sb", str(store), str(directory)])
    return int(output.splitlines()[-1].split()[0])


class Bench:
    def __init__(self, project, target, binary, repetitions, builds, build_arguments):
        self.project = project
        self.target = target
        self.binary = binary
        self.repetitions = repetitions
        self.builds = builds
        self.build_arguments = build_arguments
        self.scratch = Path(tempfile.mkdtemp(prefix="cargo-store-bench-"))
        self.store = self.scratch / "store"
        self.worktrees = []
        self.rows = []

    def store_command(self, *arguments, store=None):
        environment = dict(os.environ, CARGO_STORE_DIR=str(store or self.store))
        return [str(self.binary), *map(str, arguments)], environment

    def time(self, label, command, prepare=None, environment=None, times=None):
        durations = []
        for _ in range(times or self.repetitions):
            if prepare:
                prepare()
            start = time.perf_counter()
            run(command, env=environment)
            durations.append((time.perf_counter() - start) * 1000)
        median = statistics.median(durations)
        self.rows.append((label, median, min(durations), max(durations)))
        print(f"{label:<52} {median:9.1f} ms   ({min(durations):.1f}-{max(durations):.1f}, n={len(durations)})", flush=True)
        return median

    def worktree(self, name, parent=None):
        path = (parent or self.scratch) / name
        run(["git", "-C", str(self.project), "worktree", "add", "--quiet", "--detach", str(path)])
        self.worktrees.append(path)
        return path

    def run(self):
        try:
            self.measure()
        finally:
            for worktree in self.worktrees:
                subprocess.run(["git", "-C", str(self.project), "worktree", "remove", "--force", str(worktree)], check=False)
            remove(self.scratch)

    def measure(self):
        files = sum(1 for path in self.target.rglob("*") if path.is_file())
        size = int(run(["du", "-sb", str(self.target)]).split()[0])
        print(f"project: {self.project}\ntarget:  {files} files, {size / 2**20:.0f} MiB\nbinary:  {self.binary}")
        print(f"machine: {os.cpu_count()} cores, {run(['uname', '-sr']).strip()}, filesystem {run(['stat', '-f', '-c', '%T', str(self.scratch)]).strip()}\n")

        # Ingest first into an empty store, then no-op.
        ingest, environment = self.store_command("ingest", "--no-gc", "--json", "--manifest-path", self.project / "Cargo.toml")
        first_ingest = self.time("ingest, first (empty store)", ingest, prepare=lambda: remove(self.store), environment=environment)
        noop_ingest = self.time("ingest, no-op", ingest, environment=environment)
        report = json.loads(run(ingest, env=environment))
        print(f"    {report['units_already_stored']} units stored, {report['units_skipped']} skipped")

        # The files checkout places, for the shell floor on the same files.
        listing = self.worktree("listing")
        checkout, environment = self.store_command("checkout", "--json", "--manifest-path", listing / "Cargo.toml")
        run(checkout, env=environment)
        placed = sorted(
            str(path.relative_to(listing / "target"))
            for path in (listing / "target").rglob("*")
            if path.is_file() and path.name != "CACHEDIR.TAG"
        )
        linked = [path for path in placed if path.endswith((".rlib", ".rmeta"))]
        copied = [path for path in placed if not path.endswith((".rlib", ".rmeta"))]
        print(f"    checkout places {len(placed)} files: {len(linked)} .rlib/.rmeta, {len(copied)} others\n")

        destination = self.scratch / "shell"
        copy_all = self.time("cp -a target", ["cp", "-a", str(self.target), str(destination)], prepare=lambda: remove(destination))
        link_all = self.time("cp -al target", ["cp", "-al", str(self.target), str(destination)], prepare=lambda: remove(destination))
        lists = self.scratch / "lists"
        lists.mkdir(exist_ok=True)
        (lists / "linked").write_text("\0".join(linked))
        (lists / "copied").write_text("\0".join(copied))
        script = (
            f"cd {self.target} && mkdir -p {destination} "
            f"&& xargs -0 -a {lists / 'linked'} cp -al --parents -t {destination} "
            f"&& xargs -0 -a {lists / 'copied'} cp -a --parents -t {destination}"
        )
        floor = self.time("cp -al (.rlib/.rmeta) + cp -a (rest), same files", ["sh", "-c", script], prepare=lambda: remove(destination))
        remove(destination)
        print()

        worktree = self.worktree("checkout")
        clear = lambda: remove(worktree / "target")
        results = {}
        for mode in ["auto", "hardlink", "copy", "reflink"]:
            command, environment = self.store_command("checkout", "--link-mode", mode, "--manifest-path", worktree / "Cargo.toml")
            results[mode] = self.time(f"checkout --link-mode {mode} (new worktree)", command, prepare=clear, environment=environment)
        command, environment = self.store_command("checkout", "--json", "--manifest-path", worktree / "Cargo.toml")
        clear()
        report = json.loads(run(command, env=environment))
        print(
            f"    default: {report['units_placed']} units; {report['files_hardlinked']} hardlinked, {report['files_reflinked']} reflinked, "
            f"{report['files_copied']} copied, {report['files_created']} created, {report['files_linked_within_units']} linked within units"
        )
        noop_checkout = self.time("checkout, no-op (worktree has everything)", command, environment=environment)
        added = unique_bytes(self.store, worktree / "target")
        print(f"    unique bytes the checked-out target adds: {added / 2**20:.1f} MiB ({added} bytes)\n")

        if self.builds:
            cold = self.worktree("cold")
            start = time.perf_counter()
            run(["cargo", "build", *self.build_arguments], cwd=cold)
            cold_build = time.perf_counter() - start
            warm = self.worktree("warm")
            command, environment = self.store_command("checkout", "--manifest-path", warm / "Cargo.toml")
            start = time.perf_counter()
            run(command, env=environment)
            checked_out = time.perf_counter() - start
            output = run(["cargo", "build", *self.build_arguments, "--message-format=json"], cwd=warm)
            warm_build = time.perf_counter() - start - checked_out
            compiled = fresh = local = 0
            for line in output.splitlines():
                message = json.loads(line)
                if message.get("reason") != "compiler-artifact":
                    continue
                if message["package_id"].startswith("path+"):
                    local += 1
                elif message["fresh"]:
                    fresh += 1
                else:
                    compiled += 1
            print(f"{'cold cargo build (fresh worktree)':<52} {cold_build:9.1f} s")
            print(f"{'checkout + cargo build (fresh worktree)':<52} {checked_out + warm_build:9.1f} s   (checkout {checked_out * 1000:.0f} ms)")
            print(f"    dependency artifacts fresh: {fresh}, dependency units compiled: {compiled}, workspace units built: {local}")
            print(f"    unique bytes after the build: {unique_bytes(self.store, warm / 'target') / 2**20:.1f} MiB\n")

        reflink = os.environ.get("CARGO_STORE_BENCH_REFLINK_DIR")
        if reflink:
            base = Path(tempfile.mkdtemp(prefix="cargo-store-bench-", dir=reflink))
            try:
                store = base / "store"
                command, environment = self.store_command("ingest", "--no-gc", "--manifest-path", self.project / "Cargo.toml", store=store)
                run(command, env=environment)
                worktree = self.worktree("reflink", parent=base)
                command, environment = self.store_command("checkout", "--json", "--manifest-path", worktree / "Cargo.toml", store=store)
                self.time("checkout on XFS/Btrfs (reflink)", command, prepare=lambda: remove(worktree / "target"), environment=environment)
                remove(worktree / "target")
                # `du` cannot see shared extents: count the space the filesystem lost instead.
                run(["sync", "-f", str(base)])
                before = free_bytes(base)
                report = json.loads(run(command, env=environment))
                run(["sync", "-f", str(base)])
                used = before - free_bytes(base)
                print(f"    {report['files_reflinked']} reflinked, {report['files_hardlinked']} hardlinked, {report['files_copied']} copied")
                print(f"    disk space the checked-out target takes (free space before - after): {used / 2**20:.1f} MiB\n")
            finally:
                remove(base)

        print("ratios (median / median):")
        print(f"  default checkout / shell floor with the same choices: {results['auto'] / floor:.2f}  (target: <= 1)")
        print(f"  default checkout / cp -a:                             {results['auto'] / copy_all:.3f}")
        print(f"  default checkout / cp -al:                            {results['auto'] / link_all:.2f}")
        print(f"  first ingest / cp -a:                                 {first_ingest / copy_all:.2f}  (target: <= 1)")
        print(f"  no-op checkout: {noop_checkout:.1f} ms (target: < 50);  no-op ingest: {noop_ingest:.1f} ms (target: < 100)")


if __name__ == "__main__":
    main()
