"""Annotations over the API: key kinds, validation, tenant isolation, range and tag filters, live pushes."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from annotations.models import Annotation
from flux.tenants.models import Project, Role
from flux.tenants.services import add_member, issue_key

URL = "/api/v1/annotations"
DEPLOY = {"time": "2026-11-20T10:00:00Z", "text": "Deploy v2.3.1", "tags": {"service": "api"}}
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


def test_an_ingest_key_annotates_and_a_read_key_lists(api: type, keys: dict) -> None:
    created = api(keys["ingest"]).post(URL, DEPLOY, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["time"], body["time_end"], body["text"], body["tags"]) == (
        "2026-11-20T10:00:00Z",
        None,
        "Deploy v2.3.1",
        {"service": "api"},
    )
    assert body["created_by"].startswith("API key flx_ingest_")
    listed = api(keys["read"]).get(URL, RANGE).json()["annotations"]
    assert [item["id"] for item in listed] == [body["id"]]


def test_a_range_annotation_is_listed_when_it_overlaps_the_range(api: type, keys: dict) -> None:
    campaign = {"time": "2026-11-18T00:00:00Z", "time_end": "2026-11-20T06:00:00Z", "text": "Black Friday"}
    api(keys["admin"]).post(URL, campaign, format="json")
    api(keys["admin"]).post(URL, {"time": "2026-11-19T00:00:00Z", "text": "Before"}, format="json")
    listed = api(keys["read"]).get(URL, RANGE).json()["annotations"]
    assert [item["text"] for item in listed] == ["Black Friday"]


def test_tags_filter_the_list(api: type, keys: dict) -> None:
    admin = api(keys["admin"])
    admin.post(URL, DEPLOY, format="json")
    admin.post(URL, {**DEPLOY, "text": "Web deploy", "tags": {"service": "web"}}, format="json")
    listed = admin.get(URL, {**RANGE, "tags[service]": "web"}).json()["annotations"]
    assert [item["text"] for item in listed] == ["Web deploy"]


def test_a_read_key_cannot_annotate_and_only_an_admin_key_deletes(api: type, keys: dict) -> None:
    assert api(keys["read"]).post(URL, DEPLOY, format="json").status_code == 403
    assert api(keys["ingest"]).get(URL).status_code == 403
    created = api(keys["ingest"]).post(URL, DEPLOY, format="json").json()
    assert api(keys["ingest"]).delete(f"{URL}/{created['id']}").status_code == 403
    assert api(keys["read"]).delete(f"{URL}/{created['id']}").status_code == 403
    assert api(keys["admin"]).delete(f"{URL}/{created['id']}").status_code == 204
    assert not Annotation.objects.filter(pk=created["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time": "2026-11-20T10:00:00Z"}, "text"),
        ({**DEPLOY, "text": "x" * 1001}, "text"),
        ({**DEPLOY, "time": "yesterday-ish"}, "time"),
        ({**DEPLOY, "time_end": "2026-11-20T09:00:00Z"}, "time_end"),
        ({**DEPLOY, "tags": {"service": {"nested": 1}}}, "tags"),
        ({**DEPLOY, "tags": ["api"]}, "tags"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api: type, keys: dict, body: dict, field: str) -> None:
    response = api(keys["admin"]).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_an_unknown_list_parameter_is_a_400(api: type, keys: dict) -> None:
    response = api(keys["read"]).get(URL, {"tag[service]": "api"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_parameter")


def test_annotations_of_another_project_are_out_of_reach(api: type, keys: dict, other_project: Project) -> None:
    foreign = api(issue_key(other_project, "admin").raw_key).post(URL, DEPLOY, format="json").json()
    assert api(keys["read"]).get(URL, RANGE).json()["annotations"] == []
    assert api(keys["admin"]).delete(f"{URL}/{foreign['id']}").status_code == 404
    assert Annotation.objects.filter(pk=foreign["id"]).exists()


def test_creating_and_deleting_push_to_the_projects_pages(
    api: type, keys: dict, project: Project, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
) -> None:  # fmt: skip
    published: list[tuple[int, dict]] = []
    monkeypatch.setattr(
        "flux.web.realtime.publish", lambda project_id, payload: published.append((project_id, payload))
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = api(keys["admin"]).post(URL, DEPLOY, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        api(keys["admin"]).delete(f"{URL}/{created['id']}")
    assert published == [
        (project.pk, {"kind": "annotation", "event": "created", "annotation": created}),
        (project.pk, {"kind": "annotation", "event": "deleted", "id": created["id"]}),
    ]


@pytest.mark.parametrize(
    ("persona", "read", "create", "delete"),
    [("alice", 200, 201, 204), ("bob", 200, 201, 204), ("vera", 200, 403, 403), ("charlie", 404, 404, 404)],
)
def test_every_endpoint_walked_as_each_persona(
    persona: str, read: int, create: int, delete: int, project: Project, charlie: User, api: type, keys: dict
) -> None:
    add_member(project, User.objects.create_user("vera", "vera@example.com", "password"), Role.VIEWER)
    existing = api(keys["admin"]).post(URL, DEPLOY, format="json").json()
    client = Client(HTTP_X_FLUX_PROJECT=project.slug)
    client.force_login(User.objects.get(username=persona))
    assert client.get(URL, RANGE).status_code == read
    assert client.post(URL, DEPLOY, content_type="application/json").status_code == create
    assert client.delete(f"{URL}/{existing['id']}").status_code == delete


def test_a_misspelled_time_is_refused_not_read_as_now(api: type, keys: dict) -> None:
    body = {"text": "Deploy v2", "tim": "2026-11-20T10:00:00Z"}
    assert api(keys["ingest"]).post(URL, body, format="json").status_code == 400
    assert api(keys["read"]).get(URL, {"from": "-30d"}).json()["annotations"] == []


def test_new_annotations_are_limited_per_project_and_hour(
    api: type, keys: dict, other_project: Project, settings: object
) -> None:
    """An ingest key may annotate, and one in a page's snippet is public: 400 in a row were all drawn."""
    settings.FLUX_ANNOTATIONS_PER_HOUR = 3
    answers = [api(keys["ingest"]).post(URL, DEPLOY, format="json") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    assert answers[3].json()["error"]["code"] == "throttled" and int(answers[3]["Retry-After"]) > 0
    assert Annotation.objects.count() == 3
    theirs = api(issue_key(other_project, "ingest").raw_key).post(URL, DEPLOY, format="json")
    assert theirs.status_code == 201  # each project has its own allowance
