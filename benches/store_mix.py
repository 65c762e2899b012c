#!/usr/bin/env python3
"""One store, several real projects, ingested in the worst order: what the next build recompiles.

Usage: benches/store_mix.py PROJECT_DIR... --store DIR [--binary PATH] [--rev REV]
           [--orders worst,best] [--output FILE] [--logs DIR] [--keep-store]
           [--baseline PROJECT_NAME [--repetitions N]] [-- CARGO_BUILD_ARGUMENTS...]
       benches/store_mix.py --tables FILE   (the tables of an earlier run's JSON file)

Each PROJECT_DIR is a git repository of a Cargo project built in place with
CARGO_BUILD_ARGUMENTS (default `--locked`), at different times: projects that share dependency
versions then hold the same units with different mtimes. For each order (default: worst, then
best), in one run:

- DIR becomes a fresh, empty store (DIR must be missing, empty or a cargo-store store; it is
  deleted at the end unless --keep-store, which keeps the last order's store);
- the projects are ingested one after another: `worst` is the most recently built project first
  (its mtimes win for every unit the projects share), `best` the oldest first, `given` the
  order of the command line;
- for each project: `git worktree add` of a fresh worktree, `cargo store checkout --json` there
  (timed), then `cargo build CARGO_BUILD_ARGUMENTS --message-format=json` there with
  CARGO_LOG=cargo::core::compiler::fingerprint=info (timed; its stderr is kept in the logs
  directory), and the worktree is removed.

Printed, and written as JSON (default: store_mix.json beside DIR): the checkout's units and bytes
placed, and its units retimed, left out as other variants and built here (`-` where the binary
does not report them); the dependency units the build used (compiler artifacts of non-path
packages, plus their build-script runs), how many of them checkout had placed, and the units it
placed that the build did not use, by name and bytes (from the `.fingerprint/NAME-HASH` and
`-HASH` names in the build directory after checkout); the dependency artifacts fresh and
recompiled, the build-script runs rerun and the build time; and the fingerprint log's reasons
for every dependency unit cargo found dirty.

With --baseline PROJECT_NAME (a PROJECT_DIR's directory name), after the last order and with its
store: N times (default 3), interleaved, `cp -a` and `cp -al` of that project's target directory
and `cargo store checkout` into a new worktree of it (no build); then in the last of those
worktrees a no-op checkout and, of the main worktree, a no-op ingest, each run twice and the
second timed. Medians and spreads are printed and written under "baseline".

The binary is --binary PATH, else CARGO_STORE_BIN, else one built here: `cargo build --release
--locked` of this repository's working tree (or, with --rev REV, of that commit exported by `git
archive`) with CARGO_TARGET_DIR=cargo-store-units beside the first project (or
--cargo-store-units-dir DIR), so this repository's own target directory is untouched. The
export goes to DIR-source-COMMIT beside that target directory DIR, extracted afresh with fresh
mtimes; the workspace's own packages are cleaned from DIR before the build (cargo takes them
for the same units whatever the rev), and the binary is copied to DIR/cargo-store-COMMIT, so
that builds of several revs into one target directory do not mix.

The projects' own target directories are only read. Nothing is left behind but the JSON file and
the logs.
"""

import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11: names and versions are read with a regular expression.
    tomllib = None

