import os
import subprocess
import sys
from pathlib import Path

import flux_sdk
import pytest
from flux_sdk.transport import parse_retry_after

SDK_ROOT = Path(__file__).resolve().parent.parent


class RecordingClient(flux_sdk.Client):
    """A client whose backoff waits are recorded instead of slept: the delay it chose is what is asserted."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.waits: list[float] = []

    def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def _pause(self, seconds: float) -> None:
        self.waits.append(seconds)


def ids_of(batch: dict) -> list[str]:
    return [item["id"] for items in batch.values() for item in items]


def test_events_and_the_four_metric_types_go_out_in_flux_s_batch_shape(make_client: object, capture: object) -> None:
    client = make_client(tags={"service": "shop"})
    client.track("Signed Up", properties={"plan": "pro"}, tags={"channel": "web"}, user_id=42, value=9.5,
                 session_id="s1")  # fmt: skip
    client.gauge("queue.depth", 7)
    client.counter("orders")
    client.distribution("latency_ms", 12.5, {"route": "/cart"})
    client.set("visitors", "u1")
    assert client.flush(timeout=10)

    [batch] = capture.batches
    [event] = batch["events"]
    assert {k: event[k] for k in ("name", "properties", "tags", "user_id", "value", "session_id")} == {
        "name": "Signed Up", "properties": {"plan": "pro"}, "tags": {"service": "shop", "channel": "web"},
        "user_id": "42", "value": 9.5, "session_id": "s1",
    }  # fmt: skip
    assert [(m["type"], m["name"], m["value"]) for m in batch["metrics"]] == [
        ("gauge", "queue.depth", 7), ("counter", "orders", 1), ("distribution", "latency_ms", 12.5),
        ("set", "visitors", "u1"),
    ]  # fmt: skip
    assert batch["metrics"][2]["tags"] == {"service": "shop", "route": "/cart"}
    assert len(set(ids_of(batch))) == 5
    assert all(isinstance(item["timestamp"], int) for items in batch.values() for item in items)


def test_batches_are_gzip_compressed_and_carry_the_key(make_client: object, capture: object) -> None:
    client = make_client(key="flux_in_secret")
    client.counter("orders")
    client.flush(timeout=10)
    assert capture.headers_seen[0]["Content-Encoding"] == "gzip"
    assert capture.headers_seen[0]["Authorization"] == "Bearer flux_in_secret"


def test_a_full_batch_is_sent_without_waiting_for_the_interval(make_client: object, capture: object) -> None:
    client = make_client(batch_size=2)
    for number in range(4):
        client.counter("orders", number)
    batches = capture.wait_for_batches(2)
    assert [len(batch["metrics"]) for batch in batches] == [2, 2]


def test_a_partial_batch_is_sent_once_the_interval_passes(make_client: object, capture: object) -> None:
    client = make_client(flush_interval=0.05)
    client.counter("orders")
    assert len(capture.wait_for_batches(1)) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_honours_retry_after_and_sends_the_same_ids(capture: object, status: int) -> None:
    capture.scripted = [(status, {"Retry-After": "3"})]
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600)
    client.track("Signed Up")
    client.counter("orders")
    assert client.flush(timeout=10)
    first, second = capture.batches
    assert ids_of(first) == ids_of(second)
    assert client.waits == [3.0]
    assert (client.stats.retries, client.stats.sent, client.stats.dropped_failed) == (1, 2, 0)


def test_without_retry_after_the_backoff_grows(capture: object) -> None:
    capture.scripted = [(503, {}), (503, {}), (503, {})]
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600, backoff=1.0)
    client.counter("orders")
    client.flush(timeout=10)
    first, second, third = client.waits  # 1 s, 2 s, 4 s, each with up to half taken off at random
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0
    assert len(capture.batches) == 4


def test_past_the_last_retry_a_batch_waits_in_the_buffer_and_is_sent_once_flux_is_back(capture: object) -> None:
    """A Flux restart of about a minute lost 398 of 2,180 items while the buffer was nearly empty."""
    capture.scripted = [(503, {"Retry-After": "0"})] * 3
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600, max_retries=2, max_backoff=30)
    client.counter("orders")
    client.counter("orders")
    assert client.flush(timeout=10)
    assert (client.stats.requests, client.stats.dropped_failed, client.stats.sent) == (4, 0, 2)
    assert client.waits == [0.0, 0.0, 30]  # two retries, then the longest backoff before sending it again
    assert ids_of(capture.batches[0]) == ids_of(capture.batches[3])


def test_a_batch_requeued_keeps_only_what_the_buffer_has_room_for(capture: object) -> None:
    capture.scripted = [(503, {"Retry-After": "0"})] * 2
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600, max_retries=1, max_buffer=3)
    for number in range(3):
        client.counter("orders", number)
    client._sleep = lambda seconds: client.counter("orders", 3)  # an item arrives while Flux is away
    assert client.flush(timeout=10)
    assert [metric["value"] for metric in capture.batches[-1]["metrics"]] == [1, 2, 3]
    assert client.stats.dropped_buffer_full == 1  # the oldest, as when the buffer is full


def test_at_exit_a_batch_is_dropped_and_counted_after_the_last_retry(capture: object) -> None:
    capture.scripted = [(503, {"Retry-After": "0"})] * 3
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600, max_retries=2)
    client.counter("orders")
    client.counter("orders")
    client.close(timeout=10)
    assert (client.stats.requests, client.stats.dropped_failed, client.stats.sent) == (3, 2, 0)


def test_a_batch_too_large_for_flux_is_sent_in_halves(capture: object) -> None:
    capture.scripted = [(413, {})]
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600)
    for number in range(3):
        client.counter("orders", number)
    assert client.flush(timeout=10)
    assert [len(batch["metrics"]) for batch in capture.batches] == [3, 1, 2]
    assert (client.stats.sent, client.stats.dropped_failed) == (3, 0)


def test_text_is_sent_as_utf_8_not_escaped_to_ascii(capture: object) -> None:
    """Escaped, each CJK character took six bytes where Flux's limits count three: 100 valid events made a
    body over 5 MB."""
    client = RecordingClient("flux_in_test", capture.url, flush_interval=3600, compress=False)
    client.track("note", properties={"text": "注" * 1000})
    assert client.flush(timeout=10)
    assert 3000 <= int(capture.headers_seen[0]["Content-Length"]) < 4000


def test_a_refused_batch_is_not_retried(make_client: object, capture: object) -> None:
    capture.scripted = [(401, {})]
    client = make_client()
    client.counter("orders")
    client.flush(timeout=10)
    assert (client.stats.requests, client.stats.dropped_failed) == (1, 1)


def test_a_full_buffer_drops_the_oldest_items_and_counts_them(make_client: object, capture: object) -> None:
    client = make_client(max_buffer=3)
    for number in range(5):
        client.counter("orders", number)
    assert client.stats.dropped_buffer_full == 2
    client.flush(timeout=10)
    assert [metric["value"] for metric in capture.batches[0]["metrics"]] == [2, 3, 4]


def test_items_added_after_close_are_counted_as_dropped(make_client: object, capture: object) -> None:
    client = make_client()
    client.counter("orders")
    client.close()
    client.counter("orders")
    assert len(capture.batches) == 1
    assert client.stats.dropped_closed == 1


def test_a_forked_child_sends_its_own_items_and_not_its_parent_s(make_client: object, capture: object) -> None:
    client = make_client()
    client.track("queued before the fork")
    pid = os.fork()
    if pid == 0:  # the child: a fresh buffer and thread; the parent's queued item is the parent's to send
        client.track("from the child")
        ok = client.flush(timeout=10) and client.stats.sent == 1
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.flush(timeout=10)
    names = sorted(event["name"] for batch in capture.batches for event in batch["events"])
    assert names == ["from the child", "queued before the fork"]


def test_what_is_queued_is_sent_at_exit(capture: object) -> None:
    script = (
        "import flux_sdk\n"
        f"flux_sdk.init('flux_in_test', {capture.url!r}, flush_interval=3600)\n"
        "flux_sdk.track('Exited', user_id='u1')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SDK_ROOT)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=30)  # noqa: S603 - our own script
    assert [event["name"] for event in capture.batches[0]["events"]] == ["Exited"]


def test_the_module_level_functions_use_the_client_init_made(capture: object) -> None:
    client = flux_sdk.init("flux_in_test", capture.url, flush_interval=3600)
    try:
        flux_sdk.track("Signed Up", user_id="u1")
        flux_sdk.gauge("g", 1)
        flux_sdk.counter("c")
        flux_sdk.distribution("d", 2)
        flux_sdk.set("s", "m")
        assert flux_sdk.flush(timeout=10)
    finally:
        flux_sdk.close()
        flux_sdk._client = None
    assert client.stats.sent == 5
    assert [metric["type"] for metric in capture.batches[0]["metrics"]] == ["gauge", "counter", "distribution", "set"]


def test_retry_after_may_be_an_http_date() -> None:
    assert parse_retry_after("Sun, 06 Dec 2026 10:00:30 GMT", now=1796551200.0) == 30.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
