"""Where a steady five-minute scan spends its time: the production scan of busy event names in one
process, each phase timed (time.perf_counter around the functions the scan calls), in ms per series.

    python bench/scan_phases.py --series 300 --scans 8

Seeds FLUX_SCANBENCH_DB (bench/scan_seed.py, rebuilt each run) with `--series` busy event names (30 to
150 an hour, eight days of minute rollups and three hours more, the same data on every run), scans them
once (reading their histories and fitting their models), then `--scans` times five minutes later, one
new bucket each. The figures are the mean over the steady scans after the first; phases nest (the
detector is inside scan_watch, which is inside the whole scan). Nothing here asserts: it prints.
"""

import argparse
import functools
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from scan_seed import FAST_DAYS, MINUTE, seed_busy, set_watermarks, use_bench_database

END = datetime(2026, 11, 30, 11, tzinfo=UTC)  # odd hour: the steady scans stay inside fitted blocks
spent: dict[str, float] = defaultdict(float)


def timed(module: object, name: str) -> None:
    """Replace module.name by a wrapper that adds its time to spent[...]."""
    original: Callable = getattr(module, name)
    label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"  # type: ignore[attr-defined]

    @functools.wraps(original)
    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    setattr(module, name, wrapper)


def instrument() -> None:
    from anomalies import carry, refresh
    from anomalies import scan as scan_module

    phases = {
        scan_module: ("scan", "claim", "unresolved_watch_ids", "rollup_watermarks", "read_histories",
                      "save_histories", "release", "scan_watch", "score_incremental", "scan_verdicts",
                      "minute_baseline"),
        refresh: ("read_hours", "merge_history"),
        carry: ("pack", "unpack", "pack_fits", "unpack_fits", "save"),
    }  # fmt: skip
    for module, names in phases.items():
        for name in names:
            timed(module, name)


def scan_due(now: datetime) -> int:
    from anomalies import scan as scan_module
    from anomalies.models import Watch

    ids = list(Watch.objects.filter(next_scan_at__lte=now).order_by("pk").values_list("pk", flat=True))
    return sum(scan_module.scan(ids[start : start + 200], now).scanned for start in range(0, len(ids), 200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=300, help="busy series, on five-minute buckets")
    parser.add_argument("--scans", type=int, default=8, help="steady scans (the first is left out)")
    args = parser.parse_args()
    use_bench_database(fresh=True)
    from anomalies.watches import sync_watches

    instrument()
    seed_busy("Scan phases", args.series, END - timedelta(days=FAST_DAYS + 1), END + 3 * 60 * MINUTE)
    set_watermarks(END + MINUTE)
    sync_watches(END + 2 * MINUTE)
    scan_due(END + 2 * MINUTE)
    totals: dict[str, float] = defaultdict(float)
    scanned = 0
    for index in range(min(args.scans, 30)):  # the data run three hours past END
        set_watermarks(END + (5 * index + 6) * MINUTE)
        spent.clear()
        count = scan_due(END + (5 * index + 7) * MINUTE)
        print(f"steady scan {index + 1}: {count} series, {1000 * spent['scan.scan'] / max(count, 1):.2f} ms a series")
        if index:
            scanned += count
            for label, seconds in spent.items():
                totals[label] += seconds
    print(f"\n{'phase (nested)':<28}{'ms/series':>10}")
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"{label:<28}{1000 * seconds / max(scanned, 1):>10.3f}")


if __name__ == "__main__":
    main()
