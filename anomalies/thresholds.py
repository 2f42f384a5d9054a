"""Threshold alerts: each minute, every enabled rule's aggregate over its trailing window is compared with
its threshold; the verdict goes through the anomaly lifecycle (anomalies.services.apply_verdict) on the
rule's own watch, so an alert opens, updates, resolves, is acknowledged and notified like any anomaly."""

import logging
import operator
import secrets
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from anomalies import notifications
from anomalies.models import Anomaly, Severity, ThresholdRule, Watch
from anomalies.services import Verdict, apply_verdict, resolve_unwatched
from events.queries import count_events
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange, resolve_zone
from flux.tenants.limits import ensure_room
from flux.tenants.models import Project
from flux.web.serializers import iso
from metrics.queries import AGGREGATIONS, get_metric, metric_value

logger = logging.getLogger(__name__)

COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
EVENT_AGGREGATIONS = ("count",)
NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # a rule's watch is never due for the detector (it is excluded too)
CONTEXT_BEFORE, CONTEXT_AFTER = timedelta(hours=3), timedelta(hours=1)
CONTEXT_POINTS = 48  # each is one aggregate query over the rule's window


# Every rule is one aggregate query a minute on the alerts worker, which also sends the notifications: a
# project with thousands would delay every project's alerts (2,249 rules took 13-16 s of each minute).
MAX_RULES_PER_PROJECT = 200


class RuleError(ValueError):
    """A rule that cannot be evaluated as given (an unknown aggregation for the metric's type)."""


def check_aggregation(project: Project, source: str, name: str, aggregation: str) -> None:
    """Refuse an aggregation the source cannot compute (a metric not seen yet allows any of its kind)."""
    if source == Watch.Source.EVENTS:
        if aggregation not in EVENT_AGGREGATIONS:
            raise RuleError(f"events take aggregation count, not {aggregation!r}")
        return
    metric = get_metric(project.pk, name)
    allowed = (
        sorted(AGGREGATIONS[metric.type]) if metric else sorted({a for kind in AGGREGATIONS.values() for a in kind})
    )
    if aggregation not in allowed:
        raise RuleError(f"aggregation must be one of {', '.join(allowed)}")


@transaction.atomic
def create_rule(project: Project, fields: dict) -> ThresholdRule:
    """A new threshold rule with its own watch (excluded from the detector's scans)."""
    check_aggregation(project, fields["source"], fields["name"], fields["aggregation"])
    ensure_room(project, ThresholdRule.objects.filter(project=project), MAX_RULES_PER_PROJECT, "threshold rules")
    # The watch's measure names the rule ("rule 12"), which keeps it apart from the detector's watches
    # and from other rules on the same series; a random one holds the place until the rule has its id.
    watch = Watch.objects.create(
        project=project, source=fields["source"], name=fields["name"], measure=secrets.token_hex(6),
        excluded=True, next_scan_at=NEVER,
    )  # fmt: skip
    rule = ThresholdRule.objects.create(project=project, watch=watch, **fields)
    Watch.objects.filter(pk=watch.pk).update(measure=f"rule {rule.pk}")
    return rule


def update_rule(rule: ThresholdRule, changes: dict, actor: str = "") -> ThresholdRule:
    """Change a rule's condition, severity or enabled flag (its name and source stay). Switching it off
    resolves its alert: nothing would judge it again."""
    check_aggregation(rule.project, rule.source, rule.name, changes.get("aggregation", rule.aggregation))
    for field, value in changes.items():
        setattr(rule, field, value)
    rule.save()
    if changes.get("enabled") is False:
        resolve_unwatched(alerts_of(rule), actor, "Resolved when its threshold rule was switched off.")
    return rule


def delete_rule(rule: ThresholdRule, actor: str = "") -> None:
    """Delete a rule, its watch and its alerts; the channels told of an open one hear it resolved first."""
    resolve_unwatched(alerts_of(rule), actor, "Resolved when its threshold rule was deleted.")
    rule.watch.delete()  # cascades to the rule and its anomalies


def alerts_of(rule: ThresholdRule) -> QuerySet[Anomaly]:
    return Anomaly.objects.filter(project_id=rule.project_id, watch_id=rule.watch_id)


