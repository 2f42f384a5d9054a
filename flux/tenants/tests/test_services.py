from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from flux.tenants.keys import hash_key
from flux.tenants.models import ApiKey, Membership, Project, Role
from flux.tenants.services import (
    add_member,
    create_project,
    create_project_with_keys,
    delete_project,
    issue_key,
    revoke_key,
    touch_last_used,
)


def test_create_project_derives_a_unique_slug(db: None) -> None:
    first = create_project("My Shop")
    second = create_project("My Shop")
    assert (first.slug, second.slug) == ("my-shop", "my-shop-2")


def test_create_project_rejects_unknown_timezone(db: None) -> None:
    with pytest.raises(ValidationError) as error:
        create_project("Shop", timezone_name="Mars/Olympus")
    assert "timezone" in error.value.message_dict


def test_create_project_uses_the_default_retention(db: None, settings: object) -> None:
    settings.FLUX_DEFAULT_RETENTION_DAYS = 45
    assert create_project("Shop").retention_days == 45


def test_create_project_makes_the_owner_a_member(alice: object) -> None:
    project = create_project("Shop", owner=alice)
    assert Membership.objects.get(project=project, user=alice).role == Role.OWNER


def test_issued_key_is_stored_only_as_hash(project: Project) -> None:
    issued = issue_key(project, "ingest", name="server")
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert stored.hashed_key == hash_key(issued.raw_key)
    assert stored.prefix == issued.raw_key[: len("flx_ingest_") + 6]
    stored_values = [str(value) for value in ApiKey.objects.filter(pk=stored.pk).values().first().values()]
    assert issued.raw_key not in stored_values


def test_issue_key_refuses_unknown_kind(project: Project) -> None:
    with pytest.raises(ValueError, match="unknown key kind"):
        issue_key(project, "superuser")


def test_create_project_with_keys_issues_one_key_per_kind(db: None) -> None:
    project, raw_keys = create_project_with_keys("Shop")
    assert sorted(raw_keys) == ["admin", "ingest", "read"]
    assert sorted(project.api_keys.values_list("kind", flat=True)) == ["admin", "ingest", "read"]


def test_revoking_twice_keeps_the_first_revocation_time(project: Project) -> None:
    api_key = issue_key(project, "read").api_key
    revoke_key(api_key)
    first = api_key.revoked_at
    revoke_key(api_key)
    assert api_key.revoked_at == first is not None


def test_add_member_replaces_an_existing_role(project: Project, bob: object) -> None:
    add_member(project, bob, Role.VIEWER)
    assert Membership.objects.get(project=project, user=bob).role == Role.VIEWER


def test_touch_last_used_writes_at_most_once_per_period(project: Project, settings: object) -> None:
    settings.FLUX_KEY_LAST_USED_EVERY_SECONDS = 300
    api_key = issue_key(project, "read").api_key
    touch_last_used(api_key)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    touch_last_used(ApiKey.objects.get(pk=api_key.pk))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=6))
    touch_last_used(ApiKey.objects.get(pk=api_key.pk))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


@pytest.mark.storage
def test_deleting_a_project_purges_its_raw_data_after_commit(
    project: Project, other_project: Project, django_capture_on_commit_callbacks: object, monkeypatch: object
) -> None:
    from datetime import UTC, datetime

    from events.models import EventRollup, EventTagRollup
    from events.rollups import roll_up_events
    from events.tests.factories import insert_event, partition_of_event
    from flux.celery import app as celery_app
    from metrics.models import MetricRollup
    from metrics.rollups import roll_up_metrics
    from metrics.tests.factories import count_points, insert_point, make_series

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    now = datetime.now(UTC)
    doomed_event = insert_event(project, now - timedelta(minutes=5), tags={"plan": "pro"})
    kept_event = insert_event(other_project, now - timedelta(minutes=5))
    doomed_series = make_series(project)
    insert_point(doomed_series, now - timedelta(minutes=5))
    doomed_series_id = doomed_series.pk
    roll_up_events(now + timedelta(minutes=1))
    roll_up_metrics(now + timedelta(minutes=1))
    assert MetricRollup.objects.filter(project_id=project.pk).count() == 3

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delete_project(project)

    assert len(callbacks) == 1
    assert not Project.objects.filter(pk=project.pk).exists()
    assert partition_of_event(doomed_event) == ""
    assert partition_of_event(kept_event) != ""
    doomed_series.pk = doomed_series_id
    assert count_points(doomed_series) == 0
    # Rollups are purged with the raw rows, not cascaded by the delete itself.
    assert not EventRollup.objects.filter(project_id=project.pk).exists()
    assert not EventTagRollup.objects.filter(project_id=project.pk).exists()
    assert not MetricRollup.objects.filter(project_id=project.pk).exists()
