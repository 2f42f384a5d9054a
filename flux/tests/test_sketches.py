import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flux.query.db import fetch_all
from flux.query.sketches import (
    EXACT_LIMIT,
    RELATIVE_ACCURACY,
    Cardinality,
    key_sql,
    key_value,
    merge_counts,
    quantile,
    value_key,
)


def sketch_of(values: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[value_key(value)] = counts.get(value_key(value), 0) + 1
    return counts


def random_hashes(count: int, seed: int) -> list[int]:
    return np.random.default_rng(seed).integers(-(2**63), 2**63 - 1, size=count, dtype=np.int64).tolist()


@given(st.floats(min_value=1e-6, max_value=1e12) | st.floats(min_value=-1e12, max_value=-1e-6))
def test_every_value_is_stood_for_within_the_relative_accuracy(value: float) -> None:
    assert key_value(value_key(value)) == pytest.approx(value, rel=RELATIVE_ACCURACY)


def test_keys_sort_like_their_values() -> None:
    values = [-1e6, -3.5, -1e-3, 0.0, 1e-12, 1e-3, 2.0, 2.1, 1e9]
    keys = [value_key(value) for value in values]
    assert keys == sorted(keys)
    assert value_key(1e-12) == 0 == value_key(-1e-12)


@settings(max_examples=60)
@given(
    st.lists(st.floats(min_value=0.01, max_value=1e7), min_size=1, max_size=300),
    st.sampled_from([0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]),
)
def test_quantiles_are_within_one_percent_of_percentile_cont(values: list[float], fraction: float) -> None:
    exact = float(np.quantile(values, fraction))  # numpy's default is percentile_cont's interpolation
    estimate = quantile(sketch_of(values), fraction, min(values), max(values))
    assert estimate == pytest.approx(exact, rel=RELATIVE_ACCURACY)


def test_quantiles_of_merged_sketches_equal_those_of_the_whole() -> None:
    rng = random.Random(3)  # noqa: S311 - test data
    parts = [[rng.lognormvariate(4, 1) for _ in range(500)] for _ in range(5)]
    merged: dict[int, int] = {}
    for part in parts:
        sketch = sketch_of(part)
        merge_counts(merged, sketch.keys(), sketch.values())
    whole = [value for part in parts for value in part]
    assert merged == sketch_of(whole)
    assert quantile(merged, 0.99) == pytest.approx(float(np.quantile(whole, 0.99)), rel=RELATIVE_ACCURACY)


def test_quantile_of_nothing_is_none_and_of_one_value_is_that_value() -> None:
    assert quantile({}, 0.5) is None
    assert quantile(sketch_of([42.0]), 0.99, 42.0, 42.0) == 42.0
    assert quantile(sketch_of([0.0, 0.0]), 0.5) == 0.0


@pytest.mark.django_db
def test_sql_keys_equal_python_keys() -> None:
    values = [-123456.789, -1.0, -1e-10, 0.0, 1e-9, 1.5e-9, 0.5, 1.0, 1.0202, 99.99, 1e15]
    rows = fetch_all(f"SELECT v, {key_sql('v')} FROM unnest(%s::float8[]) AS v", [values])
    assert {value: key for value, key in rows} == {value: value_key(value) for value in values}


def test_cardinality_is_exact_up_to_the_limit_and_merges_by_union() -> None:
    first, second = Cardinality(), Cardinality()
    first.add_hashes(range(0, 600))
    second.add_hashes(range(300, EXACT_LIMIT))
    first.merge(second)
    assert first.registers is None
    assert first.estimate() == EXACT_LIMIT
    hashes, registers = first.stored()
    assert registers is None and hashes == list(range(EXACT_LIMIT))


@pytest.mark.parametrize("count", [EXACT_LIMIT + 1, 5_000, 40_000, 150_000, 1_000_000])
def test_large_cardinalities_are_within_two_percent(count: int) -> None:
    sketch = Cardinality()
    sketch.add_hashes(random_hashes(count, seed=count))
    assert sketch.registers is not None
    assert abs(sketch.estimate() - count) / count <= 0.02


def test_registers_merge_like_the_union_and_survive_storage() -> None:
    hashes = random_hashes(60_000, seed=7)
    left, right, whole = Cardinality(), Cardinality(), Cardinality()
    left.add_hashes(hashes[:40_000])
    right.add_hashes(hashes[20_000:] + hashes[:10])  # overlapping, and some duplicates
    whole.add_hashes(hashes)
    left.merge(Cardinality.from_stored(*right.stored()))
    assert np.array_equal(left.registers, whole.registers)
    small = Cardinality.from_stored([1, 2, 3], None)
    small.merge(left)
    assert math.isclose(small.estimate(), whole.estimate(), rel_tol=1e-3)


def test_empty_cardinality() -> None:
    assert Cardinality().estimate() == 0
    assert Cardinality().stored() == (None, None)
    assert Cardinality.from_stored(None, None).estimate() == 0
