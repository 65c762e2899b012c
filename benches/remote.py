#!/usr/bin/env python3
"""The remote tier on a fresh CI machine: cargo-store's pull and checkout against a target tarball.

Usage: benches/remote.py PROJECT_DIR [--cargo-store PATH] [--s3s-fs PATH] [--repetitions N]
                         [--bump NAME[@VERSION] | --no-bump] [--only APPROACH] [--scratch DIR]
                         [--offline] [--keep] [--output FILE] [-- CARGO_BUILD_ARGS]

PROJECT_DIR is a git repository of a Cargo project with a Cargo.lock, its dependencies fetched
(`cargo fetch --locked`); only its committed HEAD is read (cloned). Every build is `cargo build
--locked --message-format=json CARGO_BUILD_ARGS` (the debug profile unless CARGO_BUILD_ARGS say
otherwise), with the user's CARGO_HOME (the default), and no target directory, wrapper, store,
remote or AWS variable of the user's environment.

The script starts its own S3-compatible server, s3s-fs, on loopback (127.0.0.1, a free port)
over a data directory of its own in the scratch directory, bucket `cargo-store`, with random
keys given to cargo-store through AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
AWS_ENDPOINT_URL, and to curl through `--aws-sigv4`. Each "machine" is a clone of PROJECT_DIR
at its own path in the scratch directory with its own CARGO_STORE_DIR.

1. Machine A, once: clone, `cargo build` (timed: a cold build, on record), `cargo store ingest`.
2. N times (default 3), with a new prefix of the bucket each time (`s3://cargo-store/run-K`):
   - A: `cargo store push --json` into the empty prefix (timed; its bytes and requests);
     `tar --zstd -cf target.tar.zst target` (timed) and a curl PUT of it (timed): what a
     Swatinem/rust-cache style job saves (the whole target directory here; rust-cache itself
     leaves out the workspace's own units and incremental data, so the incremental directory's
     size is reported too);
   - then a fresh CI machine (a new clone, an empty store) for each approach, the order
     rotated by one at each repetition:
     - cold: `cargo build` with nothing;
     - cargo-store: `cargo store pull --json`, `cargo store checkout --json` (which pulls
       first by itself: after the pull it finds every unit present), `cargo build`, each timed;
     - tarball: curl GET of the tarball (timed), `tar --zstd -xf` into the clone (timed),
       `cargo build` (timed).
     For each build: the dependency units cargo compiled (compiler-artifact messages with
     fresh false of packages whose id is not `path+file:`) and the workspace's own.
     Each clone is removed after its measurement.
3. The lock bump, once, on A: `cargo update -p NAME` (to the newest compatible version; with
   @VERSION, `--precise VERSION`; needs the registry's index: the network), `cargo build`
   (timed, units compiled), `cargo store ingest`, `cargo store push --json` into the last
   repetition's prefix (which holds the units before the bump): its bytes uploaded, against
   the size of the whole new tarball (made, timed and uploaded as before). Default NAME:
   `anyhow`, which only the workspace depends on in ripgrep and bat.

For the remote's commands, the CPU seconds they used (getrusage of the children) and those the
server used meanwhile (/proc/PID/stat); for the tarball's, curl's, tar's and the server's; and
the load average after each CI measurement (the machine's other work).

Printed: Markdown tables of medians and (with N > 1) min-max, and the ratios; with --output
FILE, every measurement as JSON. Times are wall-clock, after a `sync`, on one machine (the page
cache is not dropped: the CI machine's files are as warm as this machine keeps them, and the
"network" is loopback).

Needs: git, cargo, `tar` with --zstd (GNU tar 1.31+), `zstd` and `curl` (Debian/Ubuntu:
`sudo apt-get install zstd curl`), and s3s-fs (`--s3s-fs PATH`, else `s3s-fs` on PATH, else
~/.cargo/bin/s3s-fs; install with `cargo install --locked s3s-fs --version 0.14.1 --features
binary`). The cargo-store binary is `--cargo-store PATH`, else CARGO_STORE_BIN, else built
here: `cargo build --release --locked` of this repository's working tree with
CARGO_TARGET_DIR=--build-target-dir (default $TMPDIR/cargo-store-bench-target, so that this
repository's own target directory is untouched); it is copied into the scratch directory
before the first measurement. Everything (clones, stores, the server's data, tarballs) is
under a temporary directory (under --scratch DIR if given; it needs room for about 4 target
directories and 2 tarballs), removed at the end with the server stopped, unless --keep.
"""

