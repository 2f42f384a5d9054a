"""Metric points as partial aggregates, from rollups and raw edges (the SQL: flux.query.partial_query)."""

from flux.query.partial_query import TOTALS, Key, Source, read_partials
from flux.query.partials import Partial
from flux.query.tag_match import TagFilter, tag_conditions
from flux.query.timerange import TimeRange
from metrics.models import Metric
from metrics.rollups import STREAM

SERIES_GROUP = "series"  # group by series id (for counting series)
# Joins to the series carry the project: the series' key, and the column the tables are distributed by.
SAME_SERIES = "s.project_id = {0}.project_id AND s.id = {0}.series_id"


def points_source(
    project_id: int, series_where: str, series_params: list, group_sql: str, group_params: tuple = ()
) -> Source:
    """The project's metric points (rollup rows `r` and raw rows `p`, each joined to its series `s`) whose
    series match `series_where`, grouped by `group_sql`."""
    return Source(
        stream=STREAM,
        rollup_from=f"metrics_metricrollup r JOIN metrics_metricseries s ON {SAME_SERIES.format('r')}",
        rollup_where=f"r.project_id = %s AND {series_where}",
        rollup_params=[project_id, *series_params],
        rollup_totals="r.count, r.sum, r.min, r.max, r.last, r.last_time",
        rollup_sketch="r.sketch_keys, r.sketch_counts",
        rollup_members="r.member_hashes, r.member_registers",
        raw_from=f"metrics_point p JOIN metrics_metricseries s ON {SAME_SERIES.format('p')}",
        raw_where=f"p.project_id = %s AND {series_where}",
        raw_params=[project_id, *series_params],
        raw_value="p.value",
        raw_member="p.member",
        raw_last="p.value, p.time",
        group_sql=group_sql,
        group_params=group_params,
    )


def metric_partials(
    project_id: int, metric: Metric, time_range: TimeRange, tag_filter: TagFilter, interval: str | None,
    group_by: str | None, needs: set[str],
) -> dict[Key, Partial]:  # fmt: skip
    """Partials of the metric's series matching `tag_filter`, per `group_by` tag value (or per series)."""
    tags_sql, tags_params = tag_conditions("s.tags", tag_filter)
    series_where = f"s.metric_id = %s AND {tags_sql}"
    series_params = [metric.pk, *tags_params]
    if group_by == SERIES_GROUP:
        group_sql, group_params = "s.id::text", ()
    elif group_by:
        group_sql, group_params = "s.tags ->> %s", (group_by,)
    else:
        group_sql, group_params = "NULL::text", ()
    source = points_source(project_id, series_where, series_params, group_sql, group_params)
    return read_partials(source, time_range, interval, needs)


def project_partials(
    project_id: int, time_range: TimeRange, interval: str | None, per_metric: bool
) -> dict[Key, Partial]:
    """Point counts (and totals) of every metric of the project, per metric id or all together."""
    source = points_source(project_id, "TRUE", [], "s.metric_id::text" if per_metric else "NULL::text")
    return read_partials(source, time_range, interval, {TOTALS})
