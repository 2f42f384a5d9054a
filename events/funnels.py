"""Funnels: how many users go through ordered steps, each within a window of their first step."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection

from flux.payloads.fields import COMPACT_JSON
from flux.query.timerange import TimeRange
from flux.tenants.models import Project

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


@dataclass(frozen=True)
class GroupResult:
    key: str | None  # the group_by value of the user's entering event; "__other__" past the limit
    steps: list[StepResult]


OTHER = "__other__"


def funnel(
    project: Project, time_range: TimeRange, steps: list[Step], window: timedelta,
    group_by: tuple[str, list] | None = None, limit: int = 10,
) -> list[GroupResult]:  # fmt: skip
    """Users (by user_id) who did step 1 in the range, then each later step in order within `window`.

    A user enters at their first step-1 event in the range; each next step is their first matching
    event after the previous step (strictly after it when both steps have the same name, so one event
    never counts twice) and no later than entry + window (it may fall after the range's end).
    `group_by` (SQL and parameters of a field of the entering event) splits users into groups: the
    `limit` largest by entering users, then `__other__`. Without it there is one group, key None.
    """
    group_sql, group_params = group_by or ("NULL::text", [])
    ctes, params = [], []
    for index, step in enumerate(steps, start=1):
        condition = "e.name = %s AND e.user_id IS NOT NULL AND e.project_id = %s"
        step_params: list = [step.name, project.pk]
        if step.tags:
            condition += " AND e.tags @> %s::jsonb"
            step_params.append(COMPACT_JSON.encode(step.tags))
        if index == 1:
            ctes.append(
                f"entries AS (SELECT e.user_id, min(e.time) AS t, (array_agg({group_sql} ORDER BY e.time))[1] AS g "
                f"FROM events_event e WHERE {condition} AND e.time >= %s AND e.time < %s GROUP BY e.user_id)"
            )
            params += [*group_params, *step_params, time_range.start, time_range.end]
            ctes.append(
                "ranked AS (SELECT g, row_number() OVER (ORDER BY count(*) DESC, g NULLS LAST) AS r "
                "FROM entries GROUP BY g)"
            )
            ctes.append(
                "s1 AS (SELECT n.user_id, n.t AS entered, n.t, CASE WHEN r.r <= %s THEN n.g ELSE %s END AS g "
                "FROM entries n JOIN ranked r ON r.g IS NOT DISTINCT FROM n.g)"
            )
            params += [limit, OTHER]
        else:
            previous = f"s{index - 1}"
            # A step of the same name as the one before could be matched by that step's own event (a repeat
            # purchase funnel showed 100% in 0 s): it must come strictly later.
            after = ">" if step.name == steps[index - 2].name else ">="
            # The constant bounds let the planner skip the partitions/chunks no user can reach.
            ctes.append(
                f"s{index} AS (SELECT p.user_id, p.entered, p.g, min(e.time) AS t, min(e.time) - p.t AS took "
                f"FROM {previous} p JOIN events_event e ON e.user_id = p.user_id AND {condition} "
                f"AND e.time {after} p.t AND e.time <= p.entered + %s::interval AND e.time >= %s AND e.time <= %s "
                f"GROUP BY p.user_id, p.entered, p.g, p.t)"
            )
            params += [*step_params, window, time_range.start, time_range.end + window]
    selects = ["SELECT 1, g, count(*), NULL::float8 FROM s1 GROUP BY g"]
    for index in range(2, len(steps) + 1):
        selects.append(
            f"SELECT {index}, g, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM took)) "
            f"FROM s{index} GROUP BY g"
        )
    sql = f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {(index, key): (users, median) for index, key, users, median in rows}
    entering = {key: users for (index, key), (users, _) in found.items() if index == 1}
    # Biggest groups first, __other__ last; without group_by the one group has key None.
    keys = sorted(entering, key=lambda key: (key == OTHER, -entering[key], key is None, key or ""))
    return [
        GroupResult(
            key,
            [StepResult(step, *found.get((index, key), (0, None))) for index, step in enumerate(steps, start=1)],
        )
        for key in keys or ([None] if group_by is None else [])
    ]
