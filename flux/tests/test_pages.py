"""Every HTML page of a project, walked as each persona: who gets it, who is sent to log in, who gets 404.
The project's live feed (websocket) answers the same way."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anomalies.tests.factories import make_watch, open_anomaly
from dashboards.models import Dashboard
from flux.tenants.models import Membership, Project, Role
from flux.tenants.services import add_member
from flux.web import realtime
from metrics.tests.factories import make_series


@pytest.fixture
def pages(project: Project) -> list[str]:
    make_series(project, "queue.depth", "gauge", queue="mail")
    anomaly = open_anomaly(make_watch(project, "user.signup"), datetime(2026, 11, 20, 10, tzinfo=UTC))
    base = f"/p/{project.slug}"
    return [
        f"{base}/", f"{base}/dashboards/", f"{base}/dashboards/key-metrics/", f"{base}/events/",
        f"{base}/metrics/", f"{base}/metrics/queue.depth/", f"{base}/setup/", f"{base}/anomalies/",
        f"{base}/anomalies/settings/", f"{base}/anomalies/{anomaly.pk}/", f"{base}/settings/",
    ]  # fmt: skip


def test_anonymous_visitors_are_sent_to_log_in(client: Client, pages: list[str]) -> None:
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}", path


@pytest.mark.parametrize("role", [Role.OWNER, Role.MEMBER, Role.VIEWER])
def test_every_role_in_the_project_sees_every_page(
    client: Client, project: Project, pages: list[str], role: str
) -> None:
    user = User.objects.create_user(f"someone-{role}")
    add_member(project, user, role)
    client.force_login(user)
    for path in pages:
        assert client.get(path).status_code == 200, path


def test_an_outsider_gets_404_for_every_page(client: Client, charlie: User, pages: list[str]) -> None:
    client.force_login(charlie)
    for path in pages:
        assert client.get(path).status_code == 404, path


def test_signing_in_lands_on_the_first_projects_overview(client: Client, alice: User, project: Project) -> None:
    client.force_login(alice)
    assert client.get("/").url == f"/p/{project.slug}/"
    html = client.get(f"/p/{project.slug}/").content.decode()
    assert 'id="card-events"' in html and 'aria-current="page">Overview<' in html


def test_an_unknown_metric_or_anomaly_page_is_404(client: Client, alice: User, project: Project) -> None:
    client.force_login(alice)
    assert client.get(f"/p/{project.slug}/metrics/no.such.metric/").status_code == 404
    assert client.get(f"/p/{project.slug}/anomalies/999999/").status_code == 404


def open_feed(base_url: str, slug: str, client: Client | None) -> object:
    from websockets.sync.client import connect

    cookie = f"sessionid={client.cookies['sessionid'].value}" if client else ""
    url = base_url.replace("http://", "ws://") + f"/ws/p/{slug}/live/"
    return connect(url, additional_headers={"Cookie": cookie, "Origin": base_url}, open_timeout=10)


@pytest.mark.e2e
@pytest.mark.parametrize(("socket", "cut"), [("live feed", "removed"), ("dashboard", "removed"),
                                            ("live feed", "deactivated"), ("dashboard", "signed out")])  # fmt: skip
def test_a_member_removed_is_cut_off_at_the_next_message(
    socket_rechecks_every_message: None, live_flux: str, project: Project, socket: str, cut: str
) -> None:
    """Access is not only checked at connect: a removed member's open page must not go on receiving the
    project's anomalies and data."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    member = Client()
    member.force_login(User.objects.get(username="bob"))
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    path = "live" if socket == "live feed" else f"dashboards/{dashboard.pk}"
    url = live_flux.replace("http://", "ws://") + f"/ws/p/{project.slug}/{path}/"
    cookie = f"sessionid={member.cookies['sessionid'].value}"
    with connect(url, additional_headers={"Cookie": cookie, "Origin": live_flux}, open_timeout=10) as feed:
        realtime.publish(project.pk, {"kind": "anomaly", "event": "opened", "anomaly": {"id": 1}})
        assert json.loads(feed.recv(timeout=5))["payload"]["event"] == "opened"
        if cut == "removed":
            Membership.objects.filter(project=project, user__username="bob").delete()
        elif cut == "deactivated":
            User.objects.filter(username="bob").update(is_active=False)
        else:
            member.logout()  # the session is gone: its cookie opens nothing any more
        realtime.publish(project.pk, {"kind": "anomaly", "event": "acknowledged", "anomaly": {"id": 1}})
        with pytest.raises(ConnectionClosed) as closed:
            feed.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


@pytest.mark.e2e
def test_the_live_feed_tells_members_what_arrived_and_refuses_outsiders(live_flux: str, project: Project) -> None:
    from websockets.exceptions import InvalidStatus

    member, outsider = Client(), Client()
    member.force_login(User.objects.get(username="alice"))
    outsider.force_login(User.objects.create_user("mallory"))
    for refused in (outsider, None):
        with pytest.raises(InvalidStatus) as rejected:
            open_feed(live_flux, project.slug, refused)
        assert rejected.value.response.status_code == 403  # closed before accepting: the handshake fails
    with open_feed(live_flux, project.slug, member) as feed:
        # No wait: the server joins the project group before it accepts (flux/web/consumers.py), so an open
        # socket is already a member.
        realtime.data_arrived(project.pk, ["user.signup"], [])
        message = json.loads(feed.recv(timeout=5))
    assert message == {"type": "message", "payload": {"kind": "data", "events": ["user.signup"], "metrics": []}}