import argparse
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib

APPROACHES = ("cold", "cargo-store", "tarball")
BUCKET = "cargo-store"
REGION = "us-east-1"
LISTENING = "server is running at http://"
REPOSITORY = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def run(command, cwd=None, env=None, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"error: `{' '.join(map(str, command))}` failed in {cwd}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, cwd=None, env=None):
    seconds, _, output = measured(command, cwd, env)
    return seconds, output


def measured(command, cwd=None, env=None):
    """(wall seconds, CPU seconds of the command, its stdout)."""
    os.sync()
    cpu = children_cpu()
    start = time.perf_counter()
    output = run(command, cwd=cwd, env=env)
    return time.perf_counter() - start, children_cpu() - cpu, output


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


def disk_usage(path):
    """Bytes on disk under `path` (`du -sk`)."""
    if not os.path.exists(path):
        return 0
    return int(run(["du", "-sk", path]).split()[0]) * 1024


def locked(project):
    """{name: [versions]} of the lock file's registry and git packages."""
    with open(os.path.join(project, "Cargo.lock"), "rb") as lock:
        packages = tomllib.load(lock).get("package", [])
    found = {}
    for package in packages:
        if "source" in package:
            found.setdefault(package["name"], []).append(package["version"])
    return found


def find_s3s_fs(flag):
    for candidate in (flag, shutil.which("s3s-fs"), os.path.expanduser("~/.cargo/bin/s3s-fs")):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    return None


class Server:
    """s3s-fs on loopback over `root`, bucket BUCKET; its log (stdout and stderr) in `log`."""

    def __init__(self, binary, root, log):
        self.access_key = "bench" + secrets.token_hex(6)
        self.secret_key = secrets.token_hex(16)
        os.makedirs(os.path.join(root, BUCKET))
        self.log_path = log
        self.log = open(log, "w")
        command = [binary, "--host", "127.0.0.1", "--port", "0", "--access-key", self.access_key]
        command += ["--secret-key", self.secret_key, root]
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=dict(os.environ, RUST_LOG="info", NO_COLOR="1")
        )
        deadline = time.monotonic() + 10
        self.endpoint = None
        while self.endpoint is None:
            with open(log) as file:
                for line in file:
                    if LISTENING in line:
                        self.endpoint = "http://" + line.split(LISTENING, 1)[1].split()[0]
            if self.endpoint is None:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    with open(log) as file:
                        sys.exit(f"error: s3s-fs did not start\n{file.read()}")
                time.sleep(0.05)

    def env(self):
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def curl(self, key):
        return [
            "curl", "--silent", "--show-error", "--fail", "--aws-sigv4", f"aws:amz:{REGION}:s3",
            "--user", f"{self.access_key}:{self.secret_key}",
            # s3s-fs wants the header, which curl does not send by itself.
            "--header", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "--write-out", "%{size_upload} %{size_download}",
            f"{self.endpoint}/{BUCKET}/{key}",
        ]  # fmt: skip

    def cpu(self):
        """CPU seconds the server has used (user and system, /proc/PID/stat)."""
        with open(f"/proc/{self.process.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def put(self, path, key):
        """(seconds, bytes uploaded) of a PUT of the file `path`."""
        seconds, output = timed(self.curl(key) + ["--upload-file", path])
        return seconds, int(float(output.split()[0]))

    def get(self, key, path):
        """(seconds, bytes downloaded, CPU seconds of curl, of the server) of a GET into `path`."""
        server = self.cpu()
        seconds, cpu, output = measured(self.curl(key) + ["--output", path])
        return seconds, int(float(output.split()[1])), cpu, self.cpu() - server

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Run:
    def __init__(self, arguments, binary, server, scratch):
        self.project = os.path.realpath(arguments.project)
        self.binary = binary
        self.server = server
        self.scratch = scratch
        self.build_command = ["cargo", "build", "--locked", "--message-format=json"]
        self.build_command += ["--offline"] if arguments.offline else []
        self.build_command += arguments.cargo_args
        # The builds see no wrapper, target directory, store, remote or credentials but their own.
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER")
            and not key.startswith(("SCCACHE_", "CARGO_STORE_", "AWS_"))
        }
        self.env["AWS_EC2_METADATA_DISABLED"] = "true"
        self.machine_a = os.path.join(scratch, "machine-a")
        self.store_a = os.path.join(scratch, "store-a")
        self.clones = 0
        self.cpu = {}

    def clone(self, name):
        self.clones += 1
        path = os.path.join(self.scratch, f"ci-{self.clones}-{name}")
        run(["git", "clone", "--quiet", "--no-hardlinks", self.project, path], env=self.env)
        return path

    def remove(self, path):
        subprocess.run(["chmod", "-R", "u+w", path], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)

    def store_env(self, store, prefix=None):
        """A machine's environment: its store and, with `prefix`, the remote."""
        if prefix is None:
            return dict(self.env, CARGO_STORE_DIR=store)
        return dict(self.env, **self.server.env(), CARGO_STORE_DIR=store, CARGO_STORE_REMOTE=f"s3://{BUCKET}/{prefix}")

    def build(self, directory, env=None):
        seconds, output = timed(self.build_command, cwd=directory, env=env or self.env)
        dependencies, workspace = units(output)
        return {"build_s": seconds, "dependency_units": dependencies, "workspace_units": workspace}

    def store(self, command, directory, env):
        """(seconds, report) of `cargo store COMMAND --json`; the CPU seconds it and the server
        used in `self.cpu[COMMAND]`."""
        server = self.server.cpu()
        seconds, cpu, output = measured([self.binary, *command, "--json"], cwd=directory, env=env)
        self.cpu[command[0]] = {"client_cpu_s": cpu, "server_cpu_s": self.server.cpu() - server}
        return seconds, json.loads(output)

    # Machine A.

    def fill_a(self):
        run(["git", "clone", "--quiet", "--no-hardlinks", self.project, self.machine_a], env=self.env)
        result = self.build(self.machine_a)
        seconds, report = self.store(["ingest"], self.machine_a, self.store_env(self.store_a))
        result.update(ingest_s=seconds, units_added=report.get("units_added"))
        return result

    def publish(self, prefix):
        """A's push into `prefix` and its tarball at `prefix`/target.tar.zst."""
        seconds, report = self.store(["push"], self.machine_a, self.store_env(self.store_a, prefix))
        result = {
            "push_s": seconds,
            "push_bytes_uploaded": report["traffic"]["bytes_uploaded"],
            "push_requests": report["traffic"]["requests"],
            "push_units_pushed": report["units_pushed"],
            "push_objects_uploaded": report["objects_uploaded"],
            "push_warnings": report["warnings"],
            "push_cpu_s": self.cpu["push"]["client_cpu_s"],
            "push_server_cpu_s": self.cpu["push"]["server_cpu_s"],
        }
        target = os.path.join(self.machine_a, "target")
        result["target_bytes"] = disk_usage(target)
        result["incremental_bytes"] = sum(
            disk_usage(os.path.join(directory, "incremental"))
            for directory in (os.path.join(target, name) for name in os.listdir(target))
            if os.path.isdir(directory)
        )
        tarball = os.path.join(self.scratch, "a-target.tar.zst")
        result["tar_s"], _ = timed(["tar", "--zstd", "-cf", tarball, "target"], cwd=self.machine_a)
        result["tarball_bytes"] = os.path.getsize(tarball)
        result["upload_s"], result["tarball_bytes_uploaded"] = self.server.put(tarball, f"{prefix}/target.tar.zst")
        os.remove(tarball)
        return result

    # The fresh CI machine's approaches.

    def cold(self, prefix):
        clone = self.clone("cold")
        result = self.build(clone)
        result["total_s"] = result["build_s"]
        self.remove(clone)
        return result

    def cargo_store(self, prefix):
        clone = self.clone("cargo-store")
        store = os.path.join(self.scratch, f"store-ci-{self.clones}")
        env = self.store_env(store, prefix)
        pull_s, pull = self.store(["pull"], clone, env)
        pull_cpu = self.cpu["pull"]
        checkout_s, checkout = self.store(["checkout"], clone, env)
        result = {"pull_s": pull_s, "checkout_s": checkout_s, **self.build(clone, env)}
        again = checkout.get("remote") or {"traffic": {"bytes_downloaded": 0, "requests": 0}, "warnings": []}
        result.update(
            total_s=pull_s + checkout_s + result["build_s"],
            units_pulled=pull["units_pulled"],
            units_unavailable=pull["units_unavailable"],
            objects_downloaded=pull["objects_downloaded"],
            discovery=pull["discovery"],
            pull_bytes_downloaded=pull["traffic"]["bytes_downloaded"],
            pull_requests=pull["traffic"]["requests"],
            checkout_bytes_downloaded=again["traffic"]["bytes_downloaded"],
            checkout_requests=again["traffic"]["requests"],
            bytes_downloaded=pull["traffic"]["bytes_downloaded"] + again["traffic"]["bytes_downloaded"],
            requests=pull["traffic"]["requests"] + again["traffic"]["requests"],
            units_placed=checkout["units_placed"],
            warnings=pull["warnings"] + again["warnings"],
            store_bytes=disk_usage(store),
            pull_cpu_s=pull_cpu["client_cpu_s"],
            pull_server_cpu_s=pull_cpu["server_cpu_s"],
            checkout_cpu_s=self.cpu["checkout"]["client_cpu_s"],
        )
        self.remove(clone)
        self.remove(store)
        return result

    def tarball(self, prefix):
        clone = self.clone("tarball")
        tarball = os.path.join(self.scratch, f"ci-{self.clones}.tar.zst")
        download_s, downloaded, download_cpu, server_cpu = self.server.get(f"{prefix}/target.tar.zst", tarball)
        extract_s, extract_cpu, _ = measured(["tar", "--zstd", "-xf", tarball], cwd=clone)
        os.remove(tarball)
        result = {"download_s": download_s, "extract_s": extract_s, **self.build(clone)}
        result.update(total_s=download_s + extract_s + result["build_s"], bytes_downloaded=downloaded, requests=1)
        result.update(download_cpu_s=download_cpu, download_server_cpu_s=server_cpu, extract_cpu_s=extract_cpu)
        self.remove(clone)
        return result

    # The lock bump on A.

    def bump(self, spec, prefix):
        name, _, version = spec.partition("@")
        before = locked(self.machine_a)
        if name not in before:
            sys.exit(f"error: --bump {spec}: {name} is not a registry package of the lock file")
        command = ["cargo", "update", "-p", name] + (["--precise", version] if version else [])
        run(command, cwd=self.machine_a, env=self.env)
        after = locked(self.machine_a)
        if after == before:
            sys.exit(f"error: `{' '.join(command)}` changed nothing in Cargo.lock\nhint: give a version: --bump {name}@VERSION")
        changed = {
            package: {"before": before.get(package, []), "after": after.get(package, [])}
            for package in sorted(set(before) | set(after))
            if sorted(before.get(package, [])) != sorted(after.get(package, []))
        }
        if "--offline" not in self.build_command:
            run(["cargo", "fetch", "--locked", "--quiet"], cwd=self.machine_a, env=self.env)
        result = {"changed": changed, **self.build(self.machine_a)}
        seconds, report = self.store(["ingest"], self.machine_a, self.store_env(self.store_a))
        result.update(ingest_s=seconds, units_added=report.get("units_added"))
        result.update(self.publish(prefix))
        return result


