"""The MCP server over Streamable HTTP at /mcp, driven by the `mcp` SDK's own client against Flux under
uvicorn: tools per key kind, every tool with valid and invalid arguments, output bounds, isolation."""

import json
from datetime import UTC, datetime, timedelta

import anyio
import httpx2
import pytest
from django.contrib.auth.models import User
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from anomalies.tests.factories import make_watch, open_anomaly
from events.tests.factories import insert_event
from flux.mcp.tests.helpers import error_text, payload
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from metrics.tests.factories import insert_point, make_series

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC)
READ_TOOLS = {"list_events", "list_metrics", "query_events", "query_metric", "compare_periods", "explain_change",
              "funnel", "list_anomalies", "get_anomaly", "get_dashboard", "list_annotations"}  # fmt: skip
WRITE_TOOLS = {"acknowledge_anomaly", "create_dashboard_widget", "track_event", "create_annotation"}


@pytest.fixture
def shop(transactional_db: None) -> Project:
    project = create_project("Shop", owner=User.objects.create_user("olivia"))
    for index in range(30):
        insert_event(project, NOW - timedelta(hours=index % 48 + 1), "user.signup", user_id=f"u{index % 7}",
                     tags={"plan": "pro" if index % 3 else "free"})  # fmt: skip
    for index in range(12):
        insert_event(project, NOW - timedelta(hours=index + 1, minutes=30), "order.completed", user_id=f"u{index % 7}",
                     value=10.0 + index)  # fmt: skip
    latency = make_series(project, "api.latency", "distribution", route="/")
    for minute in range(0, 600, 5):
        insert_point(latency, NOW - timedelta(minutes=minute + 1), 20.0 + minute % 50)
    open_anomaly(make_watch(project, "user.signup"), NOW - timedelta(hours=3), "critical")
    return project


def session(base_url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(f"{base_url}/mcp", http_client=http))


def run(base_url: str, key: str | None, scenario: object) -> object:
    async def main() -> object:
        async with session(base_url, key) as client:
            return await scenario(client)

    return anyio.run(main)


def test_each_key_kind_lists_only_its_tools(live_flux: str, shop: Project) -> None:
    async def names(client: Client) -> set[str]:
        return {tool.name for tool in (await client.list_tools()).tools}

    assert run(live_flux, issue_key(shop, "read").raw_key, names) == READ_TOOLS
    assert run(live_flux, issue_key(shop, "admin").raw_key, names) == READ_TOOLS | WRITE_TOOLS
    assert run(live_flux, issue_key(shop, "ingest").raw_key, names) == {"track_event", "create_annotation"}


def test_without_a_valid_key_the_endpoint_answers_401(live_flux: str, shop: Project) -> None:
    import urllib.error
    import urllib.request

    for headers in ({}, {"Authorization": "Bearer flx_read_not-a-real-key"}):
        request = urllib.request.Request(f"{live_flux}/mcp", data=b"{}", headers=headers, method="POST")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - our own server
        assert refused.value.code == 401
        assert json.loads(refused.value.read())["error"]["code"] == "not_authenticated"


