"""What the notification tests share: a real HTTP receiver on 127.0.0.1 that records what it gets and answers
scripted statuses, channels, and anomalies opened by a verdict."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from anomalies import services
from anomalies.models import Anomaly, Channel, Delivery
from anomalies.notifications import notify_changes
from anomalies.services import Verdict
from anomalies.tests.factories import make_watch
from flux.tenants.models import Project

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
SECRET = "whsec-test-1"
HTTP_500 = "HTTP 500: the receiver answered with an error."  # the status only, never the reply's body


class Receiver:
    """What a webhook receiver got; answers with the scripted statuses in order, then 200."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[tuple[Message, bytes]] = []
        self.statuses: list[int] = []
        self.secret = ""  # when set, requests whose signature does not verify get a 401
        self.delay = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/flux"

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


def signature_is_valid(secret: str, headers: Message, body: bytes) -> bool:
    """The receiver's check, written from the documented recipe rather than with Flux's own helper."""
    signed = headers["X-Flux-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Flux-Signature", ""))


class RecordingHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with receiver.lock:
            receiver.requests.append((self.headers, body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        if receiver.secret and not signature_is_valid(receiver.secret, self.headers, body):
            status = 401
        time.sleep(receiver.delay)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def make_channel(project: Project, kind: str = "webhook", **fields: object) -> Channel:
    fields.setdefault("target", "http://127.0.0.1:9/unused")
    fields.setdefault("min_severity", "info")
    return Channel.objects.create(project=project, name=f"{kind} channel", kind=kind, **fields)


def anomalous(bucket: datetime, severity: str = "warning") -> Verdict:
    return Verdict(
        bucket, 3600, True, 0.8, severity, kind="spike", direction="up", actual=1234.0, expected=310.0, lower=250.0,
        upper=380.0,
    )  # fmt: skip


def normal(bucket: datetime) -> Verdict:
    return Verdict(bucket, 3600, False, 0.1, "info", actual=300.0, expected=310.0, lower=250.0, upper=380.0)


def open_anomaly(project: Project, name: str = "checkout.completed", severity: str = "warning") -> tuple[str, Anomaly]:
    return services.apply_verdict(make_watch(project, name), anomalous(T0, severity), T0)


def queue_one_webhook(project: Project, url: str, **fields: object) -> Delivery:
    make_channel(project, target=url, **fields)
    [delivery] = notify_changes(project.pk, [open_anomaly(project)], T0)
    return delivery
