"""The official OpenTelemetry Python SDK's OTLP/HTTP exporter, unmodified, pointed at Flux under uvicorn
(conftest.live_flux); what it stored is read back through Flux's metrics API."""

import json
import urllib.request
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from flux.tenants.services import create_project, issue_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def otel_keys(transactional_db: None) -> dict[str, str]:
    project = create_project("Otel shop", owner=User.objects.create_user("otto"))
    return {kind: issue_key(project, kind).raw_key for kind in ("ingest", "read")}


class Sdk:
    """A MeterProvider whose reader exports only when asked (no timer decides what a test sees)."""

    def __init__(self, exporter: OTLPMetricExporter) -> None:
        self.exporter = exporter
        self.reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        resource = Resource.create({"service.name": "checkout", "process.pid": 4242})
        views = [View(instrument_name="payload.size", aggregation=ExponentialBucketHistogramAggregation())]
        self.provider = MeterProvider(resource=resource, metric_readers=[self.reader], views=views)
        self.meter = self.provider.get_meter("shop.instrumentation")

    def export(self) -> None:
        assert self.provider.force_flush(timeout_millis=20_000)


@pytest.fixture
def sdk(live_flux: str, otel_keys: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    # Configured the documented way: environment variables only.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{live_flux}/v1/metrics")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"x-api-key={otel_keys['ingest']}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    instance = Sdk(OTLPMetricExporter())
    yield instance
    instance.provider.shutdown()


def summary(live_flux: str, read_key: str, name: str) -> dict:
    url = f"{live_flux}/api/v1/metrics/{name}?period=last_24h"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {read_key}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own test server
        return json.loads(response.read())


def catalogue(live_flux: str, read_key: str) -> dict[str, dict]:
    request = urllib.request.Request(f"{live_flux}/api/v1/metrics", headers={"X-API-Key": read_key})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own test server
        return {metric["name"]: metric for metric in json.loads(response.read())["metrics"]}


def test_a_cumulative_counter_is_stored_as_increments_across_exports(sdk: Sdk, live_flux: str, otel_keys: dict) -> None:
    orders = sdk.meter.create_counter("orders.placed")
    orders.add(5, {"plan": "pro"})
    sdk.export()
    orders.add(3, {"plan": "pro"})
    sdk.export()
    sdk.export()  # nothing new: adds zero

    stored = summary(live_flux, otel_keys["read"], "orders.placed")
    assert (stored["type"], stored["sum"], stored["points"], stored["series"]) == ("counter", 8.0, 3, 1)


def test_resource_attributes_become_tags_through_the_allow_list(sdk: Sdk, live_flux: str, otel_keys: dict) -> None:
    sdk.meter.create_counter("orders.placed").add(1, {"plan": "pro"})
    sdk.export()

    tag_keys = set(catalogue(live_flux, otel_keys["read"])["orders.placed"]["tags"])
    assert tag_keys == {"plan", "service.name"}  # not process.pid


def test_an_up_down_counter_is_stored_as_its_level(sdk: Sdk, live_flux: str, otel_keys: dict) -> None:
    queue = sdk.meter.create_up_down_counter("queue.depth")
    queue.add(10)
    sdk.export()
    queue.add(-4)
    sdk.export()

    stored = summary(live_flux, otel_keys["read"], "queue.depth")
    assert (stored["type"], stored["last"], stored["max"]) == ("gauge", 6.0, 10.0)


def test_an_observable_gauge_is_stored_as_a_gauge(sdk: Sdk, live_flux: str, otel_keys: dict) -> None:
    def read_temperature(options: CallbackOptions) -> list[Observation]:
        return [Observation(21.5, {"room": "server"})]

    sdk.meter.create_observable_gauge("room.temperature", callbacks=[read_temperature])
    sdk.export()

    stored = summary(live_flux, otel_keys["read"], "room.temperature")
    assert (stored["type"], stored["last"], stored["points"]) == ("gauge", 21.5, 1)


def test_a_histogram_becomes_a_distribution_of_its_observations(sdk: Sdk, live_flux: str, otel_keys: dict) -> None:
    latency = sdk.meter.create_histogram("checkout.latency", unit="ms")
    for value in [12] * 50 + [40] * 40 + [300] * 10:
        latency.record(value)
    sdk.export()
    latency.record(12)
    sdk.export()  # cumulative: only the one new observation is added

    stored = summary(live_flux, otel_keys["read"], "checkout.latency")
    assert (stored["type"], stored["points"], stored["min"], stored["max"]) == ("distribution", 101, 12.0, 300.0)
    count, total = (summary(live_flux, otel_keys["read"], f"checkout.latency.{part}") for part in ("count", "sum"))
    assert (count["sum"], total["sum"]) == (101, 50 * 12 + 40 * 40 + 10 * 300 + 12)  # exact, as increments
    # The SDK's default buckets are (10, 25], (25, 50], (250, 500]: p50 lies in the first, p99 in the last.
    assert 10 < stored["p50"] <= 25 and 25 < stored["p95"] <= 300


def test_an_exponential_histogram_keeps_quantiles_within_its_bucket_error(
    sdk: Sdk, live_flux: str, otel_keys: dict
) -> None:
    sizes = sdk.meter.create_histogram("payload.size")
    for value in range(1, 1001):
        sizes.record(value)
    sdk.export()

    stored = summary(live_flux, otel_keys["read"], "payload.size")
    assert (stored["type"], stored["points"]) == ("distribution", 1000)
    # 1000 observations at the SDK's scale: buckets are about 2-3% wide at most here.
    assert stored["p50"] == pytest.approx(500, rel=0.03) and stored["p99"] == pytest.approx(990, rel=0.03)


def test_the_exporter_may_send_the_key_as_a_bearer_token_uncompressed(live_flux: str, otel_keys: dict) -> None:
    headers = {"authorization": f"Bearer {otel_keys['ingest']}"}
    instance = Sdk(OTLPMetricExporter(endpoint=f"{live_flux}/v1/metrics", headers=headers))
    instance.meter.create_counter("signups").add(2)
    instance.export()
    instance.provider.shutdown()

    assert summary(live_flux, otel_keys["read"], "signups")["sum"] == 2.0
