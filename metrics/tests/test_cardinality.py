"""Cardinality guardrails: tag values and series past a metric's limits fold into `__other__`, with warnings
in the ingest answer, the overview, the metric summary and the pages."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from flux.tenants.models import Project
from metrics.models import MetricSeries

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(microsecond=0).isoformat()


def points(name: str, tag_sets: list[dict]) -> dict:
    return {
        "metrics": [{"type": "counter", "name": name, "value": 1, "timestamp": NOW, "tags": tags} for tags in tag_sets]
    }


def stored_tag_values(project: Project, name: str, key: str) -> list[str]:
    series = MetricSeries.objects.filter(project=project, metric__name=name)
    return sorted(series.values_list(f"tags__{key}", flat=True))


def test_three_thousand_user_ids_fold_beyond_five_hundred_values(
    post_json: object, keys: dict, project: Project
) -> None:
    batches = [
        points("page.views", [{"user": f"u{i}"} for i in range(start, start + 1000)]) for start in (0, 1000, 2000)
    ]
    answers = [post_json("/api/v1/metrics/batch", batch, key=keys["ingest"]).json() for batch in batches]

    values = stored_tag_values(project, "page.views", "user")
    assert len(values) == 501 and "__other__" in values
    assert [answer["accepted"] for answer in answers] == [1000, 1000, 1000]
    warned = [len(answer.get("warnings", [])) for answer in answers]
    assert warned == [500, 1000, 1000]
    first = answers[0]["warnings"][0]
    assert (first["index"], first["kind"], first["tag_keys"]) == (500, "metric", ["user"])
    assert "'user' of metric 'page.views' has reached 500 distinct values" in first["message"]


def test_known_values_are_still_stored_as_sent_after_the_limit(
    post_json: object, keys: dict, project: Project, settings: object
) -> None:
    settings.FLUX_MAX_TAG_VALUES_PER_KEY = 2
    post_json(
        "/api/v1/metrics/batch", points("jobs", [{"queue": "a"}, {"queue": "b"}, {"queue": "c"}]), key=keys["ingest"]
    )

    answer = post_json(
        "/api/v1/metrics/batch", points("jobs", [{"queue": "a"}, {"queue": "d"}]), key=keys["ingest"]
    ).json()

    assert [warning["index"] for warning in answer["warnings"]] == [1]
    assert stored_tag_values(project, "jobs", "queue") == ["__other__", "a", "b"]


def test_the_series_limit_folds_every_tag_of_a_new_series(
    post_json: object, keys: dict, project: Project, settings: object
) -> None:
    settings.FLUX_MAX_SERIES_PER_METRIC = 2
    tag_sets = [{"a": "1", "b": "1"}, {"a": "1", "b": "2"}, {"a": "2", "b": "1"}]
    answer = post_json("/api/v1/metrics/batch", points("combos", tag_sets), key=keys["ingest"]).json()

    assert answer["warnings"][0]["tag_keys"] == [""]
    tags = sorted(MetricSeries.objects.filter(project=project).values_list("tags", flat=True), key=str)
    assert {"a": "__other__", "b": "__other__"} in tags and len(tags) == 3


def test_the_overview_and_the_metric_summary_name_the_offending_tag_key(
    post_json: object, keys: dict, project: Project, settings: object, api: type
) -> None:
    settings.FLUX_MAX_TAG_VALUES_PER_KEY = 1
    post_json("/api/v1/metrics/batch", points("jobs", [{"queue": "a"}, {"queue": "b"}]), key=keys["ingest"])

    overview = api(keys["read"]).get("/api/v1/overview").json()["cardinality_warnings"]
    summary = api(keys["read"]).get("/api/v1/metrics/jobs").json()["cardinality_warnings"]

    assert [(w["metric"], w["tag_key"], w["folded_points"]) for w in overview] == [("jobs", "queue", 1)]
    assert summary == overview


def test_the_overview_and_metric_pages_show_the_warning(
    post_json: object, keys: dict, project: Project, settings: object, client: Client, alice: object
) -> None:
    settings.FLUX_MAX_TAG_VALUES_PER_KEY = 1
    post_json("/api/v1/metrics/batch", points("jobs", [{"queue": "a"}, {"queue": "b"}]), key=keys["ingest"])
    client.force_login(alice)

    for page in (f"/p/{project.slug}/", f"/p/{project.slug}/metrics/jobs/"):
        html = client.get(page).content.decode()
        assert 'id="cardinality-warnings"' in html and "tag <code>queue</code> passed 1 distinct values" in html


def test_pages_without_folded_values_show_no_warning(client: Client, alice: object, project: Project) -> None:
    client.force_login(alice)

    assert 'id="cardinality-warnings"' not in client.get(f"/p/{project.slug}/").content.decode()
