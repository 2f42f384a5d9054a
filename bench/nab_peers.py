"""Published NAB detectors on the very files a run scores: NAB's own per-file raw scores, beside Flux's.

NAB's repository keeps, per detector, `results/<detector>/<detector>_standard_scores.csv`: each file's raw
standard-profile score at the detector's one threshold, chosen in hindsight over the whole corpus. Copied
as `<folder>/<detector>_standard_raw.txt`, one `<group>/<file>.csv <raw score>` per line, they give each
detector's normalised score over exactly the files of this run (the same null and perfect as Flux's),
which the scoreboard's whole-corpus figures are not.

The repository holds several versions of each scores file (older ones scored against older labels). The
right one is the version whose Totals row T gives the standard score that results/final_results.json (or
the scoreboard) publishes: 100 * (T + 116) / 232 for the 116 windows of NAB v1.1 (Numenta HTM 70.1, CAD
OSE 69.9, NumentaTM 64.6, HTM Java 65.5, Windowed Gaussian 39.6, Etsy Skyline 35.7, Bayes changepoint
17.7, ...). Versions checked that way: numenta 4b89bafeb45bbfdc8a393521cf70f2e0a3af8cc5 (T 46.634),
numentaTM 98003f8b424dd0a532df59505700c9cb8e119666, htmjava 8b5f0d4bd906eede46bf971b159b009626940d12,
contextOSE 08d093545d801517e0e6f89c5b396319a93c0a1b, windowedGaussian
de8e91a479f0c8dde58811bfd9c851a6e982f523, skyline bf2de21c7dc3f0d2ff6754bbe0efedcc3162eb94,
bayesChangePt 56dfaca349feac582bb151aee55167aea70ae24b; the stored version of each other one matches.
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


def ranking(
    peers: dict[str, dict[str, float]], files: list[str], flux: dict[str, list[tuple]]
) -> tuple[int, list[tuple[str, float]]]:
    """Every detector, published and Flux's (nab() parts per file, in `files` order), scored over the files
    that every published one scored, best first; and how many files those are."""
    common = [i for i, f in enumerate(files) if all(f in scores for scores in peers.values())]
    if not common:
        return 0, []
    reference = next(iter(flux.values()))  # every detector's parts share a file's null and perfect
    null, perfect = (sum(reference[i][k] for i in common) for k in (1, 2))
    rows = [(label, normalised([parts[i] for i in common])) for label, parts in flux.items()]
    for name, scores in peers.items():
        raw = sum(scores[files[i]] for i in common)
        rows.append((name, normalised([(raw, null, perfect, 0, 0)])))
    return len(common), sorted(rows, key=lambda row: -row[1])
