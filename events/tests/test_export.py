"""CSV exports: an events query and a widget's data, streamed, bounded, escaped, and scoped to the project."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from dashboards.services import create_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import issue_key

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
EXPORT = "/api/v1/events/export"


def rows_of(response: object) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def events(project: Project) -> None:
    insert_event(project, T0, "order.completed", user_id="u1", tags={"plan": "pro"}, value=12.5,
                 properties={"note": 'said "hi", then\nleft'})  # fmt: skip
    insert_event(project, T0 + timedelta(minutes=5), "order.completed", user_id='=HYPERLINK("x")')
    insert_event(project, T0 + timedelta(minutes=9), "user.signup", user_id="u3")


def test_an_events_query_downloads_as_csv_newest_first(api: type, keys: dict, events: None) -> None:
    response = api(keys["read"]).get(EXPORT, {**RANGE, "name": "order.completed"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="alices-shop-events-')
    assert response.streaming and response["X-Flux-Truncated"] == "false"
    rows = rows_of(response)
    assert rows[0][:7] == ["id", "timestamp", "name", "user_id", "session_id", "value", "tags"]
    assert [row[3] for row in rows[1:]] == ['\'=HYPERLINK("x")', "u1"]  # a formula is defused
    oldest = dict(zip(rows[0], rows[2], strict=True))
    assert (oldest["timestamp"], oldest["value"], oldest["tags"]) == ("2026-11-20T10:00:00Z", "12.5", '{"plan": "pro"}')
    assert oldest["properties"] == '{"note": "said \\"hi\\", then\\nleft"}'  # quotes and newlines survive


def test_an_export_stops_at_the_row_limit_and_says_so(api: type, keys: dict, events: None, settings: object) -> None:
    settings.FLUX_CSV_MAX_ROWS = 2
    response = api(keys["read"]).get(EXPORT, RANGE)
    assert (response["X-Flux-Truncated"], response["X-Flux-Max-Rows"]) == ("true", "2")
    assert [row[2] for row in rows_of(response)[1:]] == ["user.signup", "order.completed"]


def test_paging_through_a_large_export_keeps_every_row_once(project: Project, api: type, keys: dict) -> None:
    from events import queries
    from flux.query.event_filter import EventFilter
    from flux.query.timerange import TimeRange

    for minute in range(25):
        insert_event(project, T0 + timedelta(minutes=minute), "tick")
    window = TimeRange(T0, T0 + timedelta(hours=1), UTC)
    exported = list(queries.events_for_export(project, window, EventFilter(), max_rows=100, chunk=7))
    assert len({event.id for event in exported}) == len(exported) == 25


def test_an_export_needs_a_read_key_and_sees_only_its_project(
    api: type, keys: dict, events: None, other_project: Project
) -> None:
    assert api(keys["ingest"]).get(EXPORT, RANGE).status_code == 403
    insert_event(other_project, T0, "order.completed", user_id="foreign")
    rows = rows_of(api(issue_key(other_project, "read").raw_key).get(EXPORT, RANGE))
    assert [row[3] for row in rows[1:]] == ["foreign"]


def test_bad_parameters_are_a_json_400_not_a_file(api: type, keys: dict) -> None:
    response = api(keys["read"]).get(EXPORT, {"from": "soon"})
    assert response.status_code == 400 and response.json()["error"]["code"]
    assert api(keys["read"]).get(EXPORT, {"nme": "x"}).json()["error"]["code"] == "invalid_parameter"


def test_a_graph_widget_exports_time_series_value_rows(api: type, keys: dict, project: Project, events: None) -> None:
    dashboard = create_dashboard(project, "Sales", widgets=[
        {"title": "Orders", "type": "graph", "query": {"name": "*", "group_by": "name", "interval": "1h"}},
        {"title": "By plan", "type": "table", "query": {"group_by": "tags.plan"}},
    ])  # fmt: skip
    graph, table = dashboard.widgets.order_by("pk")
    base = f"/api/v1/dashboards/{dashboard.slug}/widgets"
    graph_rows = rows_of(api(keys["read"]).get(f"{base}/{graph.pk}/export", RANGE))
    assert graph_rows[0] == ["time", "series", "value"]
    assert ["2026-11-20T10:00:00Z", "order.completed", "2"] in graph_rows
    assert ["2026-11-20T10:00:00Z", "user.signup", "1"] in graph_rows
    table_response = api(keys["read"]).get(f"{base}/{table.pk}/export", RANGE)
    assert 'filename="sales-By-plan-20261120.csv"' in table_response["Content-Disposition"]
    assert rows_of(table_response) == [["key", "value"], ["", "2"], ["pro", "1"]]


def test_a_widget_of_another_project_is_not_exported(api: type, keys: dict, other_project: Project) -> None:
    foreign = create_dashboard(other_project, "Theirs", widgets=[{"title": "N", "type": "number", "query": {}}])
    widget = foreign.widgets.get()
    response = api(keys["read"]).get(f"/api/v1/dashboards/{foreign.pk}/widgets/{widget.pk}/export")
    assert response.status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 200), ("vera", 200), ("charlie", 404)])
def test_both_exports_walked_as_each_persona(persona: str, status: int, project: Project, charlie: object) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from flux.tenants.models import Role
    from flux.tenants.services import add_member

    add_member(project, User.objects.create_user("vera"), Role.VIEWER)
    dashboard = create_dashboard(project, "Sales", widgets=[{"title": "N", "type": "number", "query": {}}])
    client = Client(HTTP_X_FLUX_PROJECT=project.slug)
    client.force_login(User.objects.get(username=persona))
    assert client.get(EXPORT, RANGE).status_code == status
    assert client.get(f"/api/v1/dashboards/sales/widgets/{dashboard.widgets.get().pk}/export").status_code == status
