"""Which channels hear of which anomalies, grouped into one Delivery per channel and event; anomalies.delivery
sends them. Payloads are built here, once, when the delivery is queued.

Who was told what is read from the delivery log itself: a channel was told of an anomaly when one of its
"opened" or "reminder" deliveries lists it (whatever that delivery's outcome). So an escalation reaches a
channel exactly when it first qualifies, a resolution reaches only channels that heard of the opening, and
changing a channel's settings mid-episode never double-sends or loses an anomaly.
"""

import logging
import math
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import reduce
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Q, prefetch_related_objects

from anomalies.models import SEVERITY_RANK, Anomaly, Channel, Delivery, Watch
from anomalies.serializers import anomaly_json
from anomalies.services import OPENED, RESOLVED, UPDATED
from flux.tenants.models import Project
from flux.web.serializers import iso

logger = logging.getLogger(__name__)

REMINDER, TEST = "reminder", "test"
TOLD_EVENTS = (OPENED, REMINDER)
SLACK_LINES = 10  # a Slack message lists this many anomalies, then "and N more"
EMAIL_LINES = 50
# A webhook lists this many (the worst) and counts the rest in "more": a scan opening thousands would otherwise
# store and send a body of megabytes per channel. The delivery's anomaly_ids still hold every one.
WEBHOOK_ANOMALIES = 100
# Control characters and line breaks: a header holding one is refused (BadHeaderError) or could add headers.
HEADER_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# App servers' clocks may differ a little: look this far before an anomaly's creation for its deliveries.
CLOCK_SKEW = timedelta(hours=1)
# An opening no channel heard of this long after it was committed lost its notice (the worker that opened it
# was killed before notifying): announce_missed queues it. Openings older than MISSED_WINDOW are left be.
MISSED_AFTER = timedelta(minutes=5)
MISSED_WINDOW = timedelta(days=1)
VERBS = {OPENED: "opened", RESOLVED: "resolved", REMINDER: "still open"}


def notify_changes(project_id: int, changes: list[tuple[str, Anomaly]], now: datetime) -> list[Delivery]:
    """Queue one delivery per channel and event for one scan's changes of one project."""
    # One scan can open, update and resolve the same anomaly (a catch-up, late data judged again): each is
    # told of in its latest state, once, and a resolution reaches the channels told of its opening here.
    latest: dict[int, Anomaly] = {}
    by_change: dict[str, list[int]] = defaultdict(list)
    for change, anomaly in changes:
        if anomaly.project_id == project_id:  # a caller's mix-up must never reach another project's channels
            latest[anomaly.pk] = anomaly
            by_change[change].append(anomaly.pk)
    opened, updated, resolved = (
        [latest[pk] for pk in dict.fromkeys(by_change[change])] for change in (OPENED, UPDATED, RESOLVED)
    )
    updated = [a for a in updated if a.pk not in by_change[OPENED]]  # told of as opened
    if updated:  # a series muted while its anomaly is open is not told of it again (until the mute ends)
        muted = set(muted_watches(project_id, {a.watch_id for a in updated}, now))
        updated = [a for a in updated if a.watch_id not in muted]
    if not (opened or updated or resolved):
        return []
    with transaction.atomic():
        # Locking the project's channels serializes concurrent notifications (and reminders) for them, so
        # the delivery log read below cannot miss a notice another worker is queuing.
        channels = list(Channel.objects.select_for_update().filter(project_id=project_id, enabled=True).order_by("pk"))
        if not channels:
            return []
        project = Project.objects.get(pk=project_id)
        updated = [a for a in updated if any(qualifies(channel, a) for channel in channels)]
        # Openings too: an overlapping scan (or the minute checks) that updated the episode may have
        # told the channels of it already, between its opening and this notice.
        told = told_pairs(channels, opened + updated + resolved)
        # A resolution reopened by hand and resolved again: a channel that heard the first is not told twice.
        heard_resolved = told_pairs(channels, resolved, (RESOLVED,), sent_only=True)
        groups: list[tuple[Channel, str, list[Anomaly]]] = []
        for channel in channels:
            fresh = [a for a in opened + updated if qualifies(channel, a) and (channel.pk, a.pk) not in told]
            told |= {(channel.pk, a.pk) for a in fresh}
            gone = [a for a in resolved if (channel.pk, a.pk) in told and (channel.pk, a.pk) not in heard_resolved]
            gone = gone if channel.notify_resolved else []
            groups += [(channel, event, group) for event, group in ((OPENED, fresh), (RESOLVED, gone)) if group]
        shapes = serialize({a.pk: a for _, _, group in groups for a in group}.values())
        deliveries = [new_delivery(channel, project, event, group, shapes, now) for channel, event, group in groups]
        Delivery.objects.bulk_create(deliveries)
        start_reminder_clock(project_id, [group for _, event, group in groups if event == OPENED], now)
    return deliveries


