"""Anomaly lifecycle: what a scan's verdict does to a watch's episode, and what people do to anomalies.
Every change is atomic and, on commit, pushed to the project's live views (flux.web.realtime)."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from anomalies.detection.episodes import KIND_PRECEDENCE, RETURN_REACH
from anomalies.models import SEVERITY_RANK, Anomaly, Channel, DetectionSettings, ThresholdRule, Watch
from anomalies.queries import count_open_anomalies
from anomalies.serializers import anomaly_json
from flux.tenants.limits import ensure_room
from flux.tenants.models import Project
from flux.web import realtime
from flux.web.api import FluxError

OPENED, UPDATED, RESOLVED = "opened", "updated", "resolved"


class AnomalyStateError(FluxError):
    code = "invalid_state"


@dataclass(frozen=True)
class Verdict:
    """What the detector says of a watch's latest scored bucket."""

    bucket: datetime
    interval_seconds: int
    is_anomaly: bool
    score: float = 0.0
    severity: str = "info"
    kind: str = ""
    direction: str = ""
    actual: float | None = None
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    episode_start: datetime | None = None  # the first anomalous bucket of the episode the bucket is in


def announce(anomaly: Anomaly, event: str) -> None:
    """Tell the project's live pages, once committed; a change of status carries the open count their
    navigation badge shows (an update, every scan of every open episode, changes no count: none is read)."""
    payload = {"kind": "anomaly", "event": event, "anomaly": anomaly_json(anomaly)}

    def publish() -> None:
        counted = {} if event == UPDATED else {"open_count": count_open_anomalies(anomaly.project_id)}
        realtime.publish(anomaly.project_id, {**payload, **counted})

    transaction.on_commit(publish)


def unresolved(watch: Watch) -> Anomaly | None:
    episodes = Anomaly.objects.select_for_update().filter(project_id=watch.project_id, watch=watch)
    episode = episodes.exclude(status=Anomaly.Status.RESOLVED).first()
    if episode is not None:
        episode.watch = watch  # (read again by its id alone, without its project, by whatever explains it)
    return episode


def apply_verdict(
    watch: Watch,
    verdict: Verdict,
    now: datetime,
    may_open: bool = True,
    carries_on: Callable[[Anomaly], bool] | None = None,
) -> tuple[str, Anomaly] | None:
    """Open, update or resolve the watch's episode; returns what changed, or None. A verdict that may not
    open one (`may_open`), or may only carry on some (`carries_on`), is judged against the episode as it is
    once the watch is locked: what its caller read before may have been opened or resolved since."""
    with transaction.atomic():
        # Locking the watch serializes overlapping scans of it and reads its current mute and quiet flags.
        watch = Watch.objects.select_for_update().get(project_id=watch.project_id, pk=watch.pk)
        current = unresolved(watch)
        if verdict.is_anomaly and not (may_open if current is None else carries_on is None or carries_on(current)):
            return None
        if not verdict.is_anomaly:
            if watch.quiet_until_normal:
                Watch.objects.filter(project_id=watch.project_id, pk=watch.pk).update(quiet_until_normal=False)
            if current is None:
                return None
            close_episode(current, now, "")
            return RESOLVED, current
        if current is not None and is_new_incident(current, verdict):
            # The series came back and went far past where it stood (a surge after a flatline): the episode
            # ends, and the new incident opens from this bucket (the detector's run goes on through both).
            close_episode(current, now, "")
            notify_ended(current, now)
            current, verdict = None, replace(verdict, episode_start=verdict.bucket)
        if current is not None:
            update_episode(current, verdict)
            current.save()
            announce(current, UPDATED)
            return UPDATED, current
        if watch.muted_until and watch.muted_until > now:
            return None
        if watch.quiet_until_normal:  # resolved by hand: only a new incident opens before it is normal again
            resolved = last_resolved(watch)
            if not (is_new_incident(resolved, verdict) or leaves_band_the_other_way(resolved, verdict)):
                return None
            Watch.objects.filter(project_id=watch.project_id, pk=watch.pk).update(quiet_until_normal=False)
        return open_episode(watch, verdict)


