"""OTLP metrics to flat data points: names, tags (through the attribute allow-list) and values.

Pure functions over the official `opentelemetry-proto` messages; no database. What each OTLP type
becomes is decided here (README, "OpenTelemetry"):
gauge → gauge; sum, monotonic or not, with delta temporality → counter increments; monotonic
cumulative sum → counter increments computed against the stream's last value (flux.otlp.cumulative);
non-monotonic cumulative sum (an up-down counter's level) → gauge; histogram and exponential
histogram → distribution values (flux.otlp.histograms); summary → one gauge per quantile (tag
`quantile`) plus `<name>.count` and `<name>.sum` counters.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from flux.payloads.fields import TAG_KEY_MAX_LENGTH, TAG_VALUE_MAX_LENGTH, TAGS_MAX_COUNT

DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
NO_RECORDED_VALUE = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK


@dataclass
class OtlpPoint:
    """One OTLP data point, flattened. `kind` is gauge, counter, cumulative_counter or histogram."""

    number: int  # its position among the request's data points, for partial-success counting
    name: str
    kind: str
    tags: dict[str, str]
    time_unix_nano: int
    value: float = 0.0
    stream: str = ""  # identifies a cumulative stream (see CumulativeState); empty for the others
    start_unix_nano: int = 0
    histogram: dict = field(default_factory=dict)  # flux.otlp.histograms' bucket form
    cumulative: bool = False  # for histograms: counts since start_unix_nano rather than since the last report


def any_value_text(value: AnyValue) -> str:
    """An attribute's value as tag text: scalars as JSON writes them, arrays and maps as compact JSON."""
    return scalar_or_json(any_value_python(value))


