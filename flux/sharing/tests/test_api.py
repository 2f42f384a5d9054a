"""Share links: created by an admin key or a member, read-only data for the token, revocation and expiry,
tenant isolation, and a token that opens nothing else of the project."""

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboards.models import Dashboard
from events.tests.factories import insert_event
from flux.sharing import services as sharing_services
from flux.sharing.models import ShareLink
from flux.tenants.models import Project, Role
from flux.tenants.services import add_member, issue_key
from flux.web import realtime

SHARES = "/api/v1/dashboards/key-metrics/shares"
DATA = "/api/v1/shared/data"


@pytest.fixture
def issued(api: type, keys: dict) -> dict:
    response = api(keys["admin"]).post(SHARES, {"expires_in_days": 7}, format="json")
    assert response.status_code == 201
    return response.json()


def shared_data(client: Client, token: str) -> object:
    return client.get(DATA, HTTP_X_FLUX_SHARE=token)


def test_a_link_opens_the_dashboards_data_and_page_without_login(
    client: Client, issued: dict, project: Project
) -> None:
    insert_event(project, datetime.now(UTC) - timedelta(minutes=5), "user.signup")
    assert issued["url"] == f"http://testserver/s/{issued['token']}/" and issued["token"].startswith(issued["prefix"])
    assert issued["expires_at"] is not None and ShareLink.objects.get().hashed_token != issued["token"]
    body = shared_data(client, issued["token"]).json()
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    assert body["dashboard"] == dashboard.pk and len(body["widgets"]) == dashboard.widgets.count()
    page = client.get(f"/s/{issued['token']}/")
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    assert b"Key metrics" in page.content and project.slug.encode() not in page.content