def is_new_incident(episode: Anomaly | None, verdict: Verdict) -> bool:
    """Whether an anomalous verdict going the other way from `episode` is a new incident rather than the
    series coming back: it lies further from where the series should have stood than RETURN_REACH times
    the episode's own move (as the detector's alert_points tells a return from a new incident)."""
    if episode is None or {episode.direction, verdict.direction} != {"up", "down"}:
        return False
    if episode.interval_seconds != verdict.interval_seconds:  # a minute check's numbers span its whole stretch
        return False
    numbers = (episode.actual, episode.expected, verdict.actual)
    if any(number is None for number in numbers):
        return False
    move = abs(episode.actual - episode.expected)
    return abs(verdict.actual - episode.expected) > RETURN_REACH * move


def leaves_band_the_other_way(episode: Anomaly | None, verdict: Verdict) -> bool:
    """Whether a verdict going the other way from an episode resolved by hand lies outside its own band: a
    drop below it after a spike is news however small the spike's expectation was (a false 16-where-0 spike
    resolved as a false alarm kept a real drop to a fifth silent: 8 times a move from 0 is never reached).
    A bucket inside its band (the series coming back, still in the detector's episode) stays quiet."""
    if episode is None or {episode.direction, verdict.direction} != {"up", "down"}:
        return False
    if verdict.direction == "down":
        return verdict.actual is not None and verdict.lower is not None and verdict.actual < verdict.lower
    return verdict.actual is not None and verdict.upper is not None and verdict.actual > verdict.upper


def last_resolved(watch: Watch) -> Anomaly | None:
    episodes = Anomaly.objects.filter(project_id=watch.project_id, watch=watch, status=Anomaly.Status.RESOLVED)
    return episodes.order_by("-resolved_at", "-pk").first()


def notify_ended(anomaly: Anomaly, now: datetime) -> None:
    """Channels told of an episode that a new incident ended hear it resolved (the scan's own changes name
    only the new one), once the verdict has committed: a notice locks the channels and then stamps the
    anomalies it tells of, so queuing it under the watch's and the episode's locks could deadlock with one
    under way. Imported here: the notifications module reads this one's events."""
    from anomalies.notifications import notify_each

    transaction.on_commit(lambda: notify_each({anomaly.project_id: [(RESOLVED, anomaly)]}, now))


def update_episode(anomaly: Anomaly, verdict: Verdict) -> None:
    # A bucket going the other way is the series coming back: it keeps the episode open, and changes
    # neither its numbers nor its severity ("flatline down: 528 where 12 were expected" said nothing true).
    anomaly.last_anomalous_at = max(anomaly.last_anomalous_at, verdict.bucket)
    if {anomaly.direction, verdict.direction} == {"up", "down"}:
        return
    # Its numbers are the bucket's it peaked on, in its own bucket width: a weaker bucket after it (cooling
    # down, nearly back) or a five-minute one confirming a minute check's episode must not replace them.
    if verdict.score >= anomaly.score and verdict.interval_seconds == anomaly.interval_seconds:
        anomaly.actual, anomaly.expected = verdict.actual, verdict.expected
        anomaly.lower, anomaly.upper = verdict.lower, verdict.upper
    anomaly.score = max(anomaly.score, verdict.score)
    if SEVERITY_RANK[verdict.severity] > SEVERITY_RANK[anomaly.severity]:
        anomaly.severity = verdict.severity
    # Named as the detector names an episode of several kinds, the most specific: a stop opens as a drop on
    # its first empty bucket and is a flatline once the run of them shows it (it stayed a "drop" for good,
    # so `kind=flatline` never listed a service that had stopped).
    if more_specific(verdict.kind, anomaly.kind):
        anomaly.kind = verdict.kind


def more_specific(kind: str, than: str) -> bool:
    ranked = kind in KIND_PRECEDENCE and than in KIND_PRECEDENCE
    return ranked and KIND_PRECEDENCE.index(kind) < KIND_PRECEDENCE.index(than)


def open_episode(watch: Watch, verdict: Verdict) -> tuple[str, Anomaly] | None:
    anomaly = Anomaly(
        project_id=watch.project_id, watch=watch, kind=verdict.kind, direction=verdict.direction,
        severity=verdict.severity, score=verdict.score, started_at=verdict.episode_start or verdict.bucket,
        last_anomalous_at=verdict.bucket, actual=verdict.actual, expected=verdict.expected, lower=verdict.lower,
        upper=verdict.upper, interval_seconds=verdict.interval_seconds,
    )  # fmt: skip
    try:
        with transaction.atomic():
            anomaly.save()
    except IntegrityError:
        return None  # another scan of this watch opened it first (the unique constraint decides)
    announce(anomaly, OPENED)
    return OPENED, anomaly


