"""Dashboard pages and the session-authenticated API calls they make (browser behaviour: test_browser.py)."""

import json
import re
from html import unescape

from django.contrib.auth.models import User
from django.test import Client

from flux.tenants.models import Project
from flux.tenants.services import add_member, issue_key


def page_data(response: object) -> dict:
    html = response.content.decode()
    start = html.index('<script id="page-data" type="application/json">') + len(
        '<script id="page-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_pages_need_a_login(client: Client, project: Project) -> None:
    for path in (f"/p/{project.slug}/", f"/p/{project.slug}/dashboards/", f"/p/{project.slug}/dashboards/key-metrics/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_a_member_sees_the_default_dashboard(client: Client, alice: User, project: Project) -> None:
    client.force_login(alice)
    response = client.get(f"/p/{project.slug}/dashboards/key-metrics/")
    assert response.status_code == 200
    data = page_data(response)
    assert data["project"]["slug"] == project.slug and data["can_edit"] is True
    assert [widget["type"] for widget in data["dashboard"]["widgets"]][:2] == ["number", "number"]
    assert "Key metrics" in client.get(f"/p/{project.slug}/dashboards/").content.decode()


def test_an_outsider_gets_404_for_pages_and_api(client: Client, charlie: User, project: Project) -> None:
    client.force_login(charlie)
    assert client.get(f"/p/{project.slug}/dashboards/key-metrics/").status_code == 404
    assert client.get(f"/p/{project.slug}/dashboards/").status_code == 404
    api = client.get("/api/v1/dashboards", HTTP_X_FLUX_PROJECT=project.slug)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_the_session_reads_and_a_member_writes_with_csrf(alice: User, project: Project) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    headers = {"HTTP_X_FLUX_PROJECT": project.slug}
    assert browser.get("/api/v1/dashboards/key-metrics/data", **headers).status_code == 200
    refused = browser.post("/api/v1/dashboards", {"name": "X"}, content_type="application/json", **headers)
    assert refused.status_code == 403  # no CSRF token
    browser.get(f"/p/{project.slug}/dashboards/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    created = browser.post(
        "/api/v1/dashboards", {"name": "X"}, content_type="application/json", HTTP_X_CSRFTOKEN=token, **headers
    )
    assert created.status_code == 201
    assert Client().get("/api/v1/dashboards", **headers).status_code == 401  # no session, no key


def test_a_viewer_reads_but_cannot_change(client: Client, project: Project) -> None:
    viewer = User.objects.create_user("vera", password="x")
    add_member(project, viewer, "viewer")
    client.force_login(viewer)
    headers = {"HTTP_X_FLUX_PROJECT": project.slug}
    assert page_data(client.get(f"/p/{project.slug}/dashboards/key-metrics/"))["can_edit"] is False
    assert client.get("/api/v1/dashboards/key-metrics", **headers).status_code == 200
    assert client.delete("/api/v1/dashboards/key-metrics", **headers).status_code == 403


def test_the_setup_page_shows_this_servers_endpoint_and_snippets(client: Client, alice: User, project: Project) -> None:
    client.force_login(alice)
    html = client.get(f"/p/{project.slug}/setup/").content.decode()
    assert "http://testserver/api/v1/events" in html
    assert 'config.flux_url = "http://testserver"' in html and "requests.post(" in html
    assert "flux_sdk.django.FluxMiddleware" in html and "flux_sdk.celery.track_tasks" in html
    assert 'src="http://testserver/static/js/flux-track.js"' in unescape(html)
    assert 'StatsClient("127.0.0.1", 8125' in unescape(html) and "which is not this one" in html
    assert 'id="send-test"' in html and f"/p/{project.slug}/settings/" in html  # alice owns: keys are made there
    assert '"url": "http://testserver/mcp"' in html  # an assistant's configuration, both transports
    assert re.search(rf'"mcp",\s+"--project",\s+"{project.slug}"', unescape(html)) and "manage.py" in html
    client.force_login(User.objects.create_user("outsider"))
    assert client.get(f"/p/{project.slug}/setup/").status_code == 404


def test_the_setup_page_shows_the_opentelemetry_configuration(client: Client, alice: User, project: Project) -> None:
    client.force_login(alice)
    html = client.get(f"/p/{project.slug}/setup/").content.decode()

    assert "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://testserver/v1/metrics" in html
    assert "OTEL_EXPORTER_OTLP_METRICS_HEADERS=x-api-key=$FLUX_INGEST_KEY" in html
    assert "service.name, service.namespace" in html and "<script>" not in html.split('id="opentelemetry"')[1]


def test_the_setup_page_says_when_the_statsd_listener_stores_here(
    client: Client, alice: User, project: Project, settings: object
) -> None:
    settings.FLUX_STATSD_KEY = issue_key(project, "ingest").raw_key
    settings.FLUX_STATSD_PORT = 9125
    client.force_login(alice)
    html = client.get(f"/p/{project.slug}/setup/").content.decode()
    assert "It stores into <strong>this project</strong>" in html and ", 9125, prefix=" in unescape(html)
