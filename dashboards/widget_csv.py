"""A widget's data (the shapes of dashboards.widget_data) as CSV rows, one table per widget type."""

from collections.abc import Iterator

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def series_name(key: object) -> object:
    return "" if key is None else key


def widget_table(widget_type: str, data: dict) -> tuple[list[str], Iterator[list]]:
    """The header and rows of a widget's data: time series long (time, series, value), groups as key/value."""
    if data.get("empty"):
        return ["time", "series", "value"], iter(())
    if widget_type == "number":
        row = [data.get("value"), data.get("previous"), data.get("change"), data.get("change_percent")]
        return ["value", "previous", "change", "change_percent"], iter([row])
    if widget_type == "graph":
        rows = (
            [time, series_name(series["key"]), value] for series in data["series"] for time, value in series["points"]
        )
        return ["time", "series", "value"], rows
    if widget_type in ("bar", "pie", "table"):
        return ["key", "value"], ([series_name(group["key"]), group["value"]] for group in data["groups"])
    if data.get("mode") == "time_value":
        bins = data["bins"]
        return ["time", "bin_from", "count"], ([time, bins[index], count] for time, index, count in data["cells"])
    return ["weekday", "hour", "value"], ([WEEKDAYS[day], hour, value] for day, hour, value in data["cells"])