def any_value_python(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {pair.key: any_value_python(pair.value) for pair in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else ""


def scalar_or_json(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value) if isinstance(value, int) else repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def attribute_tags(attributes: Iterable[KeyValue], allowed: frozenset[str] | None = None) -> dict[str, str]:
    """Attributes as tags (all of them, or those in `allowed`); over-long keys are dropped, values cut."""
    tags = {}
    for pair in attributes:
        if not pair.key or len(pair.key) > TAG_KEY_MAX_LENGTH or (allowed is not None and pair.key not in allowed):
            continue
        tags[pair.key] = any_value_text(pair.value)[:TAG_VALUE_MAX_LENGTH]
    return tags


def stream_digest(*parts: object) -> str:
    text = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def run_digest(data_point: object, *identity: object) -> str:
    """A cumulative stream's run: its identity and its start time. Replicas of one service that export the
    same resource and attributes (the JS, Java and Go SDKs add no instance id by default) interleave their
    reports; told apart by their start times, neither reads as the other's restart."""
    return stream_digest(*identity, data_point.start_time_unix_nano)


def flatten(request: ExportMetricsServiceRequest, allowed_attributes: frozenset[str]) -> list[OtlpPoint]:
    """Every data point of the request with its tags: the point's attributes over the allowed resource and
    scope ones; at most TAGS_MAX_COUNT tags (the point's own first)."""
    points: list[OtlpPoint] = []
    counter = iter(range(1 << 62))
    for resource_metrics in request.resource_metrics:
        resource_tags = attribute_tags(resource_metrics.resource.attributes, allowed_attributes)
        resource_identity = attribute_tags(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            shared_tags = {**resource_tags, **attribute_tags(scope.attributes, allowed_attributes)}
            identity = (resource_identity, scope.name, scope.version, attribute_tags(scope.attributes))
            for metric in scope_metrics.metrics:
                points.extend(metric_points(metric, shared_tags, identity, counter))
    return points


def point_tags(shared: dict[str, str], attributes: Iterable[KeyValue]) -> dict[str, str]:
    own = attribute_tags(attributes)
    merged = {**own, **{key: value for key, value in shared.items() if key not in own}}
    return dict(list(merged.items())[:TAGS_MAX_COUNT])


def metric_points(metric: metrics_pb2.Metric, shared: dict, identity: tuple, counter: Iterator[int]) -> list[OtlpPoint]:
    data = metric.WhichOneof("data")
    if data == "gauge":
        return number_points(metric.name, "gauge", metric.gauge.data_points, shared, identity, counter)
    if data == "sum":
        kind = sum_kind(metric.sum.is_monotonic, metric.sum.aggregation_temporality)
        return number_points(metric.name, kind, metric.sum.data_points, shared, identity, counter)
    if data == "histogram":
        return histogram_points(metric, shared, identity, counter)
    if data == "exponential_histogram":
        return histogram_points(metric, shared, identity, counter)
    if data == "summary":
        return summary_points(metric, shared, identity, counter)
    return []


def sum_kind(monotonic: bool, temporality: int) -> str:
    if temporality == DELTA:
        return "counter"
    return "cumulative_counter" if monotonic else "gauge"


def number_value(point: metrics_pb2.NumberDataPoint) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def number_points(
    name: str, kind: str, data_points: Iterable, shared: dict, identity: tuple, counter: Iterator[int]
) -> list[OtlpPoint]:
    points = []
    for data_point in data_points:
        number = next(counter)
        if data_point.flags & NO_RECORDED_VALUE:
            continue
        cumulative = kind == "cumulative_counter"
        stream = run_digest(data_point, name, identity, attribute_tags(data_point.attributes)) if cumulative else ""
        points.append(
            OtlpPoint(
                number, name, kind, point_tags(shared, data_point.attributes), data_point.time_unix_nano,
                number_value(data_point), stream, data_point.start_time_unix_nano,
            )
        )  # fmt: skip
    return points


def histogram_points(metric: metrics_pb2.Metric, shared: dict, identity: tuple, counter: Iterator[int]) -> list:
    exponential = metric.WhichOneof("data") == "exponential_histogram"
    body = metric.exponential_histogram if exponential else metric.histogram
    cumulative = body.aggregation_temporality == CUMULATIVE
    points = []
    for data_point in body.data_points:
        number = next(counter)
        if data_point.flags & NO_RECORDED_VALUE:
            continue
        buckets = exponential_buckets(data_point) if exponential else explicit_buckets(data_point)
        tags, own = point_tags(shared, data_point.attributes), attribute_tags(data_point.attributes)
        points.append(
            OtlpPoint(
                number, metric.name, "histogram", tags, data_point.time_unix_nano,
                stream=run_digest(data_point, metric.name, identity, own, exponential) if cumulative else "",
                start_unix_nano=data_point.start_time_unix_nano, histogram=buckets, cumulative=cumulative,
            )
        )  # fmt: skip
        has_sum = data_point.HasField("sum")  # optional for histograms (absent with negative observations)
        points += totals(data_point, metric.name, tags, identity if cumulative else None, number, has_sum)
    return points


def totals(
    data_point: object, name: str, tags: dict, identity: tuple | None, number: int, has_sum: bool = True
) -> list[OtlpPoint]:
    """`<name>.count` and `<name>.sum` counters from a histogram or summary point's exact totals (the values
    stored for a histogram spread its buckets and may be a sample: their count and sum are not these).
    `identity` is the exporter's for a cumulative point, None for a delta one."""
    pairs = [(".count", float(data_point.count))] + ([(".sum", data_point.sum)] if has_sum else [])
    own = attribute_tags(data_point.attributes)
    return [
        OtlpPoint(number, name + suffix, "cumulative_counter", tags, data_point.time_unix_nano, total,
                  run_digest(data_point, name + suffix, identity, own), data_point.start_time_unix_nano)
        if identity is not None
        else OtlpPoint(number, name + suffix, "counter", tags, data_point.time_unix_nano, total)
        for suffix, total in pairs
    ]  # fmt: skip


def explicit_buckets(point: metrics_pb2.HistogramDataPoint) -> dict:
    return {
        "bounds": list(point.explicit_bounds),
        "counts": list(point.bucket_counts),
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
    }


def exponential_buckets(point: metrics_pb2.ExponentialHistogramDataPoint) -> dict:
    return {
        "scale": point.scale,
        "zero": point.zero_count,
        "positive": [point.positive.offset, list(point.positive.bucket_counts)],
        "negative": [point.negative.offset, list(point.negative.bucket_counts)],
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
    }


def summary_points(metric: metrics_pb2.Metric, shared: dict, identity: tuple, counter: Iterator[int]) -> list:
    points = []
    for data_point in metric.summary.data_points:
        number = next(counter)
        if data_point.flags & NO_RECORDED_VALUE:
            continue
        tags = point_tags(shared, data_point.attributes)
        for quantile in data_point.quantile_values:
            quantile_tags = {**tags, "quantile": scalar_or_json(quantile.quantile)}
            points.append(OtlpPoint(number, metric.name, "gauge", quantile_tags, data_point.time_unix_nano,
                                    quantile.value))  # fmt: skip
        points += totals(data_point, metric.name, tags, identity, number)
    return points