def test_a_revoked_or_expired_or_wrong_token_opens_nothing(client: Client, api: type, keys: dict, issued: dict) -> None:
    assert shared_data(client, issued["token"] + "x").status_code == 404
    assert shared_data(client, "").status_code == 404
    revoked = api(keys["admin"]).delete(f"{SHARES}/{issued['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert shared_data(client, issued["token"]).status_code == 404
    assert client.get(f"/s/{issued['token']}/").status_code == 404

    fresh = api(keys["admin"]).post(SHARES, {}, format="json").json()
    assert fresh["expires_at"] is None and shared_data(client, fresh["token"]).status_code == 200
    ShareLink.objects.filter(pk=fresh["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert shared_data(client, fresh["token"]).status_code == 404


def test_only_an_admin_key_creates_and_revokes_and_a_read_key_lists(api: type, keys: dict, issued: dict) -> None:
    assert api(keys["read"]).post(SHARES, {}, format="json").status_code == 403
    assert api(keys["ingest"]).post(SHARES, {}, format="json").status_code == 403
    assert api(keys["read"]).delete(f"{SHARES}/{issued['id']}").status_code == 403
    listed = api(keys["read"]).get(SHARES).json()["links"]
    assert [link["id"] for link in listed] == [issued["id"]] and "token" not in listed[0]


def test_a_bad_expiry_is_a_400(api: type, keys: dict) -> None:
    response = api(keys["admin"]).post(SHARES, {"expires_in_days": 0}, format="json")
    assert response.status_code == 400 and "expires_in_days" in response.json()["error"]["details"]


def test_links_of_another_projects_dashboard_are_out_of_reach(api: type, issued: dict, other_project: Project) -> None:
    other_admin = api(issue_key(other_project, "admin").raw_key)
    assert other_admin.get(SHARES).json()["links"] == []  # its own key-metrics dashboard, not this one's
    dashboard_id = ShareLink.objects.get().dashboard_id
    assert other_admin.get(f"/api/v1/dashboards/{dashboard_id}/shares").status_code == 404
    assert other_admin.delete(f"/api/v1/dashboards/{dashboard_id}/shares/{issued['id']}").status_code == 404
    assert ShareLink.objects.get().revoked_at is None


@pytest.mark.parametrize(
    ("persona", "read", "write"), [("alice", 200, 201), ("bob", 200, 201), ("vera", 200, 403), ("charlie", 404, 404)]
)
def test_every_endpoint_walked_as_each_persona(
    persona: str, read: int, write: int, project: Project, charlie: User, issued: dict
) -> None:
    add_member(project, User.objects.create_user("vera"), Role.VIEWER)
    client = Client(HTTP_X_FLUX_PROJECT=project.slug)
    client.force_login(User.objects.get(username=persona))
    assert client.get(SHARES).status_code == read
    assert client.post(SHARES, {}, content_type="application/json").status_code == write
    assert client.delete(f"{SHARES}/{issued['id']}").status_code == (200 if write == 201 else write)


def concrete(path: str, ids: dict[str, object]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(ids.get(match[1], 1)), path)


def test_the_token_opens_no_other_endpoint_or_page(client: Client, issued: dict, project: Project) -> None:
    schema = json.loads(client.get("/api/schema", {"format": "json"}).content)
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    ids = {"reference": dashboard.pk, "widget_id": dashboard.widgets.first().pk, "name": "x", "link_id": issued["id"]}
    token = issued["token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_X_API_KEY": token, "HTTP_X_FLUX_SHARE": token}
    answered = {}
    for path, operations in schema["paths"].items():
        for method in operations:
            response = getattr(client, method)(concrete(path, ids), **headers)
            answered[(method, path)] = response.status_code
    assert answered and all(status in (401, 403, 404) for status in answered.values()), answered
    for page in ("/", "/dashboards/", f"/dashboards/{dashboard.slug}/", "/events/", "/settings/"):
        assert client.get(f"/p/{project.slug}{page}", **headers).status_code == 302  # to the login page
    assert ShareLink.objects.get().revoked_at is None and Dashboard.objects.filter(pk=dashboard.pk).exists()


@pytest.mark.e2e
def test_the_shared_socket_pushes_this_dashboards_data_only(
    socket_rechecks_every_message: None, live_flux: str, project: Project, api: type, keys: dict
) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    token = api(keys["admin"]).post(SHARES, {}, format="json").json()["token"]
    url = live_flux.replace("http://", "ws://") + "/ws/shared/{}/"
    with pytest.raises(InvalidStatus):
        connect(url.format(token + "x"), additional_headers={"Origin": live_flux}, open_timeout=10)
    with connect(url.format(token), additional_headers={"Origin": live_flux}, open_timeout=10) as feed:
        realtime.publish(project.pk, {"kind": "anomaly", "event": "opened", "anomaly": {"id": 1}})
        insert_event(project, datetime.now(UTC) - timedelta(minutes=1), "user.signup")
        realtime.data_arrived(project.pk, ["user.signup"], [])
        message = json.loads(feed.recv(timeout=10))
        assert message["type"] == "widget"  # the anomaly was not passed on; the widget data was
        ShareLink.objects.update(revoked_at=datetime.now(UTC))  # the next data re-reads the link
        realtime.data_arrived(project.pk, ["user.signup"], [])
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                feed.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


@pytest.mark.parametrize("body", [{"expires_in_day": 1}, [{"expires_in_days": 1}], {"expires_in_days": "7"}])
def test_a_misspelled_expiry_is_refused_not_a_link_that_never_expires(api: type, keys: dict, body: object) -> None:
    response = api(keys["admin"]).post(SHARES, body, format="json")
    assert response.status_code == 400 and not ShareLink.objects.exists()


def test_shared_data_is_computed_once_at_a_time_per_project_and_kept_a_while(
    client: Client, issued: dict, project: Project, settings: object
) -> None:
    """Sixteen anonymous requests at once on a heavy shared dashboard held every database connection of a
    web process for over a minute: other projects' reads and ingestion answered 503."""
    from flux.sharing import cache
    from flux.web.redis_store import redis_client, redis_key

    settings.FLUX_SHARED_DATA_SECONDS = 3600  # no slow run outlives the cached answer between two requests

    insert_event(project, datetime.now(UTC) - timedelta(minutes=5), "user.signup")
    first = shared_data(client, issued["token"])
    insert_event(project, datetime.now(UTC) - timedelta(minutes=4), "user.signup")
    assert shared_data(client, issued["token"]).json() == first.json()  # kept, not computed again

    other = Dashboard.objects.create(project=project, name="Ops", slug="ops")
    lock = redis_key("shared-data-lock", project.pk)
    redis_client().set(lock, "another request", ex=60)  # another viewer's computation of this project runs
    try:
        token = sharing_services.create_share_link(other, None, "test").token
        busy = shared_data(client, token)
        assert (busy.status_code, busy["Retry-After"]) == (429, str(cache.RETRY_SECONDS))
        assert busy.json()["error"]["code"] == "busy"
        assert shared_data(client, issued["token"]).status_code == 200  # a cached answer needs no lock
    finally:
        redis_client().delete(lock)
    assert shared_data(client, token).status_code == 200
    assert redis_client().get(lock) is None  # released once computed
    # A widget deleted, or the dashboard changed, is not answered from the cache.
    first_widget = Dashboard.objects.get(project=project, is_default=True).widgets.first()
    first_widget.delete()
    assert str(first_widget.pk) not in shared_data(client, issued["token"]).json()["widgets"]


def test_a_shared_dashboard_is_computed_every_time_when_its_cache_is_off(
    client: Client, issued: dict, project: Project, settings: object
) -> None:
    settings.FLUX_SHARED_DATA_SECONDS = 0
    before = shared_data(client, issued["token"]).json()
    insert_event(project, datetime.now(UTC) - timedelta(minutes=5), "user.signup")
    assert shared_data(client, issued["token"]).json() != before


@pytest.mark.django_db(transaction=True)
def test_the_sockets_of_a_shared_dashboard_share_one_computation_per_push(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 sockets on one link each computed every widget: every live dashboard of the process slowed 20-fold."""
    from asgiref.sync import async_to_sync

    from flux.sharing import consumers

    computed = []
    real = consumers.data_of

    async def counted(*args: object) -> dict:
        computed.append(args[1].pk)
        return await real(*args)

    monkeypatch.setattr(consumers, "data_of", counted)
    monkeypatch.setattr(consumers, "PUSHES", {})
    insert_event(project, datetime.now(UTC) - timedelta(minutes=5), "user.signup")
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    widget = dashboard.widgets.first()
    sockets = [consumers.SharedDashboardConsumer() for _ in range(3)]
    for socket in sockets:
        socket.dashboard = dashboard

    async def push_all() -> list[dict]:
        return await asyncio.gather(*(socket.widget_data(widget) for socket in sockets))

    answers = async_to_sync(push_all)()
    assert computed == [widget.pk] and answers[0] == answers[1] == answers[2]
    consumers.PUSHES[widget.pk, widget.updated_at] = (0.0, consumers.PUSHES[widget.pk, widget.updated_at][1])
    async_to_sync(push_all)()  # a push interval later: computed afresh, once
    assert computed == [widget.pk, widget.pk]
