"""How long `manage.py anomalies_backtest` takes to read a file, before the detector runs (it costs ~25 us a row).

    .venv/bin/python bench/backtest_read.py [--rows 500000] [--repeat 3]

Writes files of one-minute rows in the common timestamp forms (epoch seconds, epoch ms, ISO, row numbers),
and one of 29 interleaved series (AIOps-style `timestamp,value,KPI ID`, read with --series-column), reads
each with anomalies.backtest.reader.read_table, and prints the best of --repeat runs in seconds and in
microseconds a row.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository; the reader needs no Django

from anomalies.backtest.reader import ReadOptions, read_table

START = 1_704_067_200
FORMS = {
    "epoch seconds": ("timestamp,value", lambda k: str(START + 60 * k)),
    "epoch ms": ("timestamp,value", lambda k: str((START + 60 * k) * 1000)),
    "ISO 8601": ("timestamp,value", lambda k: f"{datetime.fromtimestamp(START + 60 * k, UTC):%Y-%m-%d %H:%M:%S}"),
    "row numbers": ("timestamp,value,is_anomaly", lambda k: str(k + 1)),
    "29 series": ("timestamp,value,KPI ID", lambda k: str(START + 60 * (k // SERIES))),
}
SERIES = 29  # as many KPIs as the AIOps challenge's files hold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'timestamps':<14} {'rows':>9} {'seconds':>8} {'us/row':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for name, (header, time_text) in FORMS.items():
            path = Path(folder) / "in.csv"
            extra = {"is_anomaly": lambda k: ",0", "KPI ID": lambda k: f",kpi-{k % SERIES}"}.get(
                header.split(",")[-1], lambda k: ""
            )
            path.write_text(header + "\n" + "".join(f"{time_text(k)},{k % 17}{extra(k)}\n" for k in range(args.rows)))
            options = ReadOptions(series_column="KPI ID" if header.endswith("KPI ID") else None)
            best = min(_timed(path, options) for _ in range(args.repeat))
            print(f"{name:<14} {args.rows:>9,} {best:>8.2f} {best / args.rows * 1e6:>7.1f}")


def _timed(path: Path, options: ReadOptions) -> float:
    start = time.perf_counter()
    read_table(path, options)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
