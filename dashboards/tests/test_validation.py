import pytest

from dashboards.validation import InvalidConfig, clean_settings, clean_widget

TYPES = {"api.latency": "distribution", "queue.depth": "gauge"}


def clean(config: dict, stored: dict | None = None) -> dict:
    return clean_widget(config, TYPES.get, stored)


def test_a_minimal_widget_gets_defaults() -> None:
    widget = clean({"type": "graph", "query": {}})
    assert widget == {
        "title": "", "type": "graph",
        "query": {"source": "events", "name": "*", "aggregation": "count", "filters": {}, "group_by": None,
                  "interval": "auto"},
        "display": {}, "position": {"x": 0, "y": 0, "w": 6, "h": 4},
    }  # fmt: skip


def test_metric_aggregation_defaults_to_and_is_checked_against_the_type() -> None:
    assert (
        clean({"type": "number", "query": {"source": "metric", "name": "api.latency"}})["query"]["aggregation"] == "p95"
    )
    assert clean({"type": "number", "query": {"source": "metric", "name": "not.yet.sent", "aggregation": "p99"}})
    with pytest.raises(InvalidConfig) as error:
        clean({"type": "number", "query": {"source": "metric", "name": "queue.depth", "aggregation": "p99"}})
    assert error.value.field == "query.aggregation"


def test_a_patch_is_validated_together_with_the_stored_widget() -> None:
    stored = clean({"type": "bar", "title": "Plans", "query": {"group_by": "tags.plan"}})
    moved = clean({"position": {"x": 6, "y": 2, "w": 6, "h": 3}}, stored)
    assert (moved["title"], moved["query"]["group_by"], moved["position"]["x"]) == ("Plans", "tags.plan", 6)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"type": "donut", "query": {}}, "type"),
        ({"type": "graph"}, "query"),
        ({"type": "graph", "query": {"source": "logs"}}, "query.source"),
        ({"type": "graph", "query": {"aggregation": "p42"}}, "query.aggregation"),
        ({"type": "graph", "query": {"group_by": "colour"}}, "query.group_by"),
        ({"type": "graph", "query": {"source": "metric", "name": "api.latency", "group_by": "name"}}, "query.group_by"),
        ({"type": "graph", "query": {"source": "metric"}}, "query.name"),
        ({"type": "graph", "query": {"interval": "2h"}}, "query.interval"),
        ({"type": "graph", "query": {"filters": {"plan": 3}}}, "query.filters.plan"),
        ({"type": "graph", "query": {"colour": "red"}}, "query.colour"),
        ({"type": "graph", "query": {}, "display": {"colors": ["red"]}}, "display.colors[0]"),
        ({"type": "graph", "query": {}, "display": {"style": "pie"}}, "display.style"),
        ({"type": "number", "query": {}, "display": {"thresholds": [{"value": "x", "color": "#ff0000"}]}},
         "display.thresholds[0].value"),
        ({"type": "graph", "query": {}, "position": {"x": 10, "w": 4}}, "position.x"),
        ({"type": "graph", "query": {}, "position": {"w": 13}}, "position.w"),
        ({"type": "graph", "query": {}, "position": {"h": True}}, "position.h"),
        ({"type": "graph", "query": {}, "title": "x" * 201}, "title"),
        ({"type": "graph", "query": {}, "size": 3}, "size"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_field(config: dict, field: str) -> None:
    with pytest.raises(InvalidConfig) as error:
        clean(config)
    assert error.value.field == field


def test_thresholds_are_sorted_and_settings_have_defaults() -> None:
    display = clean(
        {"type": "number", "query": {}, "display": {"thresholds": [{"value": 9, "color": "#ff0000"},
                                                                   {"value": 1, "color": "#00ff00"}]}}
    )["display"]  # fmt: skip
    assert [threshold["value"] for threshold in display["thresholds"]] == [1.0, 9.0]
    assert clean_settings(None) == {"range": "24h", "filters": {}, "refresh": "off", "timezone": None, "variables": []}
    with pytest.raises(InvalidConfig) as error:
        clean_settings({"timezone": "Mars/Olympus"})
    assert error.value.field == "settings.timezone"
