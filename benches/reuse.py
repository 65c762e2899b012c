#!/usr/bin/env python3
"""Reuse across projects: how much of a brand-new project's build the units of other projects give.

Usage: benches/reuse.py --binary PATH --stored PROJECT_DIR [--stored PROJECT_DIR ...]
           [--crates "serde/derive serde_json regex ..."] [--modes latest,aligned]
           [--output FILE] [--keep DIR] [-- CARGO_BUILD_ARGUMENTS...]

Each PROJECT_DIR is a Cargo project already built in place with CARGO_BUILD_ARGUMENTS (default
`--locked`, so the debug profile). In one run, into a fresh store in a temporary directory:

1. every PROJECT_DIR is ingested (their target directories are only read);
2. for each mode, a new project is made (`cargo init` in a git repository of its own, then
   `cargo add` of each crate; `name/feature` adds the crate with that feature):
   - `latest`: its lock file as `cargo generate-lockfile` makes it today: the newest versions,
     which is what a user who starts a project gets;
   - `aligned`: the requirements `cargo add` wrote are loosened to their compatible range
     (`"1.0.229"` becomes `"1"`), then every locked package that `checkout --explain` finds
     stored only in other versions is moved to the newest stored one the requirements allow
     (`cargo update -p NAME@OLD --precise NEW`, repeated until nothing changes): the best case,
     a project that shares versions with the stored ones;
3. `cargo fetch` (checkout reads the workspace offline, so the sources must be here), then
   `cargo store checkout --json` in the new project (timed), then `cargo build
   CARGO_BUILD_ARGUMENTS --message-format=json` (timed), counting the compiler artifacts of
   non-path packages that cargo found fresh (hits) and compiled (misses);
4. `cargo store checkout --dry-run --explain --json`, whose verdict for each package that cargo
   compiled says why the store did not serve it (`other-versions`, `other-features`,
   `other-flags`, `other-dependency-builds`, `not-stored`, ...), tallied.

Needs the network for `cargo add` and the lock file (crates.io); nothing else is installed.
Printed, and written as JSON (--output). Everything is removed at the end unless --keep DIR,
which keeps the store and the new projects there.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

DEFAULT_CRATES = "serde/derive serde_json regex walkdir globset anyhow memchr log"


def run(command, cwd=None, env=None, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` in {cwd} failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(command, cwd=None, env=None):
    start = time.perf_counter()
    result = run(command, cwd=cwd, env=env)
    return (time.perf_counter() - start) * 1000, result


def locked_versions(project):
    """(name, version) of every registry or git package of PROJECT's lock file."""
    with open(os.path.join(project, "Cargo.lock"), "rb") as lock:
        packages = tomllib.load(lock).get("package", [])
    return {(package["name"], package["version"]) for package in packages if "source" in package}


def loosen_requirements(project):
    """Rewrites the `cargo add` requirements (`"1.0.229"`) as the compatible range (`"1"`,
    `"0.4"`), so that the lock file may use older versions."""

    def compatible(match):
        major, minor = match.group(2), match.group(3)
        return f'{match.group(1)}"{major if major != "0" else "0." + minor}"'

    manifest = os.path.join(project, "Cargo.toml")
    with open(manifest) as file:
        text = file.read()
    package, dependencies = text.split("[dependencies]", 1)
    pattern = r'(version = |^[A-Za-z0-9_-]+ = )"(\d+)\.(\d+)\.\d+"'
    text = package + "[dependencies]" + re.sub(pattern, compatible, dependencies, flags=re.MULTILINE)
    with open(manifest, "w") as file:
        file.write(text)


def align(project, binary, env):
    """Moves each locked package that the store has only in other versions to the newest
    stored version the requirements allow, as `checkout --explain` lists them."""
    loosen_requirements(project)
    run(["cargo", "update", "--quiet"], cwd=project, env=env)
    moved = {}
    for _ in range(8):
        run(["cargo", "fetch", "--locked", "--quiet"], cwd=project, env=env)
        explained = json.loads(
            run([binary, "checkout", "--dry-run", "--explain", "--json"], cwd=project, env=env).stdout
        )
        changed = False
        for explanation in explained["explanations"]:
            if explanation["verdict"] != "other-versions":
                continue
            name, version = explanation["package"].split(" v", 1)
            for candidate in explanation.get("stored_versions", []):
                update = run(
                    ["cargo", "update", "--quiet", "-p", f"{name}@{version}", "--precise", candidate],
                    cwd=project,
                    env=env,
                    check=False,
                )
                if update.returncode == 0:
                    moved[name] = (version, candidate)
                    changed = True
                    break
        if not changed:
            break
    return moved


def new_project(directory, crates, env):
    os.makedirs(directory)
    run(["cargo", "init", "--quiet", "--bin", "--name", "new-project", "--vcs", "git"], cwd=directory, env=env)
    for spec in crates:
        name, _, feature = spec.partition("/")
        command = ["cargo", "add", "--quiet", name]
        if feature:
            command += ["--features", feature]
        run(command, cwd=directory, env=env)
    run(["cargo", "generate-lockfile", "--quiet"], cwd=directory, env=env)


