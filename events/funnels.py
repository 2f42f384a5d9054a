"""Funnels: how many users go through ordered steps, each within a window of their first step."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection

from flux.ingestion.fields import COMPACT_JSON
from flux.tenants.models import Project
from flux.timerange import TimeRange

MAX_STEPS = 10


@dataclass(frozen=True)
class Step:
    name: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    step: Step
    users: int
    median_seconds: float | None  # from the previous step; None for the first


def funnel(project: Project, time_range: TimeRange, steps: list[Step], window: timedelta) -> list[StepResult]:
    """Users (by user_id) who did step 1 in the range, then each later step in order within `window`.

    A user enters at their first step-1 event in the range; each next step is their first matching
    event after the previous step and no later than entry + window (it may fall after the range's end).
    """
    ctes, params = [], []
    for index, step in enumerate(steps, start=1):
        condition = "e.name = %s AND e.tags @> %s::jsonb AND e.user_id IS NOT NULL AND e.project_id = %s"
        step_params = [step.name, COMPACT_JSON.encode(step.tags), project.pk]
        if index == 1:
            ctes.append(
                f"s1 AS (SELECT e.user_id, min(e.time) AS entered, min(e.time) AS t FROM events_event e "
                f"WHERE {condition} AND e.time >= %s AND e.time < %s GROUP BY e.user_id)"
            )
            params += [*step_params, time_range.start, time_range.end]
        else:
            previous = f"s{index - 1}"
            ctes.append(
                f"s{index} AS (SELECT p.user_id, p.entered, min(e.time) AS t, min(e.time) - p.t AS took "
                f"FROM {previous} p JOIN events_event e ON e.user_id = p.user_id AND {condition} "
                f"AND e.time >= p.t AND e.time <= p.entered + %s::interval GROUP BY p.user_id, p.entered, p.t)"
            )
            params += [*step_params, window]
    selects = ["SELECT 1, count(*), NULL::float8 FROM s1"]
    for index in range(2, len(steps) + 1):
        selects.append(
            f"SELECT {index}, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM took)) "
            f"FROM s{index}"
        )
    sql = f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)} ORDER BY 1"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [StepResult(steps[index - 1], users, median) for index, users, median in rows]
