"""OTLP/HTTP ingest benchmark: protobuf export requests against a running Flux; prints data points/s.

    python bench/otlp.py --url http://127.0.0.1:8000 --key flx_ingest_… --requests 200 --clients 4

Each request is one ExportMetricsServiceRequest of --points data points (default 1,000) over 100 series:
half gauges, 30% cumulative monotonic sums (so every request also reads and updates their stream states),
20% delta sums, gzip-compressed like the SDK's exporter with OTEL_EXPORTER_OTLP_COMPRESSION=gzip. Nothing
here asserts: it prints.
"""

import argparse
import gzip
import http.client
import statistics
import threading
import time
from urllib.parse import urlsplit

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2

SERIES = 100
START = time.time_ns()


def build_request(points: int, round_number: int) -> bytes:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    attribute = resource_metrics.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "bench"
    scope = resource_metrics.scope_metrics.add()
    now = time.time_ns()
    per_metric = SERIES
    for metric_number in range(max(1, points // per_metric)):
        metric = scope.metrics.add()
        kind = metric_number % 10
        metric.name = f"bench.metric.{metric_number}"
        if kind < 5:
            data_points = metric.gauge.data_points
        else:
            metric.sum.is_monotonic = True
            temporality = (
                metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
                if kind < 8
                else metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
            )
            metric.sum.aggregation_temporality = temporality
            data_points = metric.sum.data_points
        for series in range(per_metric):
            point = data_points.add()
            point.start_time_unix_nano, point.time_unix_nano = START, now
            point.as_double = float(round_number * 10 + series)
            tag = point.attributes.add()
            tag.key, tag.value.string_value = "host", f"h{series}"
    return gzip.compress(request.SerializeToString())


def client(url: str, key: str, bodies: list[bytes], latencies: list[float], failures: list[str]) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "X-API-Key": key}
    for body in bodies:
        started = time.perf_counter()
        connection.request("POST", "/v1/metrics", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or answer:
            failures.append(f"{response.status} {answer[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an ingest key of the project to fill")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    bodies = [build_request(args.points, number) for number in range(args.requests)]
    points_per_request = (args.points // SERIES) * SERIES
    latencies: list[float] = []
    failures: list[str] = []
    threads = [
        threading.Thread(target=client, args=(args.url, args.key, bodies[i :: args.clients], latencies, failures))
        for i in range(args.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"{args.requests} requests x {points_per_request} data points, {args.clients} clients: {elapsed:.1f} s")
    print(
        f"{args.requests * points_per_request / elapsed:,.0f} data points/s, {args.requests / elapsed:.1f} requests/s"
    )
    p50, p99 = statistics.median(latencies), latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    if failures:
        print(f"{len(failures)} requests not fully accepted, e.g. {failures[0]}")


if __name__ == "__main__":
    main()
