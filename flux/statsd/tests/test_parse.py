import pytest

from flux.statsd.aggregate import Aggregator
from flux.statsd.parse import BadLine, IgnoredLine, Sample, parse_line, parse_tags, split_packet


def test_a_counter_is_divided_by_its_sample_rate() -> None:
    assert parse_line("orders:3|c|@0.5") == Sample("counter", "orders", (), (6.0,))


def test_a_plain_counter_keeps_its_value() -> None:
    assert parse_line("orders:1|c") == Sample("counter", "orders", (), (1.0,))


def test_a_gauge_without_sign_is_absolute() -> None:
    assert parse_line("queue.depth:42|g") == Sample("gauge", "queue.depth", (), (42.0,))


@pytest.mark.parametrize(("text", "change"), [("+5", 5.0), ("-3", -3.0)])
def test_a_signed_gauge_is_a_change(text: str, change: float) -> None:
    assert parse_line(f"queue.depth:{text}|g") == Sample("gauge", "queue.depth", (), (change,), gauge_delta=True)


@pytest.mark.parametrize("metric_type", ["ms", "h", "d"])
def test_timers_histograms_and_distributions_become_distributions(metric_type: str) -> None:
    assert parse_line(f"api.latency:12.5|{metric_type}") == Sample("distribution", "api.latency", (), (12.5,))


def test_a_timer_keeps_its_value_whatever_the_sample_rate() -> None:
    assert parse_line("api.latency:320|ms|@0.1").values == (320.0,)


def test_dogstatsd_packs_several_distribution_values_in_one_line() -> None:
    assert parse_line("api.latency:1:2.5:3|d").values == (1.0, 2.5, 3.0)


def test_a_set_keeps_its_member_as_text() -> None:
    assert parse_line("visitors:user-17|s") == Sample("set", "visitors", (), (1.0,), member="user-17")


def test_dogstatsd_tags_are_sorted_pairs() -> None:
    sample = parse_line("orders:1|c|#region:eu,plan:pro")
    assert sample.tags == (("plan", "pro"), ("region", "eu"))


def test_tags_come_after_the_sample_rate_or_before_it() -> None:
    assert parse_line("orders:1|c|#region:eu|@0.25") == Sample("counter", "orders", (("region", "eu"),), (4.0,))


def test_a_tag_without_value_is_true() -> None:
    assert parse_tags("canary,region:eu") == (("canary", "true"), ("region", "eu"))


def test_a_tag_value_may_contain_colons() -> None:
    assert parse_tags("url:http://x") == (("url", "http://x"),)


def test_unknown_dogstatsd_sections_are_skipped() -> None:
    assert parse_line("orders:1|c|#a:b|c:abc123|T1700000000").values == (1.0,)


@pytest.mark.parametrize("line", ["_e{5,4}:title|text", "_sc|db.up|0|#env:prod"])
def test_events_and_service_checks_are_ignored(line: str) -> None:
    with pytest.raises(IgnoredLine):
        parse_line(line)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("no colon here", "expected name:value|type"),
        (":1|c", "expected name:value|type"),
        ("orders:1", "missing |type"),
        ("orders:1|x", "unknown type 'x'"),
        ("orders:abc|c", "'abc' is not a number"),
        ("orders:nan|g", "is not finite"),
        ("orders:|c", "empty value"),
        ("orders:1|c|@2", "sample rate '2' must be in (0, 1]"),
        ("orders:1|c|@0", "sample rate '0' must be in (0, 1]"),
        ("latency:1:x|d", "'x' is not a number"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(BadLine, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_line(line)


def test_a_packet_splits_on_newlines_and_drops_blank_lines() -> None:
    assert split_packet(b"a:1|c\r\n\nb:2|g\n") == ["a:1|c", "b:2|g"]


def test_undecodable_bytes_do_not_break_a_packet() -> None:
    assert split_packet(b"a\xff:1|c") == ["a\ufffd:1|c"]


def test_the_aggregator_sums_counters_and_keeps_the_last_gauge_per_series() -> None:
    aggregator = Aggregator()
    aggregator.add_packet(b"orders:1|c|#region:eu\norders:2|c|#region:eu\norders:5|c\nq:3|g\nq:+4|g")
    aggregator.add_packet(b"q:-2|g")
    points = {(item["name"], tuple(item["tags"].items())): item["value"] for item in aggregator.take().metric_items()}
    assert points == {("orders", (("region", "eu"),)): 3.0, ("orders", ()): 5.0, ("q", ()): 5.0}


def test_gauge_changes_build_on_the_value_of_an_earlier_window() -> None:
    aggregator = Aggregator()
    aggregator.add_packet(b"q:10|g")
    aggregator.take()
    aggregator.add_packet(b"q:+1|g")
    assert aggregator.take().metric_items() == [{"type": "gauge", "name": "q", "tags": {}, "value": 11.0}]


def test_a_change_to_an_unknown_gauge_starts_from_zero() -> None:
    aggregator = Aggregator()
    aggregator.add_packet(b"q:-2|g")
    assert aggregator.take().metric_items()[0]["value"] == -2.0


def test_with_absolute_signed_gauges_a_dogstatsd_negative_gauge_is_its_value() -> None:
    """The `datadog` client sends a balance of -20 as `-20|g`: read as a change, 100 then -20 stored 80."""
    aggregator = Aggregator("absolute")
    aggregator.add_packet(b"balance:100|g|#acct:1")
    aggregator.take()
    aggregator.add_packet(b"balance:-20|g|#acct:1\nrate:+5|g")
    assert [item["value"] for item in aggregator.take().metric_items()] == [-20.0, 5.0]


def test_sets_keep_each_member_once_per_window() -> None:
    aggregator = Aggregator()
    aggregator.add_packet(b"v:a|s\nv:b|s\nv:a|s")
    assert [item["value"] for item in aggregator.take().metric_items()] == ["a", "b"]


def test_distribution_values_past_the_cap_are_dropped_and_counted() -> None:
    aggregator = Aggregator()
    aggregator.MAX_VALUES_PER_SERIES = 3
    aggregator.add_packet(b"lat:1:2|d\nlat:3:4|d")
    window = aggregator.take()
    assert [item["value"] for item in window.metric_items()] == [1.0, 2.0, 3.0]
    assert window.counts.dropped_values == 1


def test_bad_and_ignored_lines_are_counted_and_the_good_ones_kept() -> None:
    aggregator = Aggregator()
    aggregator.add_packet(b"orders:1|c\ngarbage\n_sc|db|0\norders:x|c")
    window = aggregator.take()
    assert (window.counts.lines, window.counts.bad_lines, window.counts.ignored_lines) == (4, 2, 1)
    assert window.bad_line_examples == [
        "expected name:value|type in 'garbage'",
        "value 'x' is not a number in 'orders:x|c'",
    ]
    assert window.metric_items() == [{"type": "counter", "name": "orders", "tags": {}, "value": 1.0}]