REPOSITORY = Path(__file__).resolve().parent.parent
ORDERS = ("worst", "best", "given")
FINGERPRINT_LOG = "cargo::core::compiler::fingerprint=info"
HASH = re.compile(r"-([0-9a-f]{16})(?:\.|$)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# `fingerprint dirty for NAME vVERSION[ (PATH)]/MODE/TargetInner ...`, and `... error for ...`.
UNIT_LINE = re.compile(r"fingerprint (dirty|error) for (\S+) v([^\s/]+)( \([^)]*\))?/(\w+)/")
DIRTY_LINE = re.compile(r"fingerprint:\s+dirty: (.*)$")
ERROR_LINE = re.compile(r"fingerprint:\s+err: (.*)$")
NEWER_LINE = re.compile(r'dependency on `([^`]+)` is newer than we are (\S+)s > (\S+)s "([^"]*)"')
STALE_LINE = re.compile(r'fingerprint: stale: (\w+) "([^"]*)"')


def main():
    arguments = sys.argv[1:]
    build_arguments = ["--locked"]
    if "--" in arguments:
        index = arguments.index("--")
        build_arguments = arguments[index + 1 :]
        arguments = arguments[:index]
    options = {
        "store": None, "binary": None, "rev": None, "orders": "worst,best", "output": None, "logs": None,
        "cargo-store-units-dir": None, "baseline": None, "repetitions": "3", "tables": None,
    }
    keep_store = False
    projects = []
    iterator = iter(arguments)
    for argument in iterator:
        if argument in ("-h", "--help"):
            print(__doc__)
            return
        if argument == "--keep-store":
            keep_store = True
            continue
        if argument.startswith("--") and argument[2:].split("=", 1)[0] in options:
            name, _, value = argument[2:].partition("=")
            options[name] = value or next(iterator, None)
            if options[name] is None:
                sys.exit(f"error: --{name} needs a value")
        elif argument.startswith("-"):
            sys.exit(f"error: unknown option {argument}\n\n{__doc__}")
        else:
            projects.append(Path(argument).resolve())
    if options["tables"]:
        print_tables(json.loads(Path(options["tables"]).read_text()))
        return
    if not projects or not options["store"]:
        sys.exit(__doc__)
    if not options["repetitions"].isdigit() or int(options["repetitions"]) < 1:
        sys.exit("error: --repetitions needs a positive number")
    if options["baseline"] and options["baseline"] not in {project.name for project in projects}:
        sys.exit(f"error: --baseline {options['baseline']} is none of the projects' directory names")
    orders = [order.strip() for order in options["orders"].split(",") if order.strip()]
    for order in orders:
        if order not in ORDERS:
            sys.exit(f"error: unknown order `{order}` (known: {', '.join(ORDERS)})")
    for project in projects:
        if not (project / "Cargo.toml").is_file() or not (project / ".git").exists():
            sys.exit(f"error: {project} is not a git repository of a Cargo project")
        if not fingerprint_directories(project / "target"):
            sys.exit(f"error: {project / 'target'} holds no build\nhint: build the project first (cargo build {' '.join(build_arguments)})")
    if len({project.name for project in projects}) != len(projects):
        sys.exit("error: two projects have the same directory name")
    store = Path(options["store"]).resolve()
    check_store_directory(store)
    output = Path(options["output"]).resolve() if options["output"] else store.parent / "store_mix.json"
    logs = Path(options["logs"]).resolve() if options["logs"] else store.parent / "store_mix-logs"
    binary, binary_source = find_binary(options, projects)
    Mix(projects, store, binary, binary_source, orders, build_arguments, output, logs, keep_store, options["baseline"], int(options["repetitions"])).run()


def environment(**extra):
    """The caller's environment without anything that would move a target directory or a store."""
    variables = {
        name: value
        for name, value in os.environ.items()
        if name not in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_BUILD_DIR", "CARGO_STORE_DIR", "CARGO_LOG")
    }
    variables.update(extra)
    return variables


def run(command, **options):
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if result.returncode != 0:
        sys.exit(f"error: `{' '.join(map(str, command))}` failed ({result.returncode})\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def remove(path):
    if path.exists():
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
        shutil.rmtree(path)


def check_store_directory(store):
    """DIR is emptied: refuse anything but a missing or empty directory or a store, and the user's own store."""
    defaults = {Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cargo-store"}
    if os.environ.get("CARGO_STORE_DIR"):
        defaults.add(Path(os.environ["CARGO_STORE_DIR"]))
    if any(store == default.resolve() for default in defaults):
        sys.exit(f"error: {store} is the user's store; give the benchmark a directory of its own")
    if store.exists():
        if not store.is_dir():
            sys.exit(f"error: {store} is not a directory")
        entries = {entry.name for entry in store.iterdir()}
        if entries and not {"VERSION", "index.sqlite"} <= entries:
            sys.exit(f"error: {store} is neither empty nor a cargo-store store; it would be deleted")


def find_binary(options, projects):
    """The cargo-store binary and a description of where it comes from."""
    if options["binary"] or os.environ.get("CARGO_STORE_BIN"):
        binary = Path(options["binary"] or os.environ["CARGO_STORE_BIN"]).resolve()
        if not binary.is_file():
            sys.exit(f"error: no cargo-store binary at {binary}")
        return binary, {"given": str(binary)}
    target = Path(options["cargo-store-units-dir"] or projects[0].parent / "cargo-store-units").resolve()
    source = REPOSITORY
    description = {"repository": str(REPOSITORY)}
    head = subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", options["rev"] or "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        sys.exit(f"error: no commit `{options['rev'] or 'HEAD'}` in {REPOSITORY}\n{head.stderr}")
    description["commit"] = head.stdout.strip()
    if options["rev"]:
        # Beside the target directory, not in it (see below), extracted afresh with the current
        # time as mtime (`tar -m`): a commit's own times may be older than the outputs of
        # another rev built into the same target directory.
        source = target.parent / f"{target.name}-source-{description['commit'][:12]}"
        remove(source)
        source.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(REPOSITORY), "archive", description["commit"]], stdout=subprocess.PIPE)
        run(["tar", "-x", "-m", "-C", str(source)], stdin=archive.stdout)
        if archive.wait() != 0:
            sys.exit(f"error: `git archive {description['commit']}` failed")
        description["tree"] = "commit"
        description["source"] = str(source)
    else:
        status = run(["git", "-C", str(REPOSITORY), "status", "--porcelain", "--untracked-files=no"]).stdout
        description["tree"] = "working tree, modified" if status.strip() else "working tree, clean"
    print(f"building cargo-store ({description['tree']}, {description['commit'][:12]}) into {target}", flush=True)
    start = time.perf_counter()
    # Cargo hashes a path package by its path relative to the workspace, so every rev's workspace
    # crates are the same units here; and it records their sources relative to the target
    # directory when they are under it, so a build of another rev may find them fresh. Clean
    # just those (the dependencies stay built).
    metadata = run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline", "--manifest-path", str(source / "Cargo.toml")],
        env=environment(CARGO_TARGET_DIR=str(target)),
    )
    members = [item["name"] for item in json.loads(metadata.stdout)["packages"]]
    run(
        ["cargo", "clean", "--release", "--manifest-path", str(source / "Cargo.toml"), *(f"--package={name}" for name in members)],
        env=environment(CARGO_TARGET_DIR=str(target)),
    )
    run(
        ["cargo", "build", "--release", "--locked", "--manifest-path", str(source / "Cargo.toml")],
        env=environment(CARGO_TARGET_DIR=str(target)),
    )
    print(f"    built in {time.perf_counter() - start:.0f} s\n", flush=True)
    # Every rev builds the same file names into the target directory: keep this one's binary.
    suffix = description["commit"][:12] if options["rev"] else f"{description['commit'][:12]}-worktree"
    binary = target / f"cargo-store-{suffix}"
    shutil.copy2(target / "release" / "cargo-store", binary)
    return binary, description


