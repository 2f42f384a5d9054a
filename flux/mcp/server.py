"""The MCP servers: one per key kind, each offering only the tools that kind may use (an ingest key only
`track_event` and `create_annotation`; a read key the read tools; an admin key everything). The tools themselves are in
flux.mcp.tools; here they get their JSON schemas, descriptions and the caller of each request."""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated, Any

from django.db import connection
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from flux.mcp import tools
from flux.mcp.internal_api import Caller
from flux.tenants.queries import get_key_by_raw
from flux.web.auth import raw_key_from_headers

INSTRUCTIONS = """Flux holds this project's own business metrics: events (something happened, e.g.
user.signup, with tags, user_id and value) and metrics (gauges, counters, distributions, sets), plus the
anomalies Flux found in them. Start with list_events / list_metrics to learn the names. Times are ISO 8601,
epoch milliseconds, 'now' or relative like -7d; periods are today, yesterday, week, month, last_7d, last_30d
and the like. Numbers and sentences from compare_periods and explain_change are computed by Flux: quote them."""

READ = {"readOnlyHint": True, "openWorldHint": False}
WRITE = {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False}

Name = Annotated[str, Field(description="An event name (exact, or a glob like user.*) or a metric name.")]
EventName = Annotated[str, Field(description="An event name, exact or a glob like user.* (metrics: query_metric).")]
Start = Annotated[str | None, Field(description="Range start: ISO 8601, epoch ms, or relative like -7d.")]
End = Annotated[str | None, Field(description="Range end (default now).")]
Period = Annotated[
    str | None,
    Field(
        description="A named range instead of start/end: today, yesterday, week, last_week, month, last_month, "
        "year (calendar, in the project's time zone), last_24h, last_7d, last_30d, last_90d (rolling). Without "
        "start, end or period: the last 24 hours."
    ),
]
Interval = Annotated[
    str | None, Field(description="Bucket length (1m … 1mo); default: the finest giving at most 120 points.")
]
Filters = Annotated[dict[str, str] | None, Field(description='Tag filters, e.g. {"plan": "pro"}.')]
Measure = Annotated[
    str, Field(description="count, unique (of `field`), or sum/avg/min/max/p50/p90/p95/p99 of the events' value")
]
Aggregation = Annotated[
    str | None,
    Field(
        description="gauge: last/avg/min/max; counter: sum/rate; distribution: avg/count/min/max/p50…p999; "
        "set: unique. Default by type."
    ),
]
EventGroupBy = Annotated[str | None, Field(description="name, user_id, tags.<key> or properties.<key>")]
UniqueField = Annotated[str, Field(description="For unique: user_id, session_id or tags.<key>")]
Dashboard = Annotated[str, Field(description="The dashboard's slug or id")]
WidgetConfig = Annotated[
    dict[str, Any],
    Field(
        description='{"title", "type": number|graph|bar|pie|table|heatmap, "query": {"source": "events"|"metric", '
        '"name", "aggregation", "filters", "group_by", "interval"}, "display": {…}, "position": {"x", "y", "w", "h"}}'
    ),
]
Statuses = Annotated[str, Field(description="open, acknowledged, resolved (comma-separated)")]


def caller_from_headers(headers: Any) -> Caller | None:
    """The caller a request's `Authorization: Bearer <key>` (or `X-API-Key`) names; None if no usable key."""
    raw_key = raw_key_from_headers(SimpleNamespace(headers=headers)) if headers is not None else None
    try:
        api_key = get_key_by_raw(raw_key) if raw_key else None
        if api_key is None or api_key.is_revoked or api_key.project.archived:
            return None
        return Caller.for_key(api_key)
    finally:
        connection.close()  # looked up from threads that outlive the request (flux.mcp.internal_api.call)


