"""The unmodified `statsd` and `datadog` clients sending to a real UDP listener; what is stored is read back."""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import statsd
from datadog.dogstatsd import DogStatsd
from django.db import connection

from flux.ingestion import outcomes
from flux.statsd.aggregate import Aggregator, Counts
from flux.statsd.server import NoProject, flush_safely, flush_window, open_listener, project_for_key
from flux.tenants.models import Project
from flux.tenants.services import issue_key, revoke_key, set_archived
from flux.web.ratelimit import check_ingest_rate


class RunningListener:
    """The listener's socket on its own event loop thread; the test flushes on its own thread (its database)."""

    def __init__(self) -> None:
        self.aggregator = Aggregator()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(open_listener(self.aggregator, "127.0.0.1", 0), self.loop)
        self.transport, sock = future.result(timeout=10)
        self.port = sock.getsockname()[1]

    def lines_received(self) -> int:
        with self.aggregator.lock:
            return self.aggregator.window.counts.lines

    def flush(self, project: Project, lines: int) -> None:
        """Once `lines` lines arrived (UDP on loopback: they do), write the window like a flush would."""
        deadline = time.monotonic() + 10
        while self.lines_received() < lines and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.lines_received() == lines
        flush_window(project, self.aggregator.take())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.transport.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def listener() -> Iterator[RunningListener]:
    running = RunningListener()
    yield running
    running.stop()


def stored_points(project: Project) -> dict[tuple[str, tuple], list]:
    """(name, sorted tags) -> sorted stored values (set members for sets)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.name, s.tags::text, p.value, p.member FROM metrics_point p
            JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
            JOIN metrics_metric m ON m.id = s.metric_id
            WHERE p.project_id = %s
            """,
            [project.pk],
        )
        found: dict[tuple[str, tuple], list] = {}
        for name, tags, value, member in cursor.fetchall():
            key = (name, tuple(sorted(json.loads(tags).items())))
            found.setdefault(key, []).append(member if member is not None else value)
    return {key: sorted(values) for key, values in found.items()}


def metric_types(project: Project) -> dict[str, str]:
    return dict(project.metrics.values_list("name", "type"))