def fingerprint_directories(target):
    """`.fingerprint` directories of every profile (and `--target` triple) under a target directory."""
    if not target.is_dir():
        return []
    found = []
    for child in target.iterdir():
        if (child / ".fingerprint").is_dir():
            found.append(child / ".fingerprint")
        elif child.is_dir():
            found.extend(grandchild / ".fingerprint" for grandchild in child.iterdir() if (grandchild / ".fingerprint").is_dir())
    return found


def unit_hashes(target):
    """The metadata hash of every unit under a target directory (`.fingerprint/NAME-HASH`)."""
    hashes = set()
    for directory in fingerprint_directories(target):
        for entry in directory.iterdir():
            match = HASH.search(entry.name)
            if match:
                hashes.add(match.group(1))
    return hashes


def unit_files(target):
    """Per unit hash: its name (`NAME-HASH` of its fingerprint directory) and the bytes of its files.

    A file belongs to the unit whose hash is in the first component of its path below the
    profile directory (`deps/libNAME-HASH.rlib`, `build/NAME-HASH/...`, `.fingerprint/NAME-HASH/...`);
    an inode counts once, as checkout counts it."""
    names, sizes, seen = {}, collections.Counter(), set()
    for fingerprints in fingerprint_directories(target):
        profile = fingerprints.parent
        for entry in fingerprints.iterdir():
            match = HASH.search(entry.name)
            if match:
                names[match.group(1)] = entry.name
        for directory, _, files in os.walk(profile):
            relative = Path(directory).relative_to(profile).parts
            for name in files:
                unit = next((match.group(1) for match in map(HASH.search, (*relative, name)) if match), None)
                if unit is None:
                    continue
                status = os.lstat(os.path.join(directory, name))
                if (status.st_dev, status.st_ino) in seen:
                    continue
                seen.add((status.st_dev, status.st_ino))
                sizes[unit] += status.st_size
    return names, sizes