def muted_watches(project_id: int, watch_ids: set[int], now: datetime) -> list[int]:
    """The ids of those watches that are muted at `now`."""
    muted = Watch.objects.filter(project_id=project_id, pk__in=watch_ids, muted_until__gt=now)
    return list(muted.values_list("pk", flat=True))


def notify_each(changes: Mapping[int, list[tuple[str, Anomaly]]], now: datetime) -> list[Delivery]:
    """notify_changes for each project on its own: one project's failure is logged with its id and never
    stops the other projects' notices (its openings stay unnotified, for announce_missed to retry)."""
    queued: list[Delivery] = []
    for project_id, project_changes in changes.items():
        try:
            queued += notify_changes(project_id, project_changes, now)
        except Exception:
            logger.exception("notifying the changes of project %s failed; skipped", project_id)
    return queued


def start_reminder_clock(project_id: int, groups: list[list[Anomaly]], now: datetime) -> None:
    """Set notified_at on anomalies that just got their first notice."""
    # Only a first notice sets notified_at; moving it on at later notices could skip a channel's reminder.
    first = {anomaly.pk: anomaly for group in groups for anomaly in group if anomaly.notified_at is None}
    if first:
        Anomaly.objects.filter(project_id=project_id, pk__in=first, notified_at__isnull=True).update(notified_at=now)
    for anomaly in first.values():
        anomaly.notified_at = now


def serialize(anomalies: Iterable[Anomaly]) -> dict[int, dict]:
    """anomaly_json() of each, by id, with their watches and series fetched in one go, not one by one."""
    anomalies = list(anomalies)
    prefetch_related_objects(anomalies, "watch__series")
    return {anomaly.pk: anomaly_json(anomaly) for anomaly in anomalies}


def qualifies(channel: Channel, anomaly: Anomaly) -> bool:
    """Whether the anomaly is at or above the channel's minimum severity."""
    return SEVERITY_RANK[anomaly.severity] >= SEVERITY_RANK[channel.min_severity]


def told_pairs(
    channels: list[Channel], anomalies: list[Anomaly], events: tuple[str, ...] = TOLD_EVENTS, sent_only: bool = False
) -> set[tuple[int, int]]:
    """(channel id, anomaly id) pairs for which the channel was already told of the anomaly (with one of
    `events`; with `sent_only`, not by a notice that failed for good, as a resolution overtaken by a reopen
    or refused by its receiver, which told nothing)."""
    if not anomalies:
        return set()
    ids = {anomaly.pk for anomaly in anomalies}
    since = min(anomaly.created_at for anomaly in anomalies) - CLOCK_SKEW
    listing_any = reduce(operator.or_, (Q(anomaly_ids__contains=[pk]) for pk in sorted(ids)))
    projects = {channel.project_id for channel in channels}
    rows = Delivery.objects.filter(
        listing_any, project_id__in=projects, channel__in=channels, event__in=events, created_at__gte=since
    )
    if sent_only:
        rows = rows.exclude(status=Delivery.Status.FAILED)
    return {(channel_id, pk) for channel_id, listed in rows.values_list("channel_id", "anomaly_ids") for pk in listed
            if pk in ids}  # fmt: skip


def announce_missed(now: datetime) -> list[Delivery]:
    """Queue the "opened" notices of open anomalies that a channel qualifies for but none was told of."""
    channels = Channel.objects.filter(enabled=True, project__archived=False).values_list("project_id", "min_severity")
    lowest: dict[int, int] = {}
    for project_id, min_severity in channels:
        lowest[project_id] = min(lowest.get(project_id, len(SEVERITY_RANK)), SEVERITY_RANK[min_severity])
    missed = Anomaly.objects.filter(
        project_id__in=lowest, status=Anomaly.Status.OPEN, notified_at__isnull=True,
        created_at__lte=now - MISSED_AFTER, created_at__gt=now - MISSED_WINDOW,
    )  # fmt: skip
    by_project: dict[int, list[tuple[str, Anomaly]]] = defaultdict(list)
    for anomaly in missed:
        if SEVERITY_RANK[anomaly.severity] >= lowest[anomaly.project_id]:
            by_project[anomaly.project_id].append((OPENED, anomaly))
    # notify_changes reads the delivery log under the channels' lock: an opening told of meanwhile is not sent again.
    return notify_each(by_project, now)


# Anomalies something still judges, so that they resolve by themselves: a threshold rule's while the rule is
# enabled, the detector's while its series is scanned and the project's detection is on. The others stay
# open until a person acts (or detection resumes), and are not reminded of meanwhile, which would be for good.
WATCHED = Q(kind=Anomaly.Kind.THRESHOLD, watch__threshold_rule__enabled=True) | (
    ~Q(kind=Anomaly.Kind.THRESHOLD) & Q(watch__excluded=False) & ~Q(project__detection_settings__enabled=False)
)


