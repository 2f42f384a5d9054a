"""Published NAB detectors on the very files a run scores: NAB's own per-file raw scores, beside Flux's.

NAB's repository keeps, per detector, `results/<detector>/<detector>_standard_scores.csv`: each file's raw
standard-profile score at the detector's one threshold, chosen in hindsight over the whole corpus. Copied
as `<folder>/<detector>_standard_raw.txt`, one `<group>/<file>.csv <raw score>` per line, they give each
detector's normalised score over exactly the files of this run (the same null and perfect as Flux's),
which the scoreboard's whole-corpus figures are not.
"""

from __future__ import annotations

from pathlib import Path

from nab_score import normalised

SUFFIX = "_standard_raw.txt"


def load_peers(folder: Path) -> dict[str, dict[str, float]]:
    """detector -> {"group/file.csv": raw score}."""
    peers = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        scores = {}
        for line in path.read_text().splitlines():
            if line.strip():
                relative, raw = line.rsplit(maxsplit=1)
                scores[relative.strip()] = float(raw)
        peers[path.name.removesuffix(SUFFIX)] = scores
    return peers


def peer_rows(
    peers: dict[str, dict[str, float]], files: list[str], flux: dict[str, list[tuple]]
) -> list[tuple[str, int, float, dict[str, float]]]:
    """Per detector: how many of `files` it scored, its normalised score over them, and each of Flux's
    detectors in `flux` (nab() parts per file, in `files` order) over the same files."""
    reference = next(iter(flux.values()))  # every detector's parts share a file's null and perfect
    rows = []
    for name, scores in peers.items():
        covered = [i for i, f in enumerate(files) if f in scores]
        if not covered:
            continue
        raw = sum(scores[files[i]] for i in covered)
        null, perfect = (sum(reference[i][k] for i in covered) for k in (1, 2))
        theirs = 100 * (raw - null) / (perfect - null) if perfect != null else 0.0
        ours = {label: normalised([parts[i] for i in covered]) for label, parts in flux.items()}
        rows.append((name, len(covered), theirs, ours))
    return sorted(rows, key=lambda row: -row[2])