def build_server(kind: str, resolve: Callable[[Context], Caller | None]) -> MCPServer:
    """The server for one key kind; `resolve` finds each request's caller (from its headers, or fixed)."""
    server = MCPServer(name="flux", title="Flux", instructions=INSTRUCTIONS, version="1")

    def caller(ctx: Context) -> Caller:
        found = resolve(ctx)
        if found is None:
            raise ToolError("No valid Flux API key on this request.")
        if found.kind != kind and found.kind != "admin":
            raise ToolError(f"A {found.kind} key cannot use this tool.")
        return found

    def tool(hints: dict) -> Callable:
        return server.tool(annotations=ToolAnnotations(**hints))

    if kind in ("read", "admin"):
        register_read_tools(server, caller, tool)
        register_resources_and_prompts(server, caller)
    if kind == "admin":
        register_write_tools(server, caller, tool)
    if kind in ("ingest", "admin"):

        @tool(WRITE)
        def track_event(
            name: Annotated[str, Field(description="Event name, e.g. deploy.finished")],
            ctx: Context,
            properties: dict[str, Any] | None = None,
            tags: dict[str, str] | None = None,
            user_id: str | None = None,
            value: float | None = None,
            timestamp: Annotated[str | None, Field(description="ISO 8601; default now")] = None,
        ) -> dict:
            """Record one event in Flux (for example an annotation such as a deploy or a campaign start)."""
            return tools.track_event(caller(ctx), name, properties, tags, user_id, value, timestamp)

        @tool(WRITE)
        def create_annotation(
            text: Annotated[str, Field(description="What happened, e.g. Deploy v2.3.1")],
            ctx: Context,
            time: Annotated[str | None, Field(description="ISO 8601; default now")] = None,
            time_end: Annotated[str | None, Field(description="ISO 8601 end, for a range such as a campaign")] = None,
            tags: dict[str, str] | None = None,
        ) -> dict:
            """Mark a deploy, campaign or incident: drawn on every graph of the project's dashboards."""
            return tools.create_annotation(caller(ctx), text, time, time_end, tags)

    return server


def register_read_tools(server: MCPServer, caller: Callable[[Context], Caller], tool: Callable) -> None:
    @tool(READ)
    def list_events(ctx: Context, period: str = "last_30d", limit: int = 50) -> dict:
        """The event names seen in a period, busiest first, with their count, last seen time and tag keys."""
        return tools.list_events(caller(ctx), period, limit)

    @tool(READ)
    def list_annotations(ctx: Context, start: Start = None, end: End = None, period: Period = "last_30d") -> dict:
        """Annotations (deploys, campaigns, incidents) in a range: what may explain a change."""
        return tools.list_annotations(caller(ctx), start, end, period)

    @tool(READ)
    def list_metrics(ctx: Context) -> dict:
        """Every metric: type (gauge, counter, distribution, set), series, tag keys and values, last seen."""
        return tools.list_metrics(caller(ctx))

    @tool(READ)
    def query_events(
        ctx: Context,
        name: EventName | None = None,
        measure: Measure = "count",
        start: Start = None,
        end: End = None,
        period: Period = None,
        interval: Interval = None,
        filters: Filters = None,
        group_by: EventGroupBy = None,
        limit: Annotated[int, Field(description="With group_by: how many groups (at most 50)")] = 10,
        field: UniqueField = "user_id",
    ) -> dict:
        """Count events, count unique users (or another field), or take statistics of their value, over a
        range, per interval and/or grouped (the largest groups, then __other__)."""
        return tools.query_events(
            caller(ctx), measure, name, start, end, period, interval, filters, group_by, limit, field
        )

    @tool(READ)
    def query_metric(
        ctx: Context,
        name: Annotated[str, Field(description="The metric's name")],
        aggregation: Aggregation = None,
        start: Start = None,
        end: End = None,
        period: Period = None,
        interval: Interval = None,
        filters: Filters = None,
        group_by: Annotated[str | None, Field(description="A tag key")] = None,
        limit: Annotated[int, Field(description="With group_by: how many series (at most 20)")] = 10,
    ) -> dict:
        """A metric aggregated per interval (one series, or one per tag value), with its summary."""
        return tools.query_metric(
            caller(ctx), name, aggregation, start, end, period, interval, filters, group_by, limit
        )

    @tool(READ)
    def compare_periods(
        ctx: Context,
        name: Name,
        period: Annotated[
            str, Field(description="last_24h, last_7d or last_30d (rolling, ending now; not calendar periods)")
        ] = "last_7d",
        against: Annotated[
            str,
            Field(
                description="previous (the stretch just before), or the same stretch a day, week, month or year back"
            ),
        ] = "previous",
        kind: Annotated[str | None, Field(description="event or metric, when a name is both")] = None,
    ) -> dict:
        """How an event or metric changed: absolute and percent change, whether it is statistically
        meaningful, when it started, and a sentence with the numbers (computed by Flux: quote it)."""
        return tools.compare_periods(caller(ctx), name, period, against, kind)

    @tool(READ)
    def explain_change(
        ctx: Context,
        name: Name,
        period: Annotated[str, Field(description="last_24h, last_7d or last_30d (rolling, ending now)")] = "last_7d",
        kind: Annotated[str | None, Field(description="event or metric, when a name is both")] = None,
    ) -> dict:
        """Why an event or metric changed: when the change started and which tag values drive it."""
        return tools.explain_change(caller(ctx), name, period, kind)

    @tool(READ)
    def funnel(
        ctx: Context,
        steps: Annotated[list[str], Field(description="2 to 10 event names, in order")],
        start: Start = None,
        end: End = None,
        period: Period = None,
        window: Annotated[str, Field(description="Time allowed from the first step, e.g. 1h, 7d")] = "7d",
        group_by: Annotated[str | None, Field(description="A field of the first step's event")] = None,
    ) -> dict:
        """Conversion between ordered steps: users who did each step after the previous one."""
        return tools.funnel(caller(ctx), steps, start, end, period, window, group_by)

    @tool(READ)
    def list_anomalies(
        ctx: Context,
        status: Statuses = "open,acknowledged",
        severity: Annotated[str | None, Field(description="info, warning or critical (comma-separated)")] = None,
        kind: Annotated[
            str | None, Field(description="spike, drop, level_shift, flatline, trend_change or threshold")
        ] = None,
        name: Name | None = None,
        limit: Annotated[int, Field(description="At most 50")] = 20,
    ) -> dict:
        """Anomalies Flux found (spikes, drops, level shifts, flatlines, trend changes), newest first."""
        return tools.list_anomalies(caller(ctx), status, severity, kind, name, limit)

    @tool(READ)
    def get_anomaly(ctx: Context, anomaly_id: int) -> dict:
        """One anomaly: what, when, expected vs actual, the explanation, and its series around it."""
        return tools.get_anomaly(caller(ctx), anomaly_id)

    @tool(READ)
    def get_dashboard(ctx: Context, dashboard: Dashboard) -> dict:
        """A dashboard's widgets with their current data."""
        return tools.get_dashboard(caller(ctx), dashboard)


