"""The soak's processes (bench/soak.py): a scratch database with a project, and the Procfile's processes of
the checkout under test, each with its own log and its database backends named after its role."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

SERVER_ENV = {"DEBUG": "0", "SECRET_KEY": "soak-bench", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1",
              "FLUX_INGEST_ITEMS_PER_SECOND": "0"}  # fmt: skip


# Run by the checkout under test (its migrations, its services), so that another checkout can be soaked too.
SETUP = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from dashboards.services import create_dashboard
from flux.tenants.services import create_project, issue_key
call_command("migrate", verbosity=0)
user = User.objects.create_user("soak")
project = create_project("Soak", owner=user)
widgets = [{"title": "Orders", "type": "number", "query": {"name": "order.completed"}}]
dashboard = create_dashboard(project, "Live", widgets=widgets)
client = Client()
client.force_login(user)
print(json.dumps({"session": client.cookies["sessionid"].value, "project": project.slug, "project_id": project.pk,
                  "dashboard": dashboard.pk, "key": issue_key(project, "ingest").raw_key}))
"""


def prepare(root: Path, url_base: str, database: str) -> dict:
    """A fresh database with a user, project, ingest key and dashboard; returns what the clients need."""
    with psycopg.connect(f"{url_base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": f"{url_base}/{database}", "PYTHONPATH": str(root),
           "DJANGO_SETTINGS_MODULE": "flux.settings"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", SETUP], env=env, cwd=root, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def procfile_commands(root: Path) -> dict[str, str]:
    lines = (root / "Procfile").read_text().splitlines()
    commands = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))
    commands.pop("statsd", None)  # no UDP load here
    return commands


def start(
    root: Path, url_base: str, database: str, port: int, data_dir: str, redis_url: str
) -> dict[str, subprocess.Popen]:
    processes = {}
    for role, command in procfile_commands(root).items():
        # Each role's PostgreSQL backends carry its name, so their CPU can be told apart.
        env = {**os.environ, **SERVER_ENV, "DATABASE_URL": f"{url_base}/{database}?application_name=soak-{role}",
               "REDIS_URL": redis_url, "FLUX_PORT": str(port), "WEB_CONCURRENCY": "2", "FLUX_DATA_DIR": data_dir,
               "PYTHONPATH": str(root), "LOG_LEVEL": "INFO" if role != "web" else "WARNING",
               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
        log = open(Path(data_dir) / f"{role}.log", "w")  # noqa: SIM115 (closed with the process)
        processes[role] = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], env=env, cwd=root, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return processes