def queue_reminders(now: datetime) -> list[Delivery]:
    """Queue one grouped reminder per channel of the open anomalies whose reminder interval has come round."""
    with transaction.atomic():
        channels = list(
            Channel.objects.select_for_update(of=("self",)).select_related("project")
            .filter(enabled=True, renotify_minutes__gt=0, project__archived=False).order_by("pk")
        )  # fmt: skip
        by_project: dict[int, list[Channel]] = defaultdict(list)
        for channel in channels:
            by_project[channel.project_id].append(channel)
        candidates = (
            Anomaly.objects.filter(
                WATCHED, project_id__in=by_project, status=Anomaly.Status.OPEN, notified_at__isnull=False
            )
            .exclude(watch__muted_until__gt=now)  # muted: reminders resume when the mute ends
            .values_list("pk", "project_id", "severity", "started_at", "notified_at")
        )
        due: dict[Channel, list[int]] = defaultdict(list)
        for pk, project_id, severity, started_at, notified_at in candidates:
            for channel in by_project[project_id]:
                if SEVERITY_RANK[severity] >= SEVERITY_RANK[channel.min_severity] and reminder_due(
                    started_at, notified_at, now, channel.renotify_minutes
                ):
                    due[channel].append(pk)
        reminded = {pk for pks in due.values() for pk in pks}
        anomalies = Anomaly.objects.filter(project_id__in=by_project).select_related("watch__series").in_bulk(reminded)
        shapes = serialize(anomalies.values())
        deliveries = [
            new_delivery(channel, channel.project, REMINDER, [anomalies[pk] for pk in pks], shapes, now)
            for channel, pks in due.items()
        ]
        Delivery.objects.bulk_create(deliveries)
        Anomaly.objects.filter(project_id__in=by_project, pk__in=reminded).update(notified_at=now)
    return deliveries


def reminder_due(started_at: datetime, notified_at: datetime, now: datetime, minutes: int) -> bool:
    """Reminders fall on whole multiples of the interval since the anomaly started: one is due when a
    multiple lies after the last notice. Per channel, so a short interval never starves a longer one."""
    period = minutes * 60

    def multiples(moment: datetime) -> float:
        return (moment - started_at).total_seconds() // period

    return multiples(now) > multiples(notified_at)


def new_delivery(
    channel: Channel, project: Project, event: str, anomalies: list[Anomaly], shapes: dict[int, dict], now: datetime
) -> Delivery:
    """An unsaved pending delivery of these anomalies, due now, its payload built for the channel's kind."""
    ordered = sorted(anomalies, key=lambda a: (-SEVERITY_RANK[a.severity], -a.score, a.pk))  # worst first
    payload = build_payload(channel.kind, event, project, [shapes[a.pk] for a in ordered], now)
    return Delivery(
        project_id=channel.project_id, channel=channel, event=event, anomaly_ids=sorted(a.pk for a in ordered),
        payload=payload, status=Delivery.Status.PENDING, next_attempt_at=now,
    )  # fmt: skip


# --- Payloads: built from anomaly_json() shapes, so the webhook sends what the REST API returns. ---


def build_payload(kind: str, event: str, project: Project, anomalies: list[dict], now: datetime) -> dict:
    """The stored payload for a channel kind: webhook JSON, Slack message or email subject and body."""
    anomalies = [{**anomaly, "url": anomaly_url(project, anomaly)} for anomaly in anomalies]
    if kind == Channel.Kind.SLACK:
        return slack_payload(event, project, anomalies)
    if kind == Channel.Kind.EMAIL:
        return email_payload(event, project, anomalies, now)
    return {
        "event": event, "project": {"slug": project.slug, "name": project.name},
        "anomalies": anomalies[:WEBHOOK_ANOMALIES], "more": max(len(anomalies) - WEBHOOK_ANOMALIES, 0),
        "summary": summary(event, project, anomalies), "sent_at": iso(now),
    }  # fmt: skip


def anomaly_url(project: Project, anomaly: dict) -> str | None:
    """The anomaly's page, for the one told to open it from a page or a mail (FLUX_PUBLIC_URL); None unset."""
    if not settings.FLUX_PUBLIC_URL or anomaly.get("id") is None:
        return None
    return f"{settings.FLUX_PUBLIC_URL}/p/{quote(project.slug)}/anomalies/{anomaly['id']}/"


def headline(event: str, project: Project, anomalies: list[dict]) -> str:
    """'3 anomalies opened in Shop'."""
    if event == TEST:
        return f"Test notification from Flux for {project.name}"
    noun = "anomaly" if len(anomalies) == 1 else "anomalies"
    return f"{len(anomalies)} {noun} {VERBS[event]} in {project.name}"