def send_raw(port: int, packet: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(packet, ("127.0.0.1", port))


def test_the_statsd_client_s_counters_gauges_timers_and_sets_are_stored(
    listener: RunningListener, project: Project
) -> None:
    client = statsd.StatsClient("127.0.0.1", listener.port, prefix="shop")
    client.incr("orders")
    client.incr("orders", 3)
    client.decr("orders")
    client.gauge("queue", 10)
    client.gauge("queue", 5, delta=True)
    client.gauge("queue", -3, delta=True)
    client.timing("latency", 120)
    client.timing("latency", 80)
    for visitor in ("u1", "u2", "u1"):
        client.set("visitors", visitor)
    with client.pipeline() as pipe:  # one packet, two lines
        pipe.incr("pipelined")
        pipe.incr("pipelined")

    listener.flush(project, lines=13)

    assert stored_points(project) == {
        ("shop.orders", ()): [3.0],
        ("shop.queue", ()): [12.0],
        ("shop.latency", ()): [80.0, 120.0],
        ("shop.visitors", ()): ["u1", "u2"],
        ("shop.pipelined", ()): [2.0],
    }
    assert metric_types(project) == {
        "shop.orders": "counter", "shop.queue": "gauge", "shop.latency": "distribution", "shop.visitors": "set",
        "shop.pipelined": "counter",
    }  # fmt: skip


def test_the_datadog_client_s_tagged_metrics_are_stored_and_its_events_ignored(
    listener: RunningListener, project: Project
) -> None:
    client = DogStatsd(host="127.0.0.1", port=listener.port, disable_telemetry=True, constant_tags=["app:shop"])
    client.increment("dd.orders", tags=["region:eu"])
    client.increment("dd.orders", tags=["region:eu"])
    client.increment("dd.orders", 5, tags=["region:us"])
    client.decrement("dd.orders", tags=["region:us"])
    client.gauge("dd.queue", 7, tags=["env:prod"])
    client.histogram("dd.size", 10)
    client.distribution("dd.latency", 42.5, tags=["route:/cart"])
    client.timing("dd.timer", 15)
    client.set("dd.users", "alice")
    client.event("Deploy", "v2 is out")
    client.service_check("db.up", 0)

    listener.flush(project, lines=11)

    assert stored_points(project) == {
        ("dd.orders", (("app", "shop"), ("region", "eu"))): [2.0],
        ("dd.orders", (("app", "shop"), ("region", "us"))): [4.0],
        ("dd.queue", (("app", "shop"), ("env", "prod"))): [7.0],
        ("dd.size", (("app", "shop"),)): [10.0],
        ("dd.latency", (("app", "shop"), ("route", "/cart"))): [42.5],
        ("dd.timer", (("app", "shop"),)): [15.0],
        ("dd.users", (("app", "shop"),)): ["alice"],
    }
    assert metric_types(project)["dd.size"] == "distribution"


def test_sample_rates_scale_counters(listener: RunningListener, project: Project) -> None:
    send_raw(listener.port, b"sampled:1|c|@0.1\nsampled:1|c|@0.1")
    listener.flush(project, lines=2)
    assert stored_points(project) == {("sampled", ()): [20.0]}


def test_bad_lines_are_counted_in_ingestion_health_and_the_listener_keeps_going(
    listener: RunningListener, project: Project
) -> None:
    send_raw(listener.port, b"garbage\nok:1|c\nok:what|c")
    send_raw(listener.port, b"\xff\xfe:1|x")
    send_raw(listener.port, b"ok:2|c")

    listener.flush(project, lines=5)

    assert stored_points(project) == {("ok", ()): [3.0]}
    health = outcomes.health(project.pk)
    assert health.last_hour["rejected_items"] == 3
    assert health.last_hour["accepted"] == 1
    assert {rejection["kind"] for rejection in health.recent_rejections} == {"statsd"}
    assert "unknown type 'x'" in " ".join(error for r in health.recent_rejections for error in r["errors"])


def test_a_line_flux_cannot_store_is_rejected_alone(listener: RunningListener, project: Project) -> None:
    send_raw(listener.port, b"typed:1|c\ntyped:2|g\nfine:1|g")
    listener.flush(project, lines=3)
    assert stored_points(project) == {("typed", ()): [1.0], ("fine", ()): [1.0]}
    health = outcomes.health(project.pk)
    assert health.last_hour["rejected_items"] == 1
    [rejection] = health.recent_rejections
    assert (rejection["kind"], rejection["index"]) == ("statsd", None)
    assert rejection["errors"] == ["typed: metric 'typed' is a counter; this point is a gauge"]


def test_the_listener_needs_a_live_ingest_key(project: Project) -> None:
    assert project_for_key(issue_key(project, "ingest").raw_key) == project
    with pytest.raises(NoProject, match="read key"):
        project_for_key(issue_key(project, "read").raw_key)
    with pytest.raises(NoProject, match="not set"):
        project_for_key("")
    with pytest.raises(NoProject, match="not a live"):
        project_for_key("flux_nope")


def test_a_flush_over_the_project_s_rate_limit_is_dropped_and_reported(
    listener: RunningListener, project: Project, settings: object
) -> None:
    settings.FLUX_INGEST_ITEMS_PER_SECOND, settings.FLUX_INGEST_BURST_ITEMS = 1, 1000
    check_ingest_rate(project.pk, 1000)  # empties the bucket: 500 more items would need 500 s
    send_raw(listener.port, b"\n".join(f"c{number}:1|c".encode() for number in range(500)))
    listener.flush(project, lines=500)
    assert stored_points(project) == {}
    health = outcomes.health(project.pk)
    assert health.last_hour["rejected_requests"] == 1
    assert "500 points of one flush were dropped" in health.recent_rejections[0]["errors"][0]


def test_each_flush_checks_the_key_again(project: Project) -> None:
    issued = issue_key(project, "ingest")
    aggregator = Aggregator()
    aggregator.add_packet(b"kept:1|c")
    assert flush_safely(issued.raw_key, aggregator.take(), Counts()).accepted == 1
    set_archived(project, True)
    aggregator.add_packet(b"dropped:1|c")
    assert flush_safely(issue_key(project, "ingest").raw_key, aggregator.take(), Counts()).accepted == 0
    set_archived(project, False)
    revoked = issue_key(project, "ingest")
    revoke_key(revoked.api_key)
    aggregator.add_packet(b"dropped:1|c")
    assert flush_safely(revoked.raw_key, aggregator.take(), Counts()).accepted == 0
    assert stored_points(project) == {("kept", ()): [1.0]}


def test_the_totals_add_up_counts_and_keep_their_last_warning_time() -> None:
    """Added up with the counts, the last warning's time fell by 1e9 a flush: the "at most one a minute" warning
    came every flush, and the minute's log line carried `warned_at=-451000000000.0`."""
    totals = Counts(warned_at=100.0)
    totals.add(Counts(packets=2, lines=3))
    totals.add(Counts(packets=1, lines=1))
    assert (totals.packets, totals.lines, totals.warned_at) == (3, 4, 100.0)
    assert "warned_at" not in repr(totals)
