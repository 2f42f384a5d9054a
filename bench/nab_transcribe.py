"""Rebuild NAB data files from compact transcriptions, checking each, for bench/anomalies_real.py --data.

NAB's data are not shipped here (licence). Where a machine reaches no network but a search tool serves
NAB's repository file by file (`read_file`, 16,000 characters a call, with `total_chars` and
`next_offset`), the files are copied by hand (or by helper sessions) into a compact form that this script
turns back into `<root>/data/<group>/<name>.csv` and checks, so that a dropped row or a missed gap is
caught before any figure is computed from it.

Compact file `<root>/compact/<group>__<name>.txt`:
  line 1: source data/<group>/<name>.csv total_chars <N> step <seconds>
  line 2: header <the CSV's first line, exactly>
  then, in file order, one line per row or mark:
    <timestamp>,<value>   a full row (the file's first row; any row not one step after the one before)
    <value>               a row one step after the one before, its value exactly as the file writes it
    T <timestamp>         the next value-only row has this timestamp
    C <timestamp>         a checkpoint after each chunk read: the last complete row so far is at this time
A row cut across two chunks is written once, whole.

Checks: every checkpoint (a missed gap shows at the first checkpoint after it) and the rebuilt text's
length against total_chars (\\n or \\r\\n line ends, with or without a final one: a dropped or mistyped
value of another width changes it). A file is written only when every check passes.

    .venv/bin/python bench/nab_transcribe.py --root /work/nab [compact file names...]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass
class Rebuilt:
    source: str
    header: str
    rows: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def rebuild(text: str) -> Rebuilt:
    """The rows a compact transcription stands for, and every check it fails."""
    lines = text.splitlines()
    head = lines[0].split()
    out = Rebuilt(head[1], lines[1].split(maxsplit=1)[1].strip())
    total, step = int(head[3]), timedelta(seconds=int(head[5]))
    clock: datetime | None = None
    pending: datetime | None = None
    for number, raw in enumerate(lines[2:], start=3):
        line = raw.strip()
        if line.startswith("T "):
            pending = datetime.strptime(line[2:].strip(), STAMP)
        elif line.startswith("C "):
            want = datetime.strptime(line[2:].strip(), STAMP)
            if clock != want:
                out.problems.append(f"line {number}: checkpoint {want}, last row at {clock} ({len(out.rows)} rows)")
        elif "," in line:
            stamp, value = line.split(",", 1)
            clock, pending = datetime.strptime(stamp.strip(), STAMP), None
            out.rows.append(f"{clock.strftime(STAMP)},{value.strip()}")
        elif line:
            if pending is None and clock is None:
                out.problems.append(f"line {number}: a value before any timestamp")
                continue
            clock = pending if pending is not None else clock + step  # type: ignore[operator]
            pending = None
            out.rows.append(f"{clock.strftime(STAMP)},{line}")
    body = [out.header, *out.rows]
    lengths = {sum(len(row) + ends for row in body) - cut for ends in (1, 2) for cut in (0, ends)}
    if total not in lengths:
        out.problems.append(f"length {sorted(lengths)} against total_chars {total} ({len(out.rows)} rows)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="holds compact/; data/ is written there")
    parser.add_argument("names", nargs="*", help="compact file names (default: all)")
    args = parser.parse_args()
    folder = args.root / "compact"
    paths = [folder / name for name in args.names] if args.names else sorted(folder.glob("*.txt"))
    good = 0
    for path in paths:
        rebuilt = rebuild(path.read_text())
        if rebuilt.problems:
            print(f"{path.name}: " + "; ".join(rebuilt.problems[:8]))
            continue
        target = args.root / rebuilt.source
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join([rebuilt.header, *rebuilt.rows]) + "\n")
        good += 1
        print(f"{path.name}: ok, {len(rebuilt.rows)} rows -> {target}")
    print(f"{good}/{len(paths)} ok")


if __name__ == "__main__":
    main()
