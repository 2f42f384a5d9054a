import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from flux.tenants.keys import hash_key
from flux.tenants.models import ApiKey, Project
from flux.tenants.queries import get_key_by_raw


def test_create_project_prints_one_usable_key_per_kind(db: None) -> None:
    out = StringIO()
    call_command("create_project", "Acme Store", "--timezone", "Europe/Berlin", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["ingest key", "read key", "admin key"]
    project = Project.objects.get(slug="acme-store")
    for line in lines:
        kind, raw_key = re.fullmatch(r"(\w+) key: (flx_\w+)", line).groups()
        api_key = get_key_by_raw(raw_key)
        assert (api_key.project, api_key.kind) == (project, kind)


def test_create_project_reports_invalid_input(db: None) -> None:
    with pytest.raises(CommandError, match="timezone"):
        call_command("create_project", "Acme", "--timezone", "Nowhere/Town", stdout=StringIO(), stderr=StringIO())


def test_demo_creates_once_then_repeats_the_same_credentials(db: None, settings: object, tmp_path: Path) -> None:
    settings.FLUX_DATA_DIR = tmp_path
    first, second = StringIO(), StringIO()
    call_command("demo", stdout=first)
    call_command("demo", stdout=second)
    assert first.getvalue() == second.getvalue()
    assert Project.objects.filter(slug="demo").count() == 1
    ingest_key = re.search(r"ingest key: (\S+)", first.getvalue()).group(1)
    assert get_key_by_raw(ingest_key).project.slug == "demo"
    assert (tmp_path / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("lose", ["keys", "password", "project"])
def test_demo_reissues_credentials_that_do_not_work_with_this_database(
    db: None, settings: object, tmp_path: Path, lose: str
) -> None:
    # What a switch between the embedded and the local database did: the file outlived the data it named.
    settings.FLUX_DATA_DIR = tmp_path
    first = StringIO()
    call_command("demo", stdout=first)
    if lose == "keys":
        ApiKey.objects.all().delete()
    elif lose == "password":
        admin = User.objects.get(username="admin")
        admin.set_password("changed elsewhere")
        admin.save()
    else:
        Project.objects.filter(slug="demo").delete()
    second = StringIO()
    call_command("demo", stdout=second, stderr=StringIO())
    assert second.getvalue() != first.getvalue()
    assert (tmp_path / "demo-credentials.txt").read_text() == second.getvalue()
    for kind, raw_key in re.findall(r"^(\w+) key: (\S+)$", second.getvalue(), re.MULTILINE):
        api_key = ApiKey.objects.get(hashed_key=hash_key(raw_key))
        assert (api_key.kind, api_key.project.slug, api_key.revoked_at) == (kind, "demo", None)
    password = re.search(r"admin / (\S+)", second.getvalue()).group(1)
    assert User.objects.get(username="admin").check_password(password)
    assert Project.objects.filter(slug="demo").count() == 1
