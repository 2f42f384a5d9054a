"""CSV downloads in a real browser: a dashboard widget's data and an events explorer query."""

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from dashboards.services import create_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    project = create_project("Shop", owner=User.objects.create_user("olivia", password="correct horse"))
    now = datetime.now(UTC)
    for index in range(5):
        insert_event(project, now - timedelta(hours=index + 1), "order.completed", user_id=f"u{index}",
                     tags={"plan": "pro" if index % 2 else "free"})  # fmt: skip
    insert_event(project, now - timedelta(hours=2), "user.signup", user_id="=cmd()")
    return project


def read_csv(path: str) -> list[list[str]]:
    with Path(path).open(newline="") as file:
        return list(csv.reader(file))


def test_a_widget_downloads_its_data_as_csv(page: object, live_flux: str, shop: Project) -> None:
    dashboard = create_dashboard(shop, "Sales", widgets=[
        {"title": "By plan", "type": "bar", "query": {"name": "order.completed", "group_by": "tags.plan"}}
    ])  # fmt: skip
    widget = dashboard.widgets.get()
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/{dashboard.slug}/")
    wait_loaded(page)
    with page.expect_download() as download_info:
        page.click(f'[data-widget-id="{widget.pk}"] button.widget-csv')
    download = download_info.value
    assert download.suggested_filename.startswith("sales-By-plan-") and download.suggested_filename.endswith(".csv")
    assert read_csv(download.path()) == [["key", "value"], ["free", "3"], ["pro", "2"]]


def test_the_events_explorer_downloads_its_query_as_csv(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/events/")
    page.fill("#filters input[name=tags]", "plan=free")
    page.click("#filters button[type=submit]")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    rows = read_csv(download_info.value.path())
    assert rows[0][:4] == ["id", "timestamp", "name", "user_id"]
    assert sorted(row[3] for row in rows[1:]) == ["u0", "u2", "u4"]

    page.fill("#filters input[name=tags]", "")
    page.fill("#filters input[name=name]", "user.signup")
    page.click("#filters button[type=submit]")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    assert [row[3] for row in read_csv(download_info.value.path())[1:]] == ["'=cmd()"]