def package_of(package_id):
    """`name vVERSION` from a package id (`registry+URL#name@version`, or `URL#version`)."""
    fragment = package_id.rsplit("#", 1)[-1]
    if "@" in fragment:
        name, version = fragment.rsplit("@", 1)
    else:
        name, version = package_id.split("#")[0].rstrip("/").rsplit("/", 1)[-1], fragment
    return f"{name} v{version}"


def build(project, arguments, env):
    """Runs the build; returns its time, and the artifacts of non-path packages found fresh and
    compiled, as (`name vX`, target kind)."""
    milliseconds, result = timed(["cargo", "build", *arguments, "--message-format=json"], cwd=project, env=env)
    hits, misses = [], []
    for line in result.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or message["package_id"].startswith("path+"):
            continue
        artifact = (package_of(message["package_id"]), "/".join(message["target"]["kind"]))
        (hits if message["fresh"] else misses).append(artifact)
    return milliseconds, hits, misses


def measure(mode, directory, binary, crates, stored_versions, build_arguments, env):
    new_project(directory, crates, env)
    moved = align(directory, binary, env) if mode == "aligned" else {}
    run(["git", "add", "--all"], cwd=directory, env=env)
    run(["git", "commit", "--quiet", "--message", "new project"], cwd=directory, env=env)
    locked = locked_versions(directory)
    # Checkout reads the workspace offline: the sources must be on this machine first.
    run(["cargo", "fetch", "--locked", "--quiet"], cwd=directory, env=env)
    checkout_ms, checkout = timed([binary, "checkout", "--json"], cwd=directory, env=env)
    checkout = json.loads(checkout.stdout)
    build_ms, hits, misses = build(directory, build_arguments, env)
    explained = json.loads(run([binary, "checkout", "--dry-run", "--explain", "--json"], cwd=directory, env=env).stdout)
    verdicts = {explanation["package"]: explanation for explanation in explained["explanations"]}
    compiled = sorted({package for package, _ in misses})
    reasons = collections.Counter(verdicts.get(package, {}).get("verdict", "unexplained") for package in compiled)
    why = {
        package: {"verdict": verdicts[package]["verdict"], "detail": verdicts[package]["detail"]}
        for package in compiled
        if package in verdicts
    }
    return {
        "mode": mode,
        "locked_packages": len(locked),
        "locked_packages_stored_versions": len(locked & stored_versions),
        "moved_to_stored_versions": moved,
        "checkout_ms": round(checkout_ms, 1),
        "units_placed": checkout["units_placed"],
        "build_ms": round(build_ms, 1),
        "artifacts_fresh": len(hits),
        "artifacts_compiled": len(misses),
        "hit_rate": round(len(hits) / max(1, len(hits) + len(misses)), 3),
        "compiled": [f"{package} ({kind})" for package, kind in sorted(misses)],
        "verdicts_of_compiled_packages": dict(reasons),
        "why": why,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--stored", action="append", required=True)
    parser.add_argument("--crates", default=DEFAULT_CRATES)
    parser.add_argument("--modes", default="latest,aligned")
    parser.add_argument("--output")
    parser.add_argument("--keep")
    parser.add_argument("build_arguments", nargs="*")
    arguments = parser.parse_args()
    build_arguments = arguments.build_arguments or ["--locked"]
    binary = os.path.realpath(arguments.binary)
    scratch = arguments.keep or tempfile.mkdtemp(prefix="cargo-store-reuse-")
    os.makedirs(scratch, exist_ok=True)
    store = os.path.join(scratch, "store")
    if os.path.exists(store):
        shutil.rmtree(store)
    env = dict(os.environ, CARGO_STORE_DIR=store)
    results = {"binary": binary, "crates": arguments.crates.split(), "stored": [], "modes": []}
    try:
        stored_versions = set()
        for project in arguments.stored:
            project = os.path.realpath(project)
            report = json.loads(run([binary, "ingest", "--json"], cwd=project, env=env).stdout)
            stored_versions |= locked_versions(project)
            results["stored"].append({"project": project, "units_added": report["units_added"]})
        for mode in arguments.modes.split(","):
            directory = os.path.join(scratch, f"new-project-{mode}")
            if os.path.exists(directory):
                shutil.rmtree(directory)
            results["modes"].append(
                measure(mode, directory, binary, results["crates"], stored_versions, build_arguments, env)
            )
    finally:
        if not arguments.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    for stored in results["stored"]:
        print(f"stored: {stored['project']} ({stored['units_added']} units)")
    print(f"new project: {' '.join(results['crates'])}")
    print(f"{'mode':8} {'locked':>6} {'same ver':>8} {'placed':>6} {'fresh':>5} {'built':>5} {'hits':>5}  checkout  build")
    for mode in results["modes"]:
        print(
            f"{mode['mode']:8} {mode['locked_packages']:6} {mode['locked_packages_stored_versions']:8} "
            f"{mode['units_placed']:6} {mode['artifacts_fresh']:5} {mode['artifacts_compiled']:5} "
            f"{mode['hit_rate'] * 100:4.0f}%  {mode['checkout_ms']:6.0f} ms {mode['build_ms'] / 1000:5.1f} s"
        )
        print(f"  why compiled: {mode['verdicts_of_compiled_packages']}")
        for package, why in mode["why"].items():
            print(f"    {package}: {why['verdict']}: {why['detail'][:160]}")
    if arguments.output:
        with open(arguments.output, "w") as output:
            json.dump(results, output, indent=2)


if __name__ == "__main__":
    main()