def test_read_tools_answer_from_the_projects_data(live_flux: str, shop: Project) -> None:
    async def scenario(client: Client) -> dict:
        calls = {
            "list_events": {"period": "last_7d"},
            "list_metrics": {},
            "query_events": {"name": "user.signup", "period": "last_7d"},
            "unique": {"name": "user.signup", "measure": "unique", "period": "last_7d"},
            "by_plan": {"name": "user.signup", "period": "last_7d", "group_by": "tags.plan"},
            "value": {"name": "order.completed", "measure": "p95", "period": "last_7d"},
            "query_metric": {"name": "api.latency", "aggregation": "p95", "start": "-12h"},
            "funnel": {"steps": ["user.signup", "order.completed"], "period": "last_7d"},
            "compare_periods": {"name": "user.signup", "period": "last_7d"},
            "same_day_last_week": {"name": "api.latency", "period": "last_24h", "against": "week"},
            "signups_vs_yesterday": {"name": "user.signup", "period": "last_24h", "against": "day"},
            "explain_change": {"name": "user.signup", "period": "last_7d"},
            "list_anomalies": {},
            "get_dashboard": {"dashboard": "key-metrics"},
        }
        answers = {}
        for label, arguments in calls.items():
            tool = label if label in READ_TOOLS else "query_events"
            tool = "compare_periods" if label in ("same_day_last_week", "signups_vs_yesterday") else tool
            answers[label] = payload(await client.call_tool(tool, arguments))
        anomaly_id = answers["list_anomalies"]["anomalies"][0]["id"]
        answers["get_anomaly"] = payload(await client.call_tool("get_anomaly", {"anomaly_id": anomaly_id}))
        return answers

    answers = run(live_flux, issue_key(shop, "read").raw_key, scenario)
    assert [(item["name"], item["count"]) for item in answers["list_events"]["names"]] == [
        ("user.signup", 30), ("order.completed", 12),
    ]  # fmt: skip
    assert answers["list_metrics"]["metrics"][0]["name"] == "api.latency"
    assert answers["query_events"]["count"] == 30 and len(answers["query_events"]["points"]) <= 120
    assert answers["unique"]["unique"] == 7
    assert {group["key"] for group in answers["by_plan"]["groups"]} == {"pro", "free"}
    assert answers["value"]["measure"] == "p95" and answers["value"]["count"] == 12
    assert (
        answers["query_metric"]["summary"]["points"] == 120
        and len(answers["query_metric"]["series"][0]["points"]) <= 120
    )
    assert answers["funnel"]["steps"][0]["users"] == 7
    assert answers["compare_periods"]["text"].startswith("user.signup events") and answers["compare_periods"]["facts"]
    same_day = answers["same_day_last_week"]  # nothing a week ago: no baseline, no verdict
    assert (same_day["metric"], same_day["previous"], same_day["significant"]) == ("api.latency", None, None)
    yesterday = answers["signups_vs_yesterday"]
    assert yesterday["current"] > 3 * yesterday["previous"] > 0 and yesterday["significant"] is True  # ~23 vs ~7
    assert yesterday["p_value"] is not None
    explained = answers["explain_change"]  # two days of signups: no baseline, nothing to explain
    assert explained["verdict"] == "not_enough_data" and explained["drivers"] == []
    assert explained["text"].endswith("There is no change to explain.")
    assert answers["list_anomalies"]["anomalies"][0]["severity"] == "critical"
    assert answers["get_anomaly"]["kind"] == "spike" and len(answers["get_anomaly"]["context"]) <= 120
    assert {widget["type"] for widget in answers["get_dashboard"]["widgets"]} >= {"number", "graph", "table"}


def test_bad_arguments_come_back_as_tool_errors_naming_the_problem(live_flux: str, shop: Project) -> None:
    async def scenario(client: Client) -> list[str]:
        bad = [
            ("query_events", {"measure": "median"}),
            ("query_events", {"name": "user.signup", "start": "yesterday-ish"}),
            ("query_metric", {"name": "no.such.metric"}),
            ("query_metric", {"name": "api.latency", "aggregation": "sum"}),
            ("funnel", {"steps": ["only.one"]}),
            ("get_anomaly", {"anomaly_id": 999999}),
            ("get_dashboard", {"dashboard": "nope"}),
            ("compare_periods", {"name": "user.signup", "period": "fortnight"}),
            ("list_events", {"period": "sometime"}),
            ("explain_change", {"name": "user.signup", "period": "year"}),
            ("list_anomalies", {"status": "forgotten"}),
            ("query_events", {"name": "user.signup", "limit": "many"}),
        ]
        return [error_text(await client.call_tool(tool, arguments)) for tool, arguments in bad]

    messages = run(live_flux, issue_key(shop, "read").raw_key, scenario)
    assert "measure must be one of" in messages[0]
    assert "from" in messages[1]
    assert "No metric named 'no.such.metric'" in messages[2]
    assert "aggregation" in messages[3]
    assert "steps" in messages[4]
    assert "No anomaly 999999" in messages[5]
    assert "nope" in messages[6]
    assert "period must be one of last_24h, last_7d, last_30d" in messages[7]
    assert "period" in messages[8]
    assert "period must be one of last_24h, last_7d, last_30d" in messages[9]
    assert "status must be among" in messages[10]
    assert "limit" in messages[11]  # the SDK checks arguments against the tool's JSON schema


