"""One batch to Flux over HTTP: gzip, and the answer classified as done, retry (with a delay) or give up."""

import email.utils
import gzip
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "flux-sdk-python/0.1.0"


@dataclass
class Answer:
    """What became of one attempt: `body` when Flux took the batch, else whether to retry and after how long."""

    status: int
    body: dict | None = None
    retry: bool = False
    retry_after: float | None = None  # seconds Flux asked for (Retry-After), when it did
    error: str = ""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds, from either form the header takes (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def post_batch(url: str, key: str, payload: dict, timeout: float, compress: bool = True) -> Answer:
    """POST `payload` as JSON (gzip-compressed unless `compress` is false); never raises for HTTP or network errors."""
    # Not escaped to ASCII: "\u6ce8" is six bytes where UTF-8 needs three, and Flux's limits count UTF-8 bytes.
    body = json.dumps(payload, separators=(",", ":"), default=str, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}", "User-Agent": USER_AGENT}
    if compress:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - the configured Flux URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(status=response.status, body=json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as error:
        message = error.read()[:500].decode("utf-8", "replace")
        return Answer(
            status=error.code,
            retry=error.code in RETRY_STATUSES,
            retry_after=parse_retry_after(error.headers.get("Retry-After")),
            error=f"HTTP {error.code}: {message}",
        )
    except (OSError, ValueError) as error:  # connection refused, timeouts, DNS, a garbled answer
        return Answer(status=0, retry=True, error=f"{type(error).__name__}: {error}")