def mib(value):
    return f"{value / 2**20:,.1f}" if value < 10 * 2**20 else f"{value / 2**20:,.0f}"


def seconds(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def cell(values, format):
    if len(set(values)) == 1:
        return format(values[0])
    return f"{format(statistics.median(values))} ({format(min(values))}-{format(max(values))})"


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def tables(results):
    ci = results["ci"]
    rows = [
        "| approach | pull / download, s | checkout / extract, s | build, s | total, s | MiB downloaded | requests | dependency units compiled | workspace units compiled |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for approach in APPROACHES:
        runs = ci.get(approach)
        if not runs:
            continue
        column = lambda key, format: cell([run[key] for run in runs], format) if key in runs[0] else "-"
        first, second = {"cargo-store": ("pull_s", "checkout_s"), "tarball": ("download_s", "extract_s")}.get(approach, ("", ""))
        rows.append(
            f"| {approach} | {column(first, seconds)} | {column(second, seconds)} | {column('build_s', seconds)} "
            f"| {column('total_s', seconds)} | {column('bytes_downloaded', mib)} | {column('requests', str)} "
            f"| {column('dependency_units', str)} | {column('workspace_units', str)} |"
        )
    publish = results["publish"]
    bump = results["bump"]
    rows += [
        "",
        "| machine A | build, s | ingest, s | push, s | MiB pushed | push requests | tar, s | tarball MiB (target MiB, of it incremental) | tarball upload, s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| cold build, then each repetition's push and tarball | {seconds(results['a']['build_s'])} | {seconds(results['a']['ingest_s'])} "
        f"| {cell([run['push_s'] for run in publish], seconds)} | {cell([run['push_bytes_uploaded'] for run in publish], mib)} "
        f"| {cell([run['push_requests'] for run in publish], str)} | {cell([run['tar_s'] for run in publish], seconds)} "
        f"| {cell([run['tarball_bytes'] for run in publish], mib)} ({mib(publish[-1]['target_bytes'])}, {mib(publish[-1]['incremental_bytes'])}) "
        f"| {cell([run['upload_s'] for run in publish], seconds)} |",
    ]
    if bump:
        moved = ", ".join(f"{name} {'/'.join(v['before']) or '-'} -> {'/'.join(v['after']) or '-'}" for name, v in bump["changed"].items())
        rows.append(
            f"| after the bump ({moved}; {bump['dependency_units']} dependency units compiled) | {seconds(bump['build_s'])} "
            f"| {seconds(bump['ingest_s'])} | {seconds(bump['push_s'])} | {mib(bump['push_bytes_uploaded'])} | {bump['push_requests']} "
            f"| {seconds(bump['tar_s'])} | {mib(bump['tarball_bytes'])} ({mib(bump['target_bytes'])}, {mib(bump['incremental_bytes'])}) "
            f"| {seconds(bump['upload_s'])} |"
        )
    rows.append("")
    if ci.get("cargo-store") and "pull_cpu_s" in ci["cargo-store"][0]:
        runs = ci["cargo-store"]
        rows.append(
            f"CPU seconds: pull {cell([run['pull_cpu_s'] for run in runs], seconds)} "
            f"(the server {cell([run['pull_server_cpu_s'] for run in runs], seconds)}), "
            f"checkout {cell([run['checkout_cpu_s'] for run in runs], seconds)}"
        )
    if ci.get("tarball") and "download_cpu_s" in ci["tarball"][0]:
        runs = ci["tarball"]
        rows.append(
            f"CPU seconds: download {cell([run['download_cpu_s'] for run in runs], seconds)} "
            f"(the server {cell([run['download_server_cpu_s'] for run in runs], seconds)}), "
            f"extract {cell([run['extract_cpu_s'] for run in runs], seconds)}"
        )
    if "cold" in ci and "cargo-store" in ci:
        rows.append(f"cold / cargo-store total: {median(ci['cold'], 'total_s') / median(ci['cargo-store'], 'total_s'):.1f}")
    if "tarball" in ci and "cargo-store" in ci:
        rows.append(f"tarball / cargo-store total: {median(ci['tarball'], 'total_s') / median(ci['cargo-store'], 'total_s'):.2f}")
        rows.append(
            f"tarball / cargo-store bytes downloaded: {median(ci['tarball'], 'bytes_downloaded') / median(ci['cargo-store'], 'bytes_downloaded'):.2f}"
        )
    if bump:
        rows.append(f"new tarball / push bytes after the bump: {bump['tarball_bytes'] / max(1, bump['push_bytes_uploaded']):.0f}")
    for approach, runs in ci.items():
        compiled = [run["dependency_units"] for run in runs]
        if approach != "cold" and any(compiled):
            rows.append(f"NOTE: {approach} compiled dependency units: {compiled}")
    warnings = [warning for run in ci.get("cargo-store", []) + publish + ([bump] if bump else []) for warning in run.get("warnings", run.get("push_warnings", []))]
    if warnings:
        rows.append("NOTE: remote warnings: " + "; ".join(sorted(set(warnings))))
    return "\n".join(rows)


def build_binary(target_directory):
    commit = run(["git", "-C", REPOSITORY, "rev-parse", "--short=12", "HEAD"]).strip()
    modified = bool(run(["git", "-C", REPOSITORY, "status", "--porcelain", "--untracked-files=no"]).strip())
    print(f"building cargo-store ({commit}{', modified' if modified else ''}) into {target_directory}", file=sys.stderr, flush=True)
    env = {key: value for key, value in os.environ.items() if key not in ("CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER")}
    env["CARGO_TARGET_DIR"] = target_directory
    run(["cargo", "build", "--release", "--locked", "--manifest-path", os.path.join(REPOSITORY, "Cargo.toml")], env=env)
    return os.path.join(target_directory, "release", "cargo-store"), f"{commit}{'-modified' if modified else ''}"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="It starts its own s3s-fs server on 127.0.0.1 (a free port), with its data directory in the "
        "scratch directory, and stops it at the end. Needs git, cargo, GNU tar with --zstd, zstd and curl "
        "(Debian/Ubuntu: `sudo apt-get install zstd curl`), and s3s-fs (`cargo install --locked s3s-fs "
        "--version 0.14.1 --features binary`). The lock bump runs `cargo update`: it needs the registry. "
        "The file's docstring says what is measured.",
    )
    parser.add_argument("project")
    parser.add_argument("--cargo-store", "--binary", dest="binary", help="the cargo-store executable (default: CARGO_STORE_BIN, else built)")
    parser.add_argument("--build-target-dir", default=os.path.join(tempfile.gettempdir(), "cargo-store-bench-target"))
    parser.add_argument("--s3s-fs", help="the s3s-fs executable (default: on PATH, else ~/.cargo/bin/s3s-fs)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--bump", default="anyhow", help="NAME[@VERSION]: the package the lock bump moves")
    parser.add_argument("--no-bump", action="store_true", help="leave the lock bump out")
    parser.add_argument("--only", action="append", choices=APPROACHES, help="measure only these approaches on the CI machine")
    parser.add_argument("--scratch", help="where the temporary directory goes")
    parser.add_argument("--offline", action="store_true", help="pass --offline to cargo build")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--output", help="write every measurement as JSON")
    parser.add_argument("cargo_args", nargs="*")
    arguments = parser.parse_args()

    missing = [tool for tool in ("git", "cargo", "tar", "zstd", "curl") if not shutil.which(tool)]
    if missing:
        sys.exit(f"error: not found: {', '.join(missing)}\nhint: `sudo apt-get install {' '.join(t for t in missing if t in ('zstd', 'curl', 'tar', 'git'))}`")
    s3s_fs = find_s3s_fs(arguments.s3s_fs)
    if not s3s_fs:
        sys.exit("error: s3s-fs not found\nhint: `cargo install --locked s3s-fs --version 0.14.1 --features binary`, or --s3s-fs PATH")
    if not os.path.isfile(os.path.join(arguments.project, "Cargo.lock")):
        sys.exit(f"error: {arguments.project}/Cargo.lock does not exist")
    if subprocess.run(["git", "-C", arguments.project, "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        sys.exit(f"error: {arguments.project} is not a git repository with a commit")

    scratch = tempfile.mkdtemp(prefix="cargo-store-remote-", dir=arguments.scratch)
    binary = arguments.binary or os.environ.get("CARGO_STORE_BIN")
    built = None
    if not binary:
        binary, built = build_binary(arguments.build_target_dir)
    copy = os.path.join(scratch, "cargo-store")
    shutil.copy2(os.path.realpath(binary), copy)
    print(f"scratch directory: {scratch}", file=sys.stderr, flush=True)
    server = Server(s3s_fs, os.path.join(scratch, "s3"), os.path.join(scratch, "s3s-fs.log"))
    print(f"s3s-fs ({s3s_fs}) at {server.endpoint}, data in {scratch}/s3, bucket {BUCKET}", file=sys.stderr, flush=True)
    state = Run(arguments, copy, server, scratch)
    selected = [name for name in APPROACHES if not arguments.only or name in arguments.only]
    approaches = {"cold": state.cold, "cargo-store": state.cargo_store, "tarball": state.tarball}
    version = run([copy, "--version"], check=False).strip()
    results = {
        "project": state.project,
        "build": state.build_command,
        "repetitions": arguments.repetitions,
        "cargo_store": version + (f" (built from {built})" if built else ""),
        "s3s_fs": run([s3s_fs, "--version"]).strip(),
        "ci": {name: [] for name in selected},
        "publish": [],
        "bump": None,
    }
    log = lambda label, result: print(f"{label}: {json.dumps(result)}", file=sys.stderr, flush=True)
    try:
        results["a"] = state.fill_a()
        log("machine A", results["a"])
        for repetition in range(arguments.repetitions):
            prefix = f"run-{repetition + 1}"
            results["publish"].append(state.publish(prefix))
            log(f"{repetition + 1}/{arguments.repetitions} publish", results["publish"][-1])
            order = selected[repetition % len(selected):] + selected[: repetition % len(selected)]
            for name in order:
                result = approaches[name](prefix)
                result["load_average"] = os.getloadavg()[0]  # others' work on this machine meanwhile
                results["ci"][name].append(result)
                log(f"{repetition + 1}/{arguments.repetitions} {name}", results["ci"][name][-1])
        if not arguments.no_bump:
            results["bump"] = state.bump(arguments.bump, f"run-{arguments.repetitions}")
            log("bump", results["bump"])
    finally:
        server.stop()
        if arguments.keep:
            print(f"kept: {scratch}", file=sys.stderr)
        else:
            state.remove(scratch)
    print(tables(results))
    if arguments.output:
        with open(arguments.output, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
