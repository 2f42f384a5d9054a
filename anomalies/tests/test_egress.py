"""Webhooks cannot be turned against Flux's own network (SSRF): refused addresses at creation and at every
send, the connection pinned to the checked address, no redirects, and no reply bodies or port hints."""

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from anomalies import egress
from anomalies.delivery import send_test
from anomalies.models import Channel
from flux.tenants.models import Project

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
Reply = tuple[int, dict[str, str], bytes]


class LocalServer:
    """An HTTP server on 127.0.0.1 that records the Host header of each request and answers as scripted."""

    def __init__(self, reply: Reply) -> None:
        self.hosts: list[str] = []
        handler = self.handler_class(reply)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.http.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def handler_class(self, reply: Reply) -> type:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.hosts.append(self.headers["Host"])
                status, headers, body = reply
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalServer]]:
    servers: list[LocalServer] = []

    def start(status: int = 200, headers: dict | None = None, body: bytes = b"ok") -> LocalServer:
        servers.append(LocalServer((status, headers or {}, body)))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def create_channel(api: type, keys: dict, target: str) -> object:
    body = {"name": "Hook", "kind": "webhook", "target": target}
    return api(keys["admin"]).post("/api/v1/anomalies/channels", body, format="json")


def stored_channel(project: Project, target: str, kind: str = "webhook") -> Channel:
    """A channel saved before these checks existed (or by a URL whose DNS changed since): sends check too."""
    return Channel.objects.create(project=project, name="Hook", kind=kind, target=target, min_severity="info")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost:8000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[fd12:3456::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
        "http://[fec0::1]/hook",  # IPv6 site-local, which Python 3.11 calls global
        "http://[3fff::1]/hook",  # IPv6 documentation (RFC 9637), likewise
    ],
)
def test_a_channel_pointing_at_an_internal_address_is_refused_at_creation(api: type, keys: dict, target: str) -> None:
    response = create_channel(api, keys, target)
    assert response.status_code == 400
    assert "webhooks may not reach" in response.json()["error"]["details"]["target"][0]


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://[fe80::1]/", "http://[2002:a9fe:a9fe::1]/"]
)
def test_metadata_and_link_local_stay_refused_when_private_addresses_are_allowed(
    api: type, keys: dict, settings: object, target: str
) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    assert create_channel(api, keys, target).status_code == 400


@pytest.mark.parametrize("target", ["http://127.0.0.1:8799/hook", "http://192.168.1.10/hook", "http://[::1]:8799/h"])
def test_a_refused_local_address_names_the_setting_that_allows_it(api: type, keys: dict, target: str) -> None:
    message = create_channel(api, keys, target).json()["error"]["details"]["target"][0]
    assert "FLUX_WEBHOOK_ALLOW_PRIVATE=1" in message


def test_metadata_is_refused_without_pointing_at_a_setting(api: type, keys: dict) -> None:
    message = create_channel(api, keys, "http://169.254.169.254/").json()["error"]["details"]["target"][0]
    assert "FLUX_WEBHOOK_ALLOW_PRIVATE" not in message


@pytest.mark.parametrize("target", ["http://127.0.0.1:8000/hook", "http://[::1]:8000/hook"])
def test_private_addresses_are_allowed_by_the_operator_setting(
    api: type, keys: dict, settings: object, target: str
) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True  # ::1 too, which Python also counts as reserved
    assert create_channel(api, keys, target).status_code == 201


@pytest.mark.parametrize("target", ["https://" + "a" * 64 + ".example.com/h", "https://a..example.com/h"])
def test_a_host_name_that_cannot_be_looked_up_is_a_400(api: type, keys: dict, target: str) -> None:
    response = create_channel(api, keys, target)
    assert response.status_code == 400 and "not a valid host name" in response.json()["error"]["details"]["target"][0]


@pytest.mark.parametrize("target", ["https://hooks.example.com/a\x01b", "https://hooks.example.com/a b\n"])
def test_a_url_with_spaces_or_control_characters_is_refused_when_saved(api: type, keys: dict, target: str) -> None:
    response = create_channel(api, keys, target)
    assert response.status_code == 400 and "control characters" in response.json()["error"]["details"]["target"][0]


@pytest.mark.parametrize(
    ("target", "says"),
    [("https://hooks.example.com/ü", "only ASCII"), ("https://hooks.example.com/h?q=ü", "only ASCII"),
     ("https://bücher.example/h", "xn--"), ("https://user:pass@hooks.example.com/h", "user name or password"),
     ("https://token@hooks.example.com/h", "user name or password")],
)  # fmt: skip
def test_a_url_that_could_never_be_sent_as_written_is_refused_when_saved(
    api: type, keys: dict, target: str, says: str
) -> None:
    """Non-ASCII characters failed every send inside http.client; credentials in the URL were dropped at
    send (no Authorization header) while the URL, with them, was shown back to every member."""
    response = create_channel(api, keys, target)
    assert response.status_code == 400 and says in response.json()["error"]["details"]["target"][0]


def test_a_stored_url_with_non_ascii_characters_fails_for_good_with_a_message(project: Project) -> None:
    delivery = send_test(stored_channel(project, "http://8.8.8.8/ü"), NOW)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("The URL may contain only ASCII characters")


def test_a_target_longer_than_2000_characters_is_refused(api: type, keys: dict) -> None:
    assert create_channel(api, keys, "https://hooks.example.com/" + "x" * 2000).status_code == 400


