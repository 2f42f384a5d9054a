"""On a three-node Citus cluster (the Citus run of `make test`, flux.devcitus): the registry's tables are
distributed or reference tables as it says, a project's queries go to one node, and the hot-project
runbook (isolate, move) keeps every answer."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection

from anomalies.models import Anomaly
from events import queries as event_queries
from events.rollups import roll_up_events
from events.tests.factories import insert_event
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.storage.citus import converted_tables, project_node
from flux.storage.registry import COORDINATOR_TABLES, DISTRIBUTED_TABLES, REFERENCE_TABLES
from flux.tenants.models import Project
from flux.tenants.services import create_project
from metrics import queries as metric_queries
from metrics.rollups import roll_up_metrics
from metrics.tests.factories import insert_point, make_series

pytestmark = pytest.mark.citus

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
RANGE = TimeRange(T0, T0 + timedelta(hours=4), ZoneInfo("UTC"))


def fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def explain(sql: str, params: list) -> str:
    return "\n".join(line for (line,) in fetch(f"EXPLAIN {sql}", params))


@pytest.mark.django_db
def test_the_registry_tables_are_distributed_co_located_reference_or_local() -> None:
    with connection.cursor() as cursor:
        converted = converted_tables(cursor)
    assert {table: converted.get(table) for table in DISTRIBUTED_TABLES} == dict.fromkeys(
        DISTRIBUTED_TABLES, "distributed"
    )
    assert {table: converted.get(table) for table in REFERENCE_TABLES} == dict.fromkeys(REFERENCE_TABLES, "reference")
    assert set(COORDINATOR_TABLES) & set(converted) == set()
    colocations = fetch("SELECT DISTINCT colocation_id FROM citus_tables WHERE table_name::text = ANY(%s)",
                        [list(DISTRIBUTED_TABLES)])  # fmt: skip
    assert len(colocations) == 1


@pytest.mark.django_db
def test_a_projects_raw_query_goes_to_one_node(project: Project) -> None:
    plan = explain("SELECT count(*) FROM events_event WHERE project_id = %s AND time >= %s", [project.pk, T0])
    assert "Task Count: 1" in plan


@pytest.mark.django_db
def test_a_projects_anomalies_with_their_watches_and_series_go_to_one_node(project: Project) -> None:
    queryset = Anomaly.objects.filter(project=project).select_related("watch", "watch__series")
    assert "Task Count: 1" in queryset.explain()


def load(project: Project) -> None:
    series = make_series(project, "queue.depth", "gauge", queue="a")
    for minute in range(0, 240, 7):
        insert_event(project, T0 + timedelta(minutes=minute), "order", value=float(minute % 13), tags={"plan": "pro"})
        insert_point(series, T0 + timedelta(minutes=minute), float(minute % 17))
    roll_up_events(wait=True)
    roll_up_metrics(wait=True)


def answers(project: Project) -> tuple:
    everything = EventFilter()
    metric = metric_queries.require_metric(project.pk, "queue.depth")
    (hourly,) = metric_queries.metric_series(project.pk, metric, RANGE, "1h", "avg", {}, None, 5)
    return (
        event_queries.count_events(project, RANGE, everything),
        event_queries.count_series(project, RANGE, everything, "1h"),
        event_queries.value_stats(project, RANGE, everything),
        [group.count for group in event_queries.count_groups(project, RANGE, everything, "tags.plan", limit=5)],
        metric_queries.metric_summary(project.pk, metric, RANGE),
        hourly.points,
    )


@pytest.mark.django_db(transaction=True)
def test_isolating_and_moving_a_hot_project_keeps_its_answers_and_its_neighbours() -> None:
    hot, neighbour = create_project("Hot", retention_days=30), create_project("Neighbour", retention_days=30)
    load(hot)
    load(neighbour)
    before = answers(hot), answers(neighbour)
    with connection.cursor() as cursor:
        shared_shard, _, port = project_node(cursor, hot.pk)

    call_command("citus_layout", isolate=hot.pk)
    with connection.cursor() as cursor:
        isolated_shard, _, _ = project_node(cursor, hot.pk)
    other_workers = fetch("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND nodeport <> %s", [port])
    (target_host, target_port), *_ = other_workers
    call_command("citus_layout", move=hot.pk, to=f"{target_host}:{target_port}")

    with connection.cursor() as cursor:
        assert project_node(cursor, hot.pk)[1:] == (target_host, target_port)
    assert isolated_shard != shared_shard
    assert fetch("SELECT count(*) FROM events_event WHERE project_id = %s", [hot.pk]) == [(35,)]
    assert (answers(hot), answers(neighbour)) == before
