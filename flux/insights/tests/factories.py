from datetime import datetime, timedelta

from django.db import connection

from flux.tenants.models import Project
from metrics.models import MetricSeries


def insert_hourly_events(project: Project, name: str, start: datetime, counts: list[int]) -> None:
    """`counts[i]` events of `name` spread over the hour starting `start + i hours`, in one INSERT."""
    times = [
        start + timedelta(hours=hour, seconds=index * 3600 // count)
        for hour, count in enumerate(counts)
        for index in range(count)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (project_id, time, name) SELECT %s, t, %s FROM unnest(%s::timestamptz[]) AS t",
            [project.pk, name, times],
        )


def insert_hourly_points(series: MetricSeries, start: datetime, values: list[float | None]) -> None:
    """One point per hour (at its half) with `values[i]`, none where the value is None, in one INSERT."""
    hours = [
        (start + timedelta(hours=index, minutes=30), value) for index, value in enumerate(values) if value is not None
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO metrics_point (project_id, series_id, time, value, received_at)
               SELECT %s, %s, t, v, now() FROM unnest(%s::timestamptz[], %s::float8[]) AS p(t, v)""",
            [series.project_id, series.pk, [time for time, _ in hours], [value for _, value in hours]],
        )


def steady(hours: int, level: int, wobble: int = 3) -> list[int]:
    """A deterministic, noisy-looking level: level - wobble .. level + wobble, repeating every 7 hours."""
    return [level + (hour * 5 % 7) - wobble for hour in range(hours)]


def answer_of(client: object, fact: dict) -> float | None:
    """Run a fact's query against the API and read its number the way docs/insights.md says to."""
    response = client.get(fact["query"]["path"], fact["query"]["params"])
    assert response.status_code == 200, (fact, response.content)
    found = response.json()
    for key in fact["field"].split("."):
        found = found[int(key)] if isinstance(found, list) else found[key]
    if fact.get("reduce") == "length":
        return len(found)
    if fact.get("reduce") == "mean":
        values = [value for _, value in found if value is not None]
        return sum(values) / len(values)
    return found