def test_a_name_resolving_to_a_private_address_is_refused(api: type, keys: dict, monkeypatch: object) -> None:
    monkeypatch.setattr(egress, "resolve", lambda host, port: ["10.20.30.40"])
    assert create_channel(api, keys, "https://hooks.example.com/x").status_code == 400


def test_a_local_receiver_gets_nothing_by_default(project: Project, serve: Callable) -> None:
    server = serve()
    delivery = send_test(stored_channel(project, server.url), NOW)
    assert (delivery.status, delivery.response_status) == ("failed", None)
    assert delivery.last_error == (
        "The URL's host is a loopback address, which webhooks may not reach unless the server runs with "
        "FLUX_WEBHOOK_ALLOW_PRIVATE=1."
    )
    assert server.hosts == []


def test_a_name_that_resolves_to_loopback_at_send_time_is_refused(
    project: Project, serve: Callable, monkeypatch: object
) -> None:
    server = serve()
    channel = stored_channel(project, f"http://rebind.example:{server.port}/hook")
    monkeypatch.setattr(egress, "resolve", lambda host, port: ["127.0.0.1"])
    delivery = send_test(channel, NOW)
    assert (delivery.status, delivery.last_error) == (
        "failed",
        "The URL's host is a loopback address, which webhooks may not reach unless the server runs with "
        "FLUX_WEBHOOK_ALLOW_PRIVATE=1.",
    )
    assert server.hosts == []


def test_the_request_goes_to_the_checked_address_with_the_urls_host(
    project: Project, serve: Callable, monkeypatch: object, settings: object
) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    server = serve()
    lookups: list[str] = []

    def resolve_once(host: str, port: int) -> list[str]:
        lookups.append(host)  # a rebinding resolver would answer differently the next time: there is none
        return ["127.0.0.1"]

    monkeypatch.setattr(egress, "resolve", resolve_once)
    delivery = send_test(stored_channel(project, f"http://hooks.rebind.example:{server.port}/hook"), NOW)
    assert delivery.status == "delivered"
    assert server.hosts == [f"hooks.rebind.example:{server.port}"]
    assert lookups == ["hooks.rebind.example"]


def test_a_redirect_to_loopback_is_not_followed(project: Project, serve: Callable, settings: object) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    inside = serve()
    redirecting = serve(302, {"Location": inside.url})
    delivery = send_test(stored_channel(project, redirecting.url), NOW)
    assert (delivery.status, delivery.response_status) == ("failed", 302)
    assert delivery.last_error == "HTTP 302: redirects are not followed."
    assert inside.hosts == []


def test_the_test_endpoint_shows_the_status_but_never_the_reply_body(
    api: type, keys: dict, project: Project, serve: Callable, settings: object
) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    server = serve(500, body=b"INTERNAL-ONLY-SECRET " * 20)
    channel = stored_channel(project, server.url)
    response = api(keys["admin"]).post(f"/api/v1/anomalies/channels/{channel.pk}/test")
    assert response.status_code == 200
    assert b"INTERNAL-ONLY-SECRET" not in response.content
    assert response.json()["last_error"] == "HTTP 500: the receiver answered with an error."
    deliveries = api(keys["admin"]).get(f"/api/v1/anomalies/channels/{channel.pk}/deliveries")
    assert b"INTERNAL-ONLY-SECRET" not in deliveries.content


def test_an_open_port_that_is_not_http_and_a_closed_port_fail_alike(project: Project, settings: object) -> None:
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    with socket.socket() as listening, socket.socket() as unused:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connections to it are refused

        def answer_garbage() -> None:
            connection, _ = listening.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        open_port = send_test(stored_channel(project, f"http://127.0.0.1:{listening.getsockname()[1]}/"), NOW)
        closed_port = send_test(stored_channel(project, f"http://127.0.0.1:{unused.getsockname()[1]}/"), NOW)
        thread.join(5)
    assert open_port.last_error == closed_port.last_error == egress.CONNECTION_FAILED
    assert open_port.response_status is None and closed_port.response_status is None


UNREADABLE_TARGETS = ["http://[::1/hook", f"http://{'a' * 64}.example.com/", f"https://{'é' * 70}.example/"]


@pytest.mark.parametrize("target", UNREADABLE_TARGETS)
def test_a_url_that_cannot_be_parsed_or_looked_up_is_a_400_at_creation(api: type, keys: dict, target: str) -> None:
    response = create_channel(api, keys, target)  # an unclosed IPv6 bracket, a DNS label over 63 characters
    assert response.status_code == 400 and "target" in response.json()["error"]["details"]


@pytest.mark.parametrize("target", UNREADABLE_TARGETS)
def test_a_stored_url_that_cannot_be_parsed_or_looked_up_fails_for_good_at_send(project: Project, target: str) -> None:
    delivery = send_test(stored_channel(project, target), NOW)
    assert (delivery.status, delivery.response_status) == ("failed", None)
    assert delivery.last_error.startswith("The URL")  # said so, not an internal error retried six times


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_timeout(settings: object) -> None:
    # Each byte comes well within the socket timeout, so only a deadline for the whole request ends it;
    # without one the worker (or the test endpoint's request) was held for as long as the receiver liked.
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()

        def trickle() -> None:
            connection, _ = listening.accept()
            with connection:
                connection.recv(65536)
                try:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(300):  # 30 seconds, a byte every 0.1 s
                        connection.sendall(b"a")
                        threading.Event().wait(0.1)
                    connection.sendall(b"\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass  # cut off

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        reply = egress.post(f"http://127.0.0.1:{listening.getsockname()[1]}/", b"{}", {}, timeout=1)
        thread.join(35)
    assert reply.status is None
