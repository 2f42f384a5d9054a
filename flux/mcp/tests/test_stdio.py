"""The MCP server over stdio (`python manage.py mcp`), driven by the `mcp` SDK's client as a desktop
assistant would launch it."""

import html
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client as DjangoClient
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from events.tests.factories import insert_event
from flux.mcp.tests.helpers import error_text, payload
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    project = create_project("Shop", owner=User.objects.create_user("olivia"))
    for hours in range(1, 6):
        insert_event(project, datetime.now(UTC) - timedelta(hours=hours), "user.signup", user_id=f"u{hours}")
    return project


def launched(*arguments: str) -> Client:
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    return Client(
        StdioServerParameters(command=sys.executable, args=["manage.py", "mcp", *arguments], env=env, cwd=ROOT)
    )


def run(client: Client, scenario: object) -> object:
    async def main() -> object:
        async with client:
            return await scenario(client)

    return anyio.run(main)


def test_a_key_gives_its_kinds_tools_over_stdio(shop: Project) -> None:
    async def scenario(client: Client) -> tuple:
        names = {tool.name for tool in (await client.list_tools()).tools}
        events = await client.call_tool("list_events", {"period": "last_7d"})
        refused = await client.call_tool("query_events", {"measure": "median"})
        return names, events, refused

    names, events, refused = run(launched("--key", issue_key(shop, "read").raw_key), scenario)
    assert "list_events" in names and "track_event" not in names
    first = payload(events)["names"][0]
    assert (first["name"], first["count"]) == ("user.signup", 5)
    assert "measure must be one of" in error_text(refused)


def test_a_project_slug_acts_as_its_owner_and_records_who(shop: Project) -> None:
    async def scenario(client: Client) -> tuple:
        names = {tool.name for tool in (await client.list_tools()).tools}
        tracked = await client.call_tool("track_event", {"name": "note.added", "properties": {"text": "hello"}})
        return names, tracked

    names, tracked = run(launched("--project", shop.slug), scenario)
    assert {"acknowledge_anomaly", "track_event", "list_events"} <= names
    assert payload(tracked)["accepted"] == 1

    read_only = run(launched("--project", shop.slug, "--read-only"), lambda client: client.list_tools())
    assert "track_event" not in {tool.name for tool in read_only.tools}


def test_the_setup_pages_stdio_configuration_works_as_pasted(shop: Project) -> None:
    # It used to ask for "this server's SECRET_KEY" and leave a DATABASE_URL placeholder; run it with
    # nothing but what it shows (no DEBUG, no SECRET_KEY), from another folder, as an assistant would.
    browser = DjangoClient()
    browser.force_login(User.objects.get(username="olivia"))
    page = browser.get(f"/p/{shop.slug}/setup/").content.decode()
    shown = json.loads(html.unescape(re.search(r'<code id="mcp-stdio">(.*?)</code>', page, re.DOTALL).group(1)))
    (server,) = shown["mcpServers"].values()
    assert "PASSWORD" not in json.dumps(server)  # this test server has no password to hide
    env = {"PATH": os.environ["PATH"], **server["env"]}
    client = Client(StdioServerParameters(command=server["command"], args=server["args"], env=env, cwd="/"))

    async def scenario(client: Client) -> tuple:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        return tools, await client.call_tool("list_events", {"period": "last_7d"})

    tools, events = run(client, scenario)
    assert {"list_events", "track_event"} <= tools  # --project acts with an owner's rights
    first = payload(events)["names"][0]
    assert (first["name"], first["count"]) == ("user.signup", 5)
