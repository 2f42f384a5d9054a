"""A receiver per test, and the operator setting that lets webhooks reach it on 127.0.0.1."""

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from anomalies.tests.notifications.support import Receiver, RecordingHandler


@pytest.fixture(autouse=True)
def _receivers_on_this_host_allowed(settings: object) -> None:
    """The receivers here listen on 127.0.0.1, which webhooks reach only with this operator setting."""
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.receiver = Receiver(server)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.receiver  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join(5)