def acknowledge(anomaly: Anomaly, actor: str, note: str = "") -> Anomaly:
    """Someone is on it: stays unresolved, but no more reminders."""
    with transaction.atomic():
        anomaly = Anomaly.objects.select_for_update().get(project_id=anomaly.project_id, pk=anomaly.pk)
        if anomaly.status == Anomaly.Status.RESOLVED:
            raise AnomalyStateError("A resolved anomaly cannot be acknowledged; reopen it first.")
        anomaly.status = Anomaly.Status.ACKNOWLEDGED
        anomaly.acknowledged_by, anomaly.acknowledged_at = actor, timezone.now()
        if note:
            anomaly.note = note
        anomaly.save()
        announce(anomaly, "acknowledged")
    return anomaly


def resolve(anomaly: Anomaly, actor: str, note: str = "") -> Anomaly:
    """Resolved by a person; nothing reopens for this series until the detector sees it normal again."""
    with transaction.atomic():
        anomaly = locked_with_its_watch(anomaly)
        if anomaly.status == Anomaly.Status.RESOLVED:
            raise AnomalyStateError("This anomaly is already resolved.")
        if note:
            anomaly.note = note
        close_episode(anomaly, timezone.now(), actor)
        Watch.objects.filter(project_id=anomaly.project_id, pk=anomaly.watch_id).update(quiet_until_normal=True)
    return anomaly


def close_episode(anomaly: Anomaly, at: datetime, actor: str) -> None:
    """Mark the (locked) anomaly resolved at `at` by `actor` ("": by itself), save it and push the change."""
    anomaly.status, anomaly.resolved_at, anomaly.resolved_by = Anomaly.Status.RESOLVED, at, actor
    anomaly.save()
    announce(anomaly, RESOLVED)


def reopen(anomaly: Anomaly, actor: str, note: str = "") -> Anomaly:
    """Back to open (a resolution was premature); refused if the series has a newer open episode, or if
    nothing would judge it again (it could never resolve by itself)."""
    with transaction.atomic():
        anomaly = locked_with_its_watch(anomaly)
        if anomaly.status != Anomaly.Status.RESOLVED:
            raise AnomalyStateError("Only a resolved anomaly can be reopened.")
        if unjudged := why_unjudged(anomaly):
            raise AnomalyStateError(f"{unjudged}: nothing would resolve it again.")
        anomaly.status, anomaly.resolved_at, anomaly.resolved_by = Anomaly.Status.OPEN, None, ""
        anomaly.acknowledged_by, anomaly.acknowledged_at = "", None
        if note:
            anomaly.note = note
        try:
            with transaction.atomic():
                anomaly.save()
        except IntegrityError:
            raise AnomalyStateError("This series has a newer unresolved anomaly; act on that one.") from None
        Watch.objects.filter(project_id=anomaly.project_id, pk=anomaly.watch_id).update(quiet_until_normal=False)
        announce(anomaly, "reopened")
    return anomaly


def why_unjudged(anomaly: Anomaly) -> str:
    """Why no scan or rule would judge this anomaly's series any more, or ""."""
    if anomaly.kind == Anomaly.Kind.THRESHOLD:
        enabled = ThresholdRule.objects.filter(project_id=anomaly.project_id, watch_id=anomaly.watch_id, enabled=True)
        return "" if enabled.exists() else "Its threshold rule is switched off"
    if Watch.objects.filter(project_id=anomaly.project_id, pk=anomaly.watch_id, excluded=True).exists():
        return "Its series is excluded from anomaly detection"
    if DetectionSettings.objects.filter(project_id=anomaly.project_id, enabled=False).exists():
        return "Anomaly detection is turned off for this project"
    return ""


def locked_with_its_watch(anomaly: Anomaly) -> Anomaly:
    """The anomaly, locked with its watch for a change that writes both: the watch first, as apply_verdict
    locks them (the other order deadlocked with a scan updating the episode, and failed the person's request)."""
    watches = Watch.objects.select_for_update().filter(project_id=anomaly.project_id, pk=anomaly.watch_id)
    list(watches.values_list("pk", flat=True))
    return Anomaly.objects.select_for_update().get(project_id=anomaly.project_id, pk=anomaly.pk)