def test_admin_tools_write_and_a_read_key_cannot(live_flux: str, shop: Project) -> None:
    from anomalies.models import Anomaly
    from dashboards.models import Widget
    from events.models import Event

    anomaly = Anomaly.objects.get(project=shop)

    async def scenario(client: Client) -> tuple:
        acknowledged = payload(
            await client.call_tool("acknowledge_anomaly", {"anomaly_id": anomaly.pk, "note": "on it"})
        )
        widget = {"title": "Signups", "type": "number", "query": {"source": "events", "name": "user.signup"}}
        created = payload(
            await client.call_tool("create_dashboard_widget", {"dashboard": "key-metrics", "widget": widget})
        )
        bad_widget = error_text(await client.call_tool(
            "create_dashboard_widget", {"dashboard": "key-metrics", "widget": {"type": "gauge"}}))  # fmt: skip
        tracked = payload(
            await client.call_tool("track_event", {"name": "deploy.finished", "tags": {"service": "api"}})
        )
        annotated = payload(
            await client.call_tool("create_annotation", {"text": "Deploy v2", "tags": {"service": "api"}})
        )
        annotations = payload(await client.call_tool("list_annotations", {"period": "last_1d"}))
        return acknowledged, created, bad_widget, tracked, annotated, annotations

    acknowledged, created, bad_widget, tracked, annotated, annotations = run(
        live_flux, issue_key(shop, "admin").raw_key, scenario
    )
    assert (annotated["text"], annotated["tags"]) == ("Deploy v2", {"service": "api"})
    assert [item["id"] for item in annotations["annotations"]] == [annotated["id"]]
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_by"].startswith("API key")
    assert Widget.objects.filter(pk=created["id"], dashboard__project=shop).exists()
    assert "type" in bad_widget
    assert tracked["accepted"] == 1 and Event.objects.filter(project_id=shop.pk, name="deploy.finished").count() == 1

    async def read_key_tries(client: Client) -> str:
        return error_text(await client.call_tool("acknowledge_anomaly", {"anomaly_id": anomaly.pk}))

    async def admin_mistakes(client: Client) -> list[str]:
        return [
            error_text(await client.call_tool("acknowledge_anomaly", {"anomaly_id": 999999})),
            error_text(await client.call_tool("track_event", {"name": "not a\nvalid name"})),
        ]

    missing, bad_name = run(live_flux, issue_key(shop, "admin").raw_key, admin_mistakes)
    assert "No anomaly 999999" in missing and "name" in bad_name

    assert "acknowledge_anomaly" in run(live_flux, issue_key(shop, "read").raw_key, read_key_tries)


def test_another_projects_key_sees_nothing_of_this_one(live_flux: str, shop: Project) -> None:
    from anomalies.models import Anomaly

    other = create_project("Elsewhere", owner=User.objects.create_user("sam"))
    anomaly = Anomaly.objects.get(project=shop)

    async def scenario(client: Client) -> tuple:
        names = payload(await client.call_tool("list_events", {"period": "last_7d"}))
        missing = error_text(await client.call_tool("get_anomaly", {"anomaly_id": anomaly.pk}))
        return names, missing

    names, missing = run(live_flux, issue_key(other, "admin").raw_key, scenario)
    assert names["names"] == [] and f"No anomaly {anomaly.pk}" in missing


def test_answers_stay_small_however_long_the_range(live_flux: str, shop: Project) -> None:
    async def scenario(client: Client) -> dict:
        arguments = {"name": "user.signup", "start": "-90d", "group_by": "user_id", "interval": "auto", "limit": 50}
        return payload(await client.call_tool("query_events", arguments))

    answer = run(live_flux, issue_key(shop, "read").raw_key, scenario)
    assert len(json.dumps(answer)) <= 24_000
    assert all(len(group["points"]) <= 120 for group in answer["groups"])


def test_the_catalogue_resource_and_the_prompts(live_flux: str, shop: Project) -> None:
    async def scenario(client: Client) -> tuple:
        templates = await client.list_resource_templates()
        catalogue = await client.read_resource(f"flux://projects/{shop.slug}/catalogue")
        prompts = await client.list_prompts()
        investigate = await client.get_prompt("investigate_anomaly", {"anomaly_id": "7"})
        return templates, catalogue, prompts, investigate

    templates, catalogue, prompts, investigate = run(live_flux, issue_key(shop, "read").raw_key, scenario)
    assert [item.uri_template for item in templates.resource_templates] == ["flux://projects/{project}/catalogue"]
    content = json.loads(catalogue.contents[0].text)
    assert [item["name"] for item in content["events"]] == ["user.signup", "order.completed"]
    assert [item["name"] for item in content["metrics"]] == ["api.latency"]
    assert {prompt.name for prompt in prompts.prompts} == {"weekly_summary", "investigate_anomaly"}
    assert "anomaly 7" in investigate.messages[0].content.text


def test_another_projects_catalogue_is_refused_with_a_message_that_says_why(live_flux: str, shop: Project) -> None:
    async def scenario(client: Client) -> str:
        try:
            await client.read_resource("flux://projects/someone-else/catalogue")
        except MCPError as error:  # the server's JSON-RPC error
            return error.error.message
        return "read"

    refused = run(live_flux, issue_key(shop, "read").raw_key, scenario)
    assert refused == f"This key is for project '{shop.slug}', not 'someone-else'."