def register_write_tools(server: MCPServer, caller: Callable[[Context], Caller], tool: Callable) -> None:
    @tool(WRITE)
    def acknowledge_anomaly(ctx: Context, anomaly_id: int, note: str = "") -> dict:
        """Acknowledge an anomaly (someone is on it; reminders stop), with an optional note."""
        return tools.acknowledge_anomaly(caller(ctx), anomaly_id, note)

    @tool(WRITE)
    def create_dashboard_widget(ctx: Context, dashboard: Dashboard, widget: WidgetConfig) -> dict:
        """Add a widget to a dashboard; a bad config is refused with the field named."""
        return tools.create_dashboard_widget(caller(ctx), dashboard, widget)


def register_resources_and_prompts(server: MCPServer, caller: Callable[[Context], Caller]) -> None:
    @server.resource("flux://projects/{project}/catalogue", name="catalogue", mime_type="application/json")
    def catalogue(project: str, ctx: Context) -> dict:
        """The project's event names (last 30 days) and metrics: what there is to ask about."""
        try:  # a resource's own errors reach the client only as ResourceError ("Error creating resource" else)
            found = caller(ctx)
            if project != found.project.slug:
                raise ToolError(f"This key is for project {found.project.slug!r}, not {project!r}.")
            return {"project": found.project.slug, "events": tools.list_events(found)["names"],
                    "metrics": tools.list_metrics(found)["metrics"]}  # fmt: skip
        except ToolError as error:
            raise ResourceError(str(error)) from None

    @server.prompt(name="weekly_summary", title="Weekly summary")
    def weekly_summary() -> str:
        """Summarise the project's week: movers, anomalies, new names, with Flux's own numbers."""
        return (
            "Write a short weekly summary of this Flux project for its team. Call list_events and list_metrics "
            "to see what exists, compare_periods with period=last_7d for the busiest events and metrics, and "
            "list_anomalies for what Flux found this week (get_anomaly for the critical ones). Quote the numbers "
            "and sentences the tools return instead of computing your own; say when a change is not significant."
        )

    @server.prompt(name="investigate_anomaly", title="Investigate an anomaly")
    def investigate_anomaly(anomaly_id: str) -> str:
        """Walk through one anomaly: what happened, since when, what drives it, what to check next."""
        return (
            f"Investigate Flux anomaly {anomaly_id}. Call get_anomaly for what happened, when it started and "
            "the expected band; use its explanation (which tag values carry the change), then query_events or "
            "query_metric around the start to confirm, and explain_change on the series. Finish with what is "
            "known, what is not, and what to check next; acknowledge_anomaly only if asked."
        )