def window_value(rule: ThresholdRule, now: datetime) -> float | None:
    """The rule's aggregate over the trailing window ending now, read from rollups plus raw edges."""
    window = TimeRange(now - timedelta(minutes=rule.duration_minutes), now, resolve_zone(None, rule.project.timezone))
    if rule.source == Watch.Source.EVENTS:
        return float(count_events(rule.project, window, EventFilter(name=rule.name, tags=rule.tags)))
    metric = get_metric(rule.project_id, rule.name)
    if metric is None or rule.aggregation not in AGGREGATIONS[metric.type]:
        return None
    return metric_value(rule.project_id, metric, window, rule.aggregation, rule.tags)


def verdict_of(rule: ThresholdRule, value: float | None, now: datetime) -> Verdict:
    breached = value is not None and COMPARE[rule.comparator](value, rule.threshold)
    above = rule.comparator in (">", ">=")
    return Verdict(
        bucket=now, interval_seconds=rule.duration_minutes * 60, is_anomaly=breached, score=1.0 if breached else 0.0,
        severity=rule.severity if breached else Severity.INFO, kind=Anomaly.Kind.THRESHOLD,
        direction="up" if above else "down", actual=value, expected=None,
        lower=None if above else rule.threshold, upper=rule.threshold if above else None,
        episode_start=now - timedelta(minutes=rule.duration_minutes),
    )  # fmt: skip


def evaluate_rules(now: datetime, project_id: int | None = None) -> dict[int, list[tuple[str, Anomaly]]]:
    """Evaluate every enabled rule (of one project, or all); queue notifications; returns the changes by project."""
    rules = ThresholdRule.objects.filter(enabled=True).select_related("project", "watch").order_by("pk")
    if project_id is not None:
        rules = rules.filter(project_id=project_id)
    changes: dict[int, list[tuple[str, Anomaly]]] = {}
    for rule in rules.exclude(project__archived=True):
        try:  # one rule on its own: a failure is logged with its id and never stops the others
            change = apply_verdict(rule.watch, verdict_of(rule, window_value(rule, now), now), now)
        except Exception:
            logger.exception("evaluating threshold rule %s failed; skipped", rule.pk)
            continue
        if change is not None:
            changes.setdefault(rule.project_id, []).append(change)
    notifications.notify_each(changes, now)
    return changes


def context_json(anomaly: Anomaly, now: datetime) -> list[dict]:
    """A threshold alert's page: its rule's trailing aggregate at evenly spaced minutes from three hours
    before the alert to an hour after it (or now), against the threshold, in the shape of a detector
    anomaly's context (the threshold as the band's edge; no expectation)."""
    rule = anomaly.watch.threshold_rules.get()
    start = anomaly.started_at - CONTEXT_BEFORE
    end = max(min(anomaly.last_anomalous_at + CONTEXT_AFTER, now), start)
    step = max(timedelta(minutes=1), (end - start) / (CONTEXT_POINTS - 1))
    step = timedelta(minutes=-(-step // timedelta(minutes=1)))  # whole minutes, rounded up
    times = [start.replace(second=0, microsecond=0) + step * index for index in range(CONTEXT_POINTS)]
    return [point_json(rule, moment, window_value(rule, moment)) for moment in times if moment <= end]


def point_json(rule: ThresholdRule, moment: datetime, value: float | None) -> dict:
    verdict = verdict_of(rule, value, moment)
    return {
        "time": iso(moment), "value": value, "expected": None, "lower": verdict.lower, "upper": verdict.upper,
        "score": verdict.score, "is_anomaly": verdict.is_anomaly,
    }  # fmt: skip


def problem_of(rule: ThresholdRule) -> str | None:
    """Why `window_value` gives the rule nothing to compare, said rather than left silent: a rule made before
    its metric existed allows any aggregation, and the metric may arrive of a type without this one."""
    if rule.source == Watch.Source.EVENTS:
        return None
    metric = get_metric(rule.project_id, rule.name)
    if metric is None:
        return f"No metric named {rule.name} yet: the rule is checked once one arrives."
    if rule.aggregation not in AGGREGATIONS[metric.type]:
        allowed = ", ".join(sorted(AGGREGATIONS[metric.type]))
        kind = f"{rule.name} is a {metric.type}, which has no {rule.aggregation}"
        return f"{kind}: change the aggregation to one of {allowed}."
    return None


def rule_json(rule: ThresholdRule) -> dict:
    return {
        "id": rule.pk, "source": rule.source, "name": rule.name, "tags": rule.tags, "aggregation": rule.aggregation,
        "comparator": rule.comparator, "threshold": rule.threshold, "duration_minutes": rule.duration_minutes,
        "severity": rule.severity, "enabled": rule.enabled, "watch_id": rule.watch_id, "problem": problem_of(rule),
    }  # fmt: skip
