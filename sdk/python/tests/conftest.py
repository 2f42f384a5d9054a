"""A tiny local Flux stand-in: records every batch (gzip decoded) and answers as scripted, optionally after
forwarding the batch to a real Flux (to lose an answer on purpose)."""

import gzip
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class CaptureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CaptureHandler)
        self.batches: list[dict] = []
        self.headers_seen: list[dict] = []
        self.scripted: list[tuple[int, dict[str, str]]] = []  # answers for the next requests, in order
        self.upstream: str | None = None  # forward every batch here first (a real Flux)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def wait_for_batches(self, count: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while len(self.batches) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.batches


class CaptureHandler(BaseHTTPRequestHandler):
    server: CaptureServer

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        batch = json.loads(body)
        with self.server.lock:
            self.server.batches.append(batch)
            self.server.headers_seen.append(dict(self.headers))
            scripted = self.server.scripted.pop(0) if self.server.scripted else None
        status, headers, answer = 202, {}, {"accepted": sum(len(items) for items in batch.values())}
        if self.server.upstream:
            status, answer = forward(self.server.upstream + self.path, raw, self.headers)
        if scripted is not None:
            status, headers = scripted
            answer = {"error": {"code": "scripted", "message": "a scripted failure"}}
        data = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def forward(url: str, raw: bytes, headers: object) -> tuple[int, dict]:
    kept = {name: headers[name] for name in ("Content-Type", "Content-Encoding", "Authorization") if headers[name]}
    request = urllib.request.Request(url, data=raw, headers=kept, method="POST")  # noqa: S310 - the test's Flux
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_client(capture: CaptureServer) -> Iterator[Callable]:
    """`make_client(**options)`: a Client sending to the capture server; closed after the test."""
    import flux_sdk

    made: list[flux_sdk.Client] = []

    def make(**options: object) -> flux_sdk.Client:
        options = {"flush_interval": 3600, "shutdown_timeout": 2, **options}
        client = flux_sdk.Client(options.pop("key", "flux_in_test"), options.pop("url", capture.url), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(timeout=2)