def acknowledge_all(anomalies: QuerySet[Anomaly], actor: str, note: str = "") -> int:
    """Acknowledge every open anomaly of the queryset (already scoped to one project); returns how many."""
    count = 0
    for anomaly in anomalies.filter(status=Anomaly.Status.OPEN).order_by("pk"):
        acknowledge(anomaly, actor, note)
        count += 1
    return count


# Each notice is queued for every enabled channel of the project: more than this is a misuse, not a team.
MAX_CHANNELS_PER_PROJECT = 50


@transaction.atomic
def add_channel(project: Project, fields: dict) -> Channel:
    ensure_room(project, Channel.objects.filter(project=project), MAX_CHANNELS_PER_PROJECT, "channels")
    return Channel.objects.create(project=project, **fields)


def mute(watch: Watch, until: datetime | None) -> Watch:
    """Open nothing for this series until `until` (None unmutes); scans go on, so the baseline keeps learning."""
    watch.muted_until = until
    watch.save(update_fields=["muted_until"])
    return watch


def update_detection_settings(project: Project, changes: dict, actor: str = "") -> DetectionSettings:
    """Turn detection on or off for the project, or change its default sensitivity. Turning it off resolves
    the detector's open episodes: no scan would ever see them end."""
    current, _ = DetectionSettings.objects.update_or_create(project=project, defaults=changes)
    if changes.get("enabled") is False:
        stopped = Anomaly.objects.filter(project_id=project.pk).exclude(kind=Anomaly.Kind.THRESHOLD)  # rules go on
        resolve_unwatched(stopped, actor, "Resolved when anomaly detection was turned off for this project.")
    return current


def update_watch(watch: Watch, changes: dict, actor: str = "") -> Watch:
    """A series' own sensitivity ("" for the project's), exclusion, or mute until a time (None unmutes).
    Excluding it resolves its open episode: no scan would ever see it end."""
    for field, value in changes.items():
        setattr(watch, field, value)
    if changes:  # (no update_fields would save every field as read: the scans' cache and marks stored since too)
        watch.save(update_fields=list(changes))
    if changes.get("excluded") is True:
        episodes = Anomaly.objects.filter(project_id=watch.project_id, watch_id=watch.pk)
        resolve_unwatched(episodes, actor, "Resolved when this series was excluded from anomaly detection.")
    return watch


def resolve_unwatched(anomalies: QuerySet[Anomaly], actor: str, why: str) -> int:
    """Resolve the unresolved ones among `anomalies`, which nothing will judge any more, and notify it."""
    unresolved_episodes = anomalies.exclude(status=Anomaly.Status.RESOLVED).order_by("pk")
    resolved: dict[int, list[tuple[str, Anomaly]]] = {}
    for anomaly in unresolved_episodes:
        with transaction.atomic():
            anomaly = locked_with_its_watch(anomaly)
            if anomaly.status == Anomaly.Status.RESOLVED:
                continue
            anomaly.note = anomaly.note or why
            close_episode(anomaly, timezone.now(), actor)
            if anomaly.kind != Anomaly.Kind.THRESHOLD:
                # As after a resolve by hand: watched again (included, detection back on) while the incident
                # goes on, the series opened the same episode anew and told the channels of it again.
                Watch.objects.filter(project_id=anomaly.project_id, pk=anomaly.watch_id).update(quiet_until_normal=True)
            resolved.setdefault(anomaly.project_id, []).append((RESOLVED, anomaly))
    # Channels told of an opening hear of its end, as when it ends by itself or by hand (a receiver tracking
    # incidents kept these open for good). Imported here: the notifications module reads this one's events.
    from anomalies.notifications import notify_each

    notify_each(resolved, timezone.now())
    return sum(len(changes) for changes in resolved.values())


def lock_before_project_deletion(sender: type, instance: Project, **kwargs: object) -> None:
    """Before a project's rows are deleted (its anomalies before its channels and watches), lock its channels,
    then its watches: a notice locks the channels, then stamps its anomalies, and a verdict locks a watch, then
    its episode; the deletion's own order deadlocked with both (and failed)."""
    for model in (Channel, Watch):
        rows = model.objects.select_for_update().filter(project_id=instance.pk).order_by("pk")
        list(rows.values_list("pk", flat=True))


def set_explanation(anomaly: Anomaly, explanation: dict) -> None:
    """Store why the anomaly happened (anomalies.explain)."""
    anomaly.explanation = explanation
    Anomaly.objects.filter(project_id=anomaly.project_id, pk=anomaly.pk).update(explanation=explanation)