def summary(event: str, project: Project, anomalies: list[dict]) -> str:
    """'3 anomalies opened in Shop: checkout.completed, page.view and 1 more'."""
    names = [series_label(a) for a in anomalies[:3]]
    if len(anomalies) > 3:
        names.append(f"{len(anomalies) - 3} more")
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
    return f"{headline(event, project, anomalies)}: {listed}" if listed else headline(event, project, anomalies)


def series_label(anomaly: dict) -> str:
    """'cpu.load {host=web-1} (avg)': the watch's name, its tags and a measure other than count."""
    series = anomaly["series"]
    tags = ", ".join(f"{key}={value}" for key, value in sorted(series["tags"].items()))
    measure = "" if series["measure"] == "count" else f" ({series['measure']})"
    return f"{series['name']}{f' {{{tags}}}' if tags else ''}{measure}"


def describe(anomaly: dict) -> str:
    """'spike up: 1,234 vs 310 expected (+298%), critical'."""
    text = f"{anomaly['kind'].replace('_', ' ')} {anomaly['direction']}"
    if anomaly["actual"] is not None and anomaly["expected"] is not None:
        text += f": {human_number(anomaly['actual'])} vs {human_number(anomaly['expected'])} expected"
        if anomaly["deviation_percent"] is not None:
            text += f" ({human_percent(anomaly['deviation_percent'])})"
    return f"{text}, {anomaly['severity']}"


def human_number(value: float) -> str:
    """1234.4 -> '1,234'; 12.345 -> '12.3'; 0.5 -> '0.5'."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def human_percent(value: float) -> str:
    """23.4 -> '+23%'; -4.56 -> '-4.6%'."""
    return f"{value:+,.0f}%" if abs(value) >= 10 else f"{value:+.1f}%"


def slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: str, project: Project, anomalies: list[dict]) -> dict:
    """Slack incoming-webhook message: the summary as text, one mrkdwn line per anomaly (capped)."""
    # Capped per line too: a section's text may hold 3,000 characters at most.
    lines = [f"• *{slack_link(a, slack_escape(series_label(a)[:200]))}* {slack_escape(describe(a))}"
             for a in anomalies[:SLACK_LINES]]  # fmt: skip
    if len(anomalies) > SLACK_LINES:
        lines.append(f"…and {len(anomalies) - SLACK_LINES} more")
    text = slack_escape(summary(event, project, anomalies))
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{slack_escape(headline(event, project, anomalies))}*"},
        }
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Flux · {slack_escape(project.slug)}"}]})
    return {"text": text, "blocks": blocks}


def slack_link(anomaly: dict, text: str) -> str:
    return f"<{anomaly['url']}|{text}>" if anomaly.get("url") else text


def email_payload(event: str, project: Project, anomalies: list[dict], now: datetime) -> dict:
    """Subject '[Flux] 3 anomalies opened in Shop' and a plain-text body listing them."""
    lines = [
        f"- {series_label(a)}: {describe(a)}, since {readable_time(a['started_at'])}"
        + (f"\n  {a['url']}" if a.get("url") else "")
        for a in anomalies
    ]
    if len(lines) > EMAIL_LINES:
        lines[EMAIL_LINES:] = [f"- and {len(anomalies) - EMAIL_LINES} more"]
    body = "\n".join(
        [
            f"{headline(event, project, anomalies)} ({project.slug}).",
            "",
            *lines,
            "",
            f"Sent by Flux at {readable_time(iso(now))}.",
        ]
    )
    return {"subject": header_text(f"[Flux] {headline(event, project, anomalies)}"), "body": body}


def header_text(text: str) -> str:
    """The text with each run of control characters or line breaks (from names people typed) as one space."""
    return HEADER_BREAKERS.sub(" ", text)


def readable_time(iso_text: str) -> str:
    """'2026-11-20T10:00:00Z' -> '2026-11-20 10:00 UTC'."""
    return f"{iso_text[:10]} {iso_text[11:16]} UTC"


def sample_anomalies(project: Project, now: datetime) -> list[dict]:
    """One made-up anomaly in the real shape, for test deliveries."""
    watch = Watch(project=project, source=Watch.Source.EVENTS, name="checkout.completed", measure="count")
    anomaly = Anomaly(
        project=project, watch=watch, kind=Anomaly.Kind.SPIKE, direction="up", severity="warning", score=0.85,
        started_at=now - timedelta(hours=1), last_anomalous_at=now, actual=1234.0, expected=310.0, lower=250.0,
        upper=380.0, interval_seconds=3600,
    )  # fmt: skip
    return [anomaly_json(anomaly)]