def last_build(target):
    """When the project was last built: the newest mtime of a file in its fingerprints."""
    newest = 0.0
    for directory in fingerprint_directories(target):
        for unit in directory.iterdir():
            if not unit.is_dir():
                continue
            for entry in os.scandir(unit):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def package(project):
    """The root package's name and version, if the manifest has a [package]."""
    text = (project / "Cargo.toml").read_text()
    if tomllib:
        section = tomllib.loads(text).get("package", {})
        return section.get("name"), section.get("version") if isinstance(section.get("version"), str) else None
    match = re.search(r'^\[package\]\s*(?:[^\[]*?)^name\s*=\s*"([^"]+)"(?:[^\[]*?)^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    return (match.group(1), match.group(2)) if match else (None, None)


def summarize_report(report):
    """Every scalar field of a JSON report, and the length of every list: new fields come along."""
    summary = {}
    for key, value in report.items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            summary[key] = value
        elif isinstance(value, list):
            summary[key] = len(value)
    return summary


# Fields the tables show; any other nonzero count of a report is printed beside them.
SHOWN = {
    "version", "elapsed_ms", "units_added", "units_already_stored", "units_skipped", "units_placed", "bytes",
    "files_reflinked", "files_hardlinked", "files_copied", "files_created", "files_present", "files_linked_within_units",
    "files_added", "files_hashed", "bytes_added", "bytes_deduplicated", "skipped",
}


def other_counts(summary):
    """`name=value` for the nonzero integer fields of a report that the tables do not show."""
    return ", ".join(
        f"{key}={value}" for key, value in summary.items() if key not in SHOWN and isinstance(value, int) and not isinstance(value, bool) and value
    )


def artifact_hash(filenames):
    for filename in filenames:
        path = Path(filename)
        for name in (path.name, path.parent.name):
            match = HASH.search(name)
            if match:
                return match.group(1)
    return None


def read_build_messages(stdout):
    """Counts from `--message-format=json`: dependency units used, fresh and compiled, and their hashes."""
    counts = collections.Counter()
    used = {}  # hash -> "name@version kind"
    compiled = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        reason = message.get("reason")
        package_id = message.get("package_id", "")
        local = package_id.startswith("path+")
        name = package_id.rsplit("#", 1)[-1]
        if reason == "compiler-artifact":
            if local:
                counts["workspace_artifacts"] += 1
                continue
            kind = "+".join(message.get("target", {}).get("kind", []))
            counts["dependency_artifacts"] += 1
            if message.get("fresh"):
                counts["dependency_artifacts_fresh"] += 1
            else:
                counts["dependency_artifacts_compiled"] += 1
                compiled.append(f"{name} {kind}")
            unit = artifact_hash(message.get("filenames", []))
            if unit:
                used[unit] = (f"{name} {kind}", bool(message.get("fresh")))
        elif reason == "build-script-executed":
            if local:
                counts["workspace_build_script_runs"] += 1
                continue
            counts["dependency_build_script_runs"] += 1
            unit = artifact_hash([message.get("out_dir", "") or ""])
            if unit:
                used[unit] = (f"{name} build-script-run", None)
        elif reason == "build-finished":
            counts["build_success"] = int(bool(message.get("success")))
    return counts, used, compiled


def read_fingerprint_log(stderr):
    """Dirty and missing units of the fingerprint log, with their reasons."""
    units = []  # {"package", "version", "local", "mode", "kind": dirty|error, "reason"}
    newer = []  # (dependency, dependent directory, seconds newer)
    stale = []  # (what, path)
    current = None
    for raw in stderr.splitlines():
        line = ANSI.sub("", raw)
        match = UNIT_LINE.search(line)
        if match:
            current = {
                "kind": match.group(1),
                "package": match.group(2),
                "version": match.group(3),
                "local": bool(match.group(4)),
                "mode": match.group(5),
                "reason": None,
            }
            units.append(current)
            continue
        match = DIRTY_LINE.search(line) or ERROR_LINE.search(line)
        if match and current is not None and current["reason"] is None:
            current["reason"] = match.group(1).strip()
            continue
        match = NEWER_LINE.search(line)
        if match:
            dependency, newer_time, our_time, directory = match.groups()
            try:
                gap = float(newer_time) - float(our_time)
            except ValueError:
                gap = None
            newer.append((dependency, Path(directory).name, gap))
            continue
        match = STALE_LINE.search(line)
        if match:
            stale.append((match.group(1), match.group(2)))
    return units, newer, stale


def reason_kind(reason):
    """`FsStatusOutdated(StaleDependency { .. })` -> `FsStatusOutdated(StaleDependency)`."""
    if not reason:
        return "unknown"
    match = re.match(r"(\w+)(?:\((\w+))?", reason)
    if not match:
        return reason[:60]
    return f"{match.group(1)}({match.group(2)})" if match.group(2) else match.group(1)


class Mix:
    def __init__(self, projects, store, binary, binary_source, orders, build_arguments, output, logs, keep_store, baseline, repetitions):
        self.keep_store = keep_store
        self.baseline = baseline
        self.repetitions = repetitions
        self.projects = projects
        self.store = store
        self.binary = binary
        self.binary_source = binary_source
        self.orders = orders
        self.build_arguments = build_arguments
        self.output = output
        self.logs = logs
        self.worktrees = []
        self.scratch = None

    def store_command(self, *arguments):
        return [str(self.binary), "--store", str(self.store), *map(str, arguments)]

    def run(self):
        self.logs.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix="cargo-store-mix-", dir=self.store.parent))
        try:
            results = self.measure()
        finally:
            for project, worktree in self.worktrees:
                subprocess.run(["git", "-C", str(project), "worktree", "remove", "--force", str(worktree)], capture_output=True, check=False)
            for project in self.projects:
                subprocess.run(["git", "-C", str(project), "worktree", "prune"], capture_output=True, check=False)
            remove(self.scratch)
            if not self.keep_store:
                remove(self.store)
        self.output.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nnumbers: {self.output}\nfingerprint logs: {self.logs}/")

    def describe_projects(self):
        described = []
        for project in self.projects:
            target = project / "target"
            name, version = package(project)
            size = int(run(["du", "-sb", str(target)]).stdout.split()[0])
            files = sum(len(files) for _, _, files in os.walk(target))
            head = run(["git", "-C", str(project), "rev-parse", "HEAD"]).stdout.strip()
            described.append(
                {
                    "directory": str(project),
                    "label": project.name,
                    "package": name,
                    "version": version,
                    "commit": head,
                    "last_build": last_build(target),
                    "target_bytes": size,
                    "target_files": files,
                    "units_in_target": len(unit_hashes(target)),
                }
            )
        return described

    def measure(self):
        version = run([str(self.binary), "--version"]).stdout.strip()
        digest = hashlib.sha256(self.binary.read_bytes()).hexdigest()
        rustc = run(["rustc", "-V"]).stdout.strip()
        machine = f"{os.cpu_count()} cores, {run(['uname', '-sr']).stdout.strip()}, filesystem {run(['stat', '-f', '-c', '%T', str(self.scratch)]).stdout.strip()}"
        projects = self.describe_projects()
        print(f"binary:  {self.binary} ({version}, sha256 {digest[:12]}; {self.binary_source})")
        print(f"rustc:   {rustc}\nmachine: {machine}\nstore:   {self.store}\nbuild:   cargo build {' '.join(self.build_arguments)}\n")
        print("| project | package | last build | target | units in target |\n| --- | --- | --- | ---: | ---: |")
        for project in projects:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(project["last_build"]))
            print(
                f"| {project['directory']} | {project['package']} {project['version']} | {when} | "
                f"{project['target_bytes'] / 2**20:,.0f} MiB, {project['target_files']:,} files | {project['units_in_target']} |"
            )
        print(flush=True)
        by_label = {project["label"]: project for project in projects}
        results = {
            "version": 1,
            "started": time.time(),
            "binary": {"path": str(self.binary), "version": version, "sha256": digest, "source": self.binary_source},
            "rustc": rustc,
            "machine": machine,
            "build_arguments": self.build_arguments,
            "projects": projects,
            "runs": [],
        }
        for order in self.orders:
            if order == "given":
                sequence = list(self.projects)
            else:
                sequence = sorted(self.projects, key=lambda project: by_label[project.name]["last_build"], reverse=order == "worst")
            results["runs"].append(self.measure_order(order, sequence))
        if self.baseline:
            results["baseline"] = self.measure_baseline(next(project for project in self.projects if project.name == self.baseline), orders_run=self.orders[-1])
        self.print_tables(results)
        results["finished"] = time.time()
        return results

    def measure_order(self, order, sequence):
        print(f"== order `{order}`: ingest {' -> '.join(project.name for project in sequence)}", flush=True)
        remove(self.store)
        ingests = []
        for position, project in enumerate(sequence, 1):
            command = self.store_command("ingest", "--no-gc", "--json", "--manifest-path", project / "Cargo.toml")
            start = time.perf_counter()
            report = json.loads(run(command, env=environment()).stdout)
            wall = time.perf_counter() - start
            summary = summarize_report(report)
            ingests.append({"project": project.name, "position": position, "wall_ms": wall * 1000, "report": summary})
            print(
                f"    ingest {position}. {project.name:<12} {wall * 1000:7.0f} ms: {summary.get('units_added', '?')} units added, "
                f"{summary.get('units_already_stored', '?')} already stored, {summary.get('units_skipped', '?')} skipped"
                + (f" ({other_counts(summary)})" if other_counts(summary) else ""),
                flush=True,
            )
        projects = [self.measure_project(order, project, sequence.index(project) + 1) for project in self.projects]
        return {"order": order, "ingest_order": [project.name for project in sequence], "ingests": ingests, "projects": projects}

    def measure_project(self, order, project, position):
        worktree = self.scratch / f"{order}-{project.name}"
        run(["git", "-C", str(project), "worktree", "add", "--quiet", "--detach", str(worktree)])
        self.worktrees.append((project, worktree))
        try:
            checkout = self.store_command("checkout", "--json", "--manifest-path", worktree / "Cargo.toml")
            start = time.perf_counter()
            report = json.loads(run(checkout, env=environment()).stdout)
            checkout_wall = time.perf_counter() - start
            build_directory = Path(report.get("build_directory") or report.get("target_directory") or worktree / "target")
            placed_hashes = unit_hashes(build_directory)
            placed_names, placed_sizes = unit_files(build_directory)

            build = ["cargo", "build", *self.build_arguments, "--message-format=json"]
            start = time.perf_counter()
            result = subprocess.run(build, cwd=worktree, capture_output=True, text=True, env=environment(CARGO_LOG=FINGERPRINT_LOG))
            build_wall = time.perf_counter() - start
            log = self.logs / f"{order}-{project.name}.stderr"
            log.write_text(result.stderr)
            if result.returncode != 0:
                sys.exit(f"error: `{' '.join(build)}` failed in {worktree} ({result.returncode}); see {log}\n{result.stderr[-3000:]}")
        finally:
            subprocess.run(["git", "-C", str(project), "worktree", "remove", "--force", str(worktree)], capture_output=True, check=False)
            remove(worktree)
            self.worktrees.remove((project, worktree))

        counts, used, compiled = read_build_messages(result.stdout)
        units, newer, stale = read_fingerprint_log(result.stderr)
        dependency_units = [unit for unit in units if not unit["local"]]
        dirty = [unit for unit in dependency_units if unit["kind"] == "dirty"]
        missing = [unit for unit in dependency_units if unit["kind"] == "error"]
        used_and_placed = {unit for unit in used if unit in placed_hashes}
        placed_not_used = sorted(placed_hashes - set(used))
        bytes_in_target = sum(placed_sizes.values())
        bytes_not_used = sum(placed_sizes[unit] for unit in placed_not_used)
        placed_and_compiled = [description for unit, (description, fresh) in used.items() if unit in placed_hashes and fresh is False]
        reasons = collections.Counter(reason_kind(unit["reason"]) for unit in dirty)
        newer_by_dependency = collections.defaultdict(list)
        for dependency, dependent, gap in newer:
            newer_by_dependency[dependency].append({"dependent": dependent, "seconds_newer": gap})
        units_used = counts["dependency_artifacts"] + counts["dependency_build_script_runs"]
        numbers = {
            "project": project.name,
            "ingest_position": position,
            "checkout_wall_ms": checkout_wall * 1000,
            "checkout": summarize_report(report),
            "units_placed": report.get("units_placed"),
            "bytes_placed": report.get("bytes"),
            "units_placed_in_target": len(placed_hashes),
            "units_used": units_used,
            "units_used_that_checkout_placed": len(used_and_placed),
            "units_placed_per_unit_used": (report.get("units_placed") or 0) / units_used if units_used else None,
            # From the checkout's report; None where the binary does not report them.
            "units_retimed": report.get("units_retimed"),
            "units_other_variants": report.get("units_other_variants"),
            "units_built_here": report.get("units_built_here"),
            "units_present": report.get("units_present"),
            "units_skipped": report.get("units_skipped"),
            # Units in the build directory after checkout that the build did not use, and their bytes
            # (each inode once); bytes in the build directory per byte of the units the build used.
            "units_placed_not_used": [placed_names.get(unit, unit) for unit in placed_not_used],
            "bytes_in_target_after_checkout": bytes_in_target,
            "bytes_placed_not_used": bytes_not_used,
            "bytes_placed_per_byte_used": bytes_in_target / (bytes_in_target - bytes_not_used) if bytes_in_target > bytes_not_used else None,
            "units_used_not_placed": sorted(description for unit, (description, _) in used.items() if unit not in placed_hashes),
            "dependency_artifacts": counts["dependency_artifacts"],
            "dependency_artifacts_fresh": counts["dependency_artifacts_fresh"],
            "dependency_artifacts_compiled": counts["dependency_artifacts_compiled"],
            "dependency_build_script_runs": counts["dependency_build_script_runs"],
            "dependency_build_script_runs_rerun": sum(1 for unit in dirty + missing if unit["mode"] == "RunCustomBuild"),
            "placed_then_compiled": sorted(placed_and_compiled),
            "compiled": sorted(compiled),
            "workspace_artifacts": counts["workspace_artifacts"],
            "build_wall_s": build_wall,
            "fingerprint_log": str(log),
            "dirty_dependency_units": [
                {key: unit[key] for key in ("package", "version", "mode", "reason")} for unit in dirty
            ],
            "missing_dependency_units": [{key: unit[key] for key in ("package", "version", "mode")} for unit in missing],
            "dirty_reasons": dict(reasons.most_common()),
            "newer_dependencies": dict(sorted(newer_by_dependency.items(), key=lambda item: -len(item[1]))),
            "stale_files": [{"what": what, "path": path} for what, path in stale],
        }
        print(
            f"    {project.name:<12} (ingested {position}.) checkout {checkout_wall * 1000:6.0f} ms, {numbers['units_placed']} units placed "
            f"({(numbers['bytes_placed'] or 0) / 2**20:.0f} MiB); build {build_wall:5.1f} s, {units_used} dependency units used "
            f"({len(used_and_placed)} of them placed), {numbers['dependency_artifacts_compiled']} artifacts compiled, "
            f"{numbers['dependency_build_script_runs_rerun']} build-script runs rerun"
            + (f"; placed, not used: {', '.join(numbers['units_placed_not_used'])}" if numbers["units_placed_not_used"] else "")
            + (f"; checkout also reports {other_counts(numbers['checkout'])}" if other_counts(numbers["checkout"]) else ""),
            flush=True,
        )
        return numbers

    def timed(self, command, **options):
        start = time.perf_counter()
        result = run(command, **options)
        return (time.perf_counter() - start) * 1000, result

    def measure_baseline(self, project, orders_run):
        """Checkout into a new worktree against `cp -a` and `cp -al` of the main worktree's target,
        interleaved, with the store of the last order; then no-op checkout and no-op ingest."""
        print(f"== {project.name}: checkout into a new worktree, `cp -a`, `cp -al` of {project / 'target'}; no-op checkout and ingest", flush=True)
        times = collections.defaultdict(list)
        for repetition in range(1, self.repetitions + 1):
            for what, flags in (("cp -a", "-a"), ("cp -al", "-al")):
                copy = self.scratch / f"copy-{repetition}"
                elapsed, _ = self.timed(["cp", flags, str(project / "target"), str(copy)])
                times[f"`{what} target` of the main worktree"].append(elapsed)
                remove(copy)
            worktree = self.scratch / f"baseline-{repetition}"
            run(["git", "-C", str(project), "worktree", "add", "--quiet", "--detach", str(worktree)])
            self.worktrees.append((project, worktree))
            try:
                checkout = self.store_command("checkout", "--json", "--manifest-path", worktree / "Cargo.toml")
                elapsed, result = self.timed(checkout, env=environment())
                placed = json.loads(result.stdout)
                times["`cargo store checkout`, new worktree"].append(elapsed)
                if repetition == self.repetitions:
                    for what, command in (
                        ("`cargo store checkout`, no-op (second of two)", checkout),
                        ("`cargo store ingest`, no-op, main worktree (second of two)",
                         self.store_command("ingest", "--no-gc", "--json", "--manifest-path", project / "Cargo.toml")),
                    ):
                        self.timed(command, env=environment())
                        elapsed, result = self.timed(command, env=environment())
                        times[what].append(elapsed)
            finally:
                subprocess.run(["git", "-C", str(project), "worktree", "remove", "--force", str(worktree)], capture_output=True, check=False)
                remove(worktree)
                self.worktrees.remove((project, worktree))
            print(f"    {repetition}. " + ", ".join(f"{what} {values[-1]:,.0f} ms" for what, values in times.items() if len(values) == repetition), flush=True)
        size = int(run(["du", "-sb", str(project / "target")]).stdout.split()[0])
        rows = [{"what": what, "ms": values, "median_ms": sorted(values)[len(values) // 2] if len(values) % 2 else sum(sorted(values)[len(values) // 2 - 1 : len(values) // 2 + 1]) / 2} for what, values in times.items()]
        return {
            "project": project.name,
            "order": orders_run,
            "repetitions": self.repetitions,
            "target_bytes": size,
            "checkout_units_placed": placed.get("units_placed"),
            "checkout_bytes_placed": placed.get("bytes"),
            "rows": rows,
        }

    def print_tables(self, results):
        print_tables(results)


def cell(value, form="{}"):
    """A table cell: `-` for a number the binary did not report."""
    return "-" if value is None else form.format(value)


def print_tables(results):
    """The tables of a run (also of the JSON file of an earlier run, whose binary may report less)."""
    print(
        "\n| order | project | ingested | dep. units recompiled | units placed / used | placed / used "
        "| bytes placed | bytes / bytes used | retimed | other variants | built here | checkout | build |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run_ in results["runs"]:
        for numbers in run_["projects"]:
            checkout = numbers.get("checkout", {})
            recompiled = f"{numbers['dependency_artifacts_compiled']} + {numbers['dependency_build_script_runs_rerun']}"
            print(
                f"| {run_['order']} | {numbers['project']} | {numbers['ingest_position']}. | {recompiled} "
                f"| {numbers['units_placed']} / {numbers['units_used']} | {cell(numbers['units_placed_per_unit_used'], '{:.2f}')} "
                f"| {(numbers['bytes_placed'] or 0) / 2**20:,.0f} MiB | {cell(numbers.get('bytes_placed_per_byte_used'), '{:.2f}')} "
                f"| {cell(numbers.get('units_retimed', checkout.get('units_retimed')))} "
                f"| {cell(numbers.get('units_other_variants', checkout.get('units_other_variants')))} "
                f"| {cell(numbers.get('units_built_here', checkout.get('units_built_here')))} "
                f"| {numbers['checkout_wall_ms']:,.0f} ms | {numbers['build_wall_s']:.1f} s |"
            )
    print("\n(dep. units recompiled: dependency artifacts compiled + dependency build-script runs rerun; units used: the")
    print("build's dependency artifacts and build-script runs; bytes / bytes used: bytes in the build directory after checkout")
    print("per byte of the units the build used; retimed, other variants, built here: the checkout's report.)")
    for run_ in results["runs"]:
        for numbers in run_["projects"]:
            if numbers.get("units_placed_not_used"):
                print(
                    f"placed, not used by the build: order `{run_['order']}`, {numbers['project']}: "
                    f"{len(numbers['units_placed_not_used'])} units, {numbers['bytes_placed_not_used'] / 2**20:,.1f} MiB: "
                    + ", ".join(numbers["units_placed_not_used"])
                )
            if numbers.get("units_used_not_placed"):
                print(
                    f"used, not placed: order `{run_['order']}`, {numbers['project']}: {len(numbers['units_used_not_placed'])} units: "
                    + ", ".join(numbers["units_used_not_placed"])
                )
    print("\n| order | ingest | units added | already stored | skipped | bytes added | time |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for run_ in results["runs"]:
        for ingest in run_["ingests"]:
            report = ingest["report"]
            print(
                f"| {run_['order']} | {ingest['position']}. {ingest['project']} | {report.get('units_added')} | {report.get('units_already_stored')} "
                f"| {report.get('units_skipped')} | {(report.get('bytes_added') or 0) / 2**20:,.0f} MiB | {ingest['wall_ms']:,.0f} ms |"
            )
    for run_ in results["runs"]:
        for numbers in run_["projects"]:
            if not numbers["dirty_dependency_units"] and not numbers["missing_dependency_units"]:
                continue
            print(f"\nwhy cargo rebuilt dependency units: order `{run_['order']}`, {numbers['project']} ({numbers['fingerprint_log']})")
            kinds = ", ".join(f"{count} {kind}" for kind, count in numbers["dirty_reasons"].items())
            print(f"    {len(numbers['dirty_dependency_units'])} dirty: {kinds}; {len(numbers['missing_dependency_units'])} without a fingerprint")
            for dependency, dependents in list(numbers["newer_dependencies"].items())[:8]:
                gaps = [entry["seconds_newer"] for entry in dependents if entry["seconds_newer"] is not None]
                names = ", ".join(sorted({entry["dependent"] for entry in dependents}))
                gap = f", {max(gaps):.0f} s newer" if gaps else ""
                print(f"    {len(dependents):3} x \"dependency on `{dependency}` is newer than we are\"{gap}: {names}")
            cascades = [unit for unit in numbers["dirty_dependency_units"] if reason_kind(unit["reason"]) == "FsStatusOutdated(StaleDepFingerprint)"]
            if cascades:
                names = ", ".join(f"{unit['package']} {unit['version']}" for unit in cascades)
                print(f"    cascade (a dependency is itself stale): {names}")
            others = [
                unit
                for unit in numbers["dirty_dependency_units"]
                if reason_kind(unit["reason"]) not in ("FsStatusOutdated(StaleDepFingerprint)", "FsStatusOutdated(StaleDependency)")
            ]
            for unit in others[:10]:
                print(f"    {unit['package']} {unit['version']} {unit['mode']}: {(unit['reason'] or '')[:160]}")
            for unit in numbers["missing_dependency_units"][:10]:
                print(f"    {unit['package']} {unit['version']} {unit['mode']}: no fingerprint (not placed)")
            for entry in numbers["stale_files"][:5]:
                print(f"    stale: {entry['what']} {entry['path']}")

    baseline = results.get("baseline")
    if baseline:
        print(
            f"\n{baseline['project']}, after order `{baseline['order']}` (store holding every project), "
            f"{baseline['repetitions']} repetitions, median (min-max):\n"
        )
        print("| what | median | spread |\n| --- | ---: | ---: |")
        for row in baseline["rows"]:
            times = row["ms"]
            spread = f"{min(times):,.0f}-{max(times):,.0f}" if len(times) > 1 else "-"
            print(f"| {row['what']} | {row['median_ms']:,.{1 if row['median_ms'] < 100 else 0}f} ms | {spread} |")


if __name__ == "__main__":
    main()
