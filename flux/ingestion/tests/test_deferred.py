"""Work taken off the ingestion request path: collected per process, handed over in batches."""

import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from flux.ingestion.services import ingest
from flux.tenants.models import Project
from flux.web import realtime
from flux.web.deferred import DeferredBatches


def test_entries_added_by_several_requests_are_flushed_as_one_batch() -> None:
    batches: list[list[int]] = []
    deferred = DeferredBatches("test", batches.append, interval=3600)  # the thread never flushes first
    for entry in (1, 2, 3):
        deferred.add(entry)
    deferred.flush_now()
    deferred.flush_now()  # nothing left: no empty batch
    assert batches == [[1, 2, 3]]


def test_a_failing_flush_does_not_stop_later_batches() -> None:
    batches: list[list[str]] = []

    def flush(entries: list[str]) -> None:
        if "bad" in entries:
            raise RuntimeError("Redis said no")
        batches.append(entries)

    deferred = DeferredBatches("test", flush, interval=3600)
    deferred.add("bad")
    deferred.flush_now()
    deferred.add("good")
    deferred.flush_now()
    assert batches == [["good"]]


def test_flush_now_returns_only_once_the_batch_the_thread_took_is_written() -> None:
    written: list[int] = []
    writing, release = threading.Event(), threading.Event()

    def slow_flush(entries: list[int]) -> None:
        writing.set()
        release.wait(timeout=30)
        written.extend(entries)

    deferred = DeferredBatches("test", slow_flush, interval=0)
    deferred.add(1)
    assert writing.wait(timeout=30)  # the thread has taken [1] and is writing it
    seen_after_flush: list[list[int]] = []
    reader = threading.Thread(target=lambda: (deferred.flush_now(), seen_after_flush.append(list(written))))
    reader.start()
    reader.join(timeout=0.5)  # a reader that does not wait for the write returns meanwhile
    release.set()
    reader.join(timeout=30)
    assert seen_after_flush == [[1]]


def test_arrivals_of_many_requests_reach_a_live_view_as_one_message_per_project(
    project: Project,
    other_project: Project,
    settings: object,
    django_capture_on_commit_callbacks: object,
    monkeypatch: object,
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    arrivals = DeferredBatches("test-arrivals", realtime.publish_arrivals, interval=3600)
    monkeypatch.setattr(realtime, "arrivals", arrivals)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.project_group(project.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(project, [{"name": "signup"}, {"name": "login"}], [])
        ingest(project, [{"name": "signup"}], [{"type": "gauge", "name": "queue", "value": 1}])
        ingest(other_project, [{"name": "elsewhere"}], [])
    arrivals.flush_now()
    message = async_to_sync(layer.receive)(channel)
    assert message["payload"] == {"kind": "data", "events": ["login", "signup"], "metrics": ["queue"]}
    assert channel not in layer.channels  # its queue is gone once empty: one message for this project
