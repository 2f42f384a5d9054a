"""A tool argument that makes a path no endpoint answers (a negative id, a reference with a slash) comes
back as a tool error with the API's own 404 message, as over HTTP, not as an unexplained failure; one the
API refuses over HTTP before any view (a NUL character) is refused the same way."""

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from flux.mcp import tools
from flux.mcp.internal_api import Caller
from flux.tenants.queries import get_key_by_raw


@pytest.mark.django_db(transaction=True)  # tool calls close the thread's connection, as MCP worker threads need
@pytest.mark.parametrize(
    ("tool", "arguments", "path"),
    [
        ("get_anomaly", {"anomaly_id": -1}, "/api/v1/anomalies/-1"),
        ("acknowledge_anomaly", {"anomaly_id": -1}, "/api/v1/anomalies/-1/acknowledge"),
        ("get_dashboard", {"dashboard": "a/b"}, "/api/v1/dashboards/a/b"),
    ],
)
def test_an_argument_no_endpoint_answers_is_a_tool_error_naming_the_path(
    keys: dict, tool: str, arguments: dict, path: str
) -> None:
    caller = Caller.for_key(get_key_by_raw(keys["admin"]))
    with pytest.raises(ToolError, match=f"No API endpoint at {path}"):
        getattr(tools, tool)(caller, **arguments)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("list_anomalies", {"name": "user.\x00"}), ("query_events", {"name": "a\x00", "period": "last_7d"})],
)
def test_a_nul_character_in_an_argument_is_the_apis_400_not_an_internal_error(
    keys: dict, tool: str, arguments: dict
) -> None:
    caller = Caller.for_key(get_key_by_raw(keys["read"]))
    with pytest.raises(ToolError, match="contains a NUL character"):
        getattr(tools, tool)(caller, **arguments)


@pytest.mark.django_db(transaction=True)
def test_a_tool_call_from_a_worker_thread_gives_its_database_connection_back(keys: dict) -> None:
    """The MCP server runs tools in worker threads that outlive the request: each kept its pooled connection,
    and seven calls at once left every request of the web process answering 503."""
    import threading

    from django.db import connection
    from starlette.datastructures import Headers

    from flux.mcp.server import caller_from_headers

    still_open: list[bool] = []

    def one_call() -> None:
        caller = caller_from_headers(Headers({"authorization": f"Bearer {keys['read']}"}))
        still_open.append(connection.connection is not None)
        tools.list_metrics(caller)
        still_open.append(connection.connection is not None)

    worker = threading.Thread(target=one_call)
    worker.start()
    worker.join(timeout=60)
    assert still_open == [False, False]


@pytest.mark.django_db(transaction=True)
def test_a_metric_whose_name_holds_a_hash_or_a_question_mark_is_queried(keys: dict, project: object) -> None:
    """The name went into the path as it is: "checkout #1" was cut at the "#" ("Unknown parameter interval")."""
    from datetime import UTC, datetime, timedelta

    from metrics.tests.factories import insert_point, make_series

    for name in ("checkout #1", "why?"):
        insert_point(make_series(project, name), datetime.now(UTC) - timedelta(hours=1), 4.0)
        answer = tools.query_metric(Caller.for_key(get_key_by_raw(keys["read"])), name, period="last_24h")
        assert answer["name"] == name and answer["summary"]["last"] == 4.0
        assert answer["summary"]["covers"] == "the whole metric"


@pytest.mark.django_db(transaction=True)
def test_no_events_of_a_name_never_seen_says_so_and_offers_the_close_ones(keys: dict, project: object) -> None:
    """Asked for `user.signup` where the project sends `signup`, the answer read as zero signups."""
    from datetime import UTC, datetime, timedelta

    from events.tests.factories import insert_event

    insert_event(project, datetime.now(UTC) - timedelta(hours=1), "signup")
    caller = Caller.for_key(get_key_by_raw(keys["read"]))
    guessed = tools.query_events(caller, name="user.signup", period="last_24h")
    assert (
        guessed["count"] == 0
        and guessed["note"] == "No event named 'user.signup' in the last 90 days; did you mean signup?"
    )
    assert "note" not in tools.query_events(caller, name="signup", period="last_24h")
