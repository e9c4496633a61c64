"""csrc/core/fl_select.c and fl_pynum.c (through selectbind.c) against Python's own operators.

The selectors' decisions moved from Python's number protocol to C numbers (an int in int64 or
a double): the usage test every selector loop ends with (``tpm_now + tokens > tpm or
rpm_now + 1 > rpm``), cost-based routing's ``sorted(potential, key=cost)[0][0]`` and
latency-based routing's shortlist (``ranked``, ``lowest``, ``ceiling``, ``valid``). Each is
checked here against the Python expression LiteLLM 1.108.7 writes, on Hypothesis-generated
numbers that lean on the edges: ints next to 2**53 and 2**63 (where converting first would
compare wrong), ints and floats that are equal, signed zeros, infinities, NaN, int sums that
leave int64 (declined: None), ties. A declined case must be one the C side cannot answer
(documented in fl_select.h); every other case must give Python's answer.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fast_litellm import _native

I64 = 2**63
EDGE_INTS = [0, 1, -1, 2**53, 2**53 + 1, 2**53 - 1, -(2**53) - 1, I64 - 1, -I64, I64 - 2, 10**6, 4096]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.0, 2.0**53, 2.0**53 + 2, 2.0**63, -(2.0**63), 1e300, -1e300,
               math.inf, -math.inf, math.nan, 5e-324, 1.5, 2.5]

ints = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-(10**6), 10**6),
                 st.integers(-I64, I64 - 1), st.integers(I64, 2**70), st.integers(-(2**70), -I64 - 1))
floats = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-(2**60), 2**60).map(float))
numbers = st.one_of(ints, floats)


def _fits(x):
    return type(x) is float or -I64 <= x < I64


def _py_admits(tpm_now, tokens, tpm, rpm_now, rpm):
    return not (tpm_now + tokens > tpm or rpm_now + 1 > rpm)


@settings(max_examples=3000, deadline=None)
@given(numbers, numbers, numbers, numbers, numbers)
def test_select_admits_is_pythons_usage_test(tpm_now, tokens, tpm, rpm_now, rpm):
    got = _native.select_admits(tpm_now, tokens, tpm, rpm_now, rpm)
    want = _py_admits(tpm_now, tokens, tpm, rpm_now, rpm)
    if got is None:
        # declined only for a number outside int64, or an int sum outside int64 that is reached
        tpm_sum_out = type(tpm_now) is int and type(tokens) is int and not _fits(tpm_now + tokens)
        rpm_sum_out = type(rpm_now) is int and not _fits(rpm_now + 1)
        assert (not all(map(_fits, (tpm_now, tokens, tpm, rpm_now, rpm))) or tpm_sum_out
                or (rpm_sum_out and not (tpm_now + tokens > tpm))), (tpm_now, tokens, tpm, rpm_now, rpm)
        return
    assert got is want, (tpm_now, tokens, tpm, rpm_now, rpm)


def test_select_admits_edges():
    # 2**53 + 1 as an int against 2**53 as a float: an int compared after a conversion would tie
    assert _native.select_admits(2**53, 1, float(2**53), 0, 5) is False
    assert _native.select_admits(2**53, 0, float(2**53), 0, 5) is True
    assert _native.select_admits(I64 - 1, 0, 2.0**63, 0, 5) is True  # int64 max < 2.0**63
    assert _native.select_admits(0, 0, math.nan, 0, math.nan) is True  # `x > nan` is False
    assert _native.select_admits(I64 - 1, 1, 0, 0, 5) is None  # an int sum outside int64
    assert _native.select_admits(2**64, 0, 0, 0, 5) is None
    assert _native.select_admits(0, 0, True, 0, 5) is None  # a bool: not an exact int
    assert _native.select_admits(0, 0, "5", 0, 5) is None


scores = st.lists(numbers, min_size=1, max_size=40)


@settings(max_examples=2000, deadline=None)
@given(scores)
def test_first_min_is_the_stable_sorts_first(values):
    potential = [({"i": i}, v) for i, v in enumerate(values)]
    got = _native.first_min(potential)
    if got is None:
        assert any(not _fits(v) or (type(v) is float and math.isnan(v)) for v in values), values
        return
    assert got is sorted(potential, key=lambda x: x[1])[0][0], values


@settings(max_examples=2000, deadline=None)
@given(st.lists(floats, min_size=1, max_size=60), st.one_of(floats, ints))
def test_shortlist_is_litellms_valid_list(values, buffer):
    potential = [({"i": i}, v) for i, v in enumerate(values)]
    got = _native.shortlist(potential, buffer)
    if got is None:
        assert any(math.isnan(v) for v in values) or not _fits(buffer), (values, buffer)
        return
    ranked = sorted(potential, key=lambda x: x[1])
    lowest = ranked[0][1]
    ceiling = lowest + buffer * lowest
    want = [x[0] for x in ranked if x[1] <= ceiling]
    assert len(got) == len(want) and all(a is b for a, b in zip(got, want)), (values, buffer)


def test_shortlist_ties_keep_their_order_and_the_buffer_is_pythons():
    deps = [{"i": i} for i in range(6)]
    lat = [0.3, 0.1, 0.1000000001, 0.1, 0.2, 0.15]
    got = _native.shortlist(list(zip(deps, lat)), 0.5)
    assert [d["i"] for d in got] == [1, 3, 2, 5]
    assert _native.shortlist(list(zip(deps, lat)), 1) == [deps[i] for i in (1, 3, 2, 5, 4)]
    # a NaN ceiling (-inf * 0): nothing is valid, as in LiteLLM (whose random.choice then raises)
    assert _native.shortlist([(deps[0], -math.inf), (deps[1], 1.0)], 0) == []
    # declined: an int latency (Python compares it exactly; fl_select takes doubles), a NaN,
    # a buffer of another type, not a list of pairs
    assert _native.shortlist([(deps[0], 1), (deps[1], 1.0)], 0.1) is None
    assert _native.shortlist([(deps[0], math.nan)], 0.1) is None
    assert _native.shortlist([(deps[0], 1.0)], "0.1") is None
    assert _native.shortlist([], 0.1) is None
    assert _native.shortlist(((deps[0], 1.0),), 0.1) is None
    assert _native.first_min([(deps[0], 1.0, 2)]) is None
    assert _native.first_min([]) is None
