"""Pure histogram maths: cumulative increments, restarts, rescaled exponential buckets, values, sampling."""

from flux.otlp.histograms import increment, sampled_counts, values


def explicit(counts: list[int], minimum: float | None = None, maximum: float | None = None) -> dict:
    return {"bounds": [10.0, 100.0], "counts": counts, "min": minimum, "max": maximum}


def exponential(scale: int, offset: int, counts: list[int], zero: int = 0) -> dict:
    return {"scale": scale, "zero": zero, "positive": [offset, counts], "negative": [0, []], "min": None, "max": None}


def test_a_cumulative_report_adds_its_difference_bucket_by_bucket() -> None:
    assert increment(explicit([1, 2, 0]), explicit([1, 5, 1]))["counts"] == [0, 3, 1]


def test_a_count_that_went_down_is_a_restart_and_counts_in_full() -> None:
    assert increment(explicit([4, 2, 0]), explicit([1, 0, 0]))["counts"] == [1, 0, 0]


def test_exponential_buckets_are_compared_at_the_lower_scale_after_a_rescale() -> None:
    # Scale 1 buckets 2 and 3 merge into scale 0 bucket 1.
    added = increment(exponential(1, 2, [1, 1]), exponential(0, 1, [5]))

    assert (added["scale"], added["positive"]) == (0, [1, [3]])


def test_explicit_buckets_spread_their_counts_and_keep_the_reported_min_and_max() -> None:
    spread, sampled = values(explicit([0, 4, 1], minimum=20.0, maximum=150.0), limit=100)

    assert (spread[0], spread[-1], len(spread), sampled) == (20.0, 150.0, 5, False)
    assert all(10.0 < value <= 100.0 for value in spread[:4])


def test_exponential_buckets_become_values_inside_their_bounds() -> None:
    spread, _ = values(exponential(0, 3, [2], zero=1), limit=100)  # bucket 3 at scale 0 is (8, 16]

    assert spread[0] == 0.0 and all(8 < value <= 16 for value in spread[1:]) and len(spread) == 3


def test_sampling_keeps_each_buckets_share() -> None:
    assert sampled_counts([500, 300, 200], 10) == [5, 3, 2]
    assert sampled_counts([1, 1, 1], 2) == [1, 1, 0]
