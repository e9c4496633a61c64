"""The C sampler behind canary:N (fast_litellm._native.Sampler)."""

import math
import os
import random

import pytest
from hypothesis import given, strategies as st

from fast_litellm import _native


def test_sanitized_build_when_expected():
    # make asan-test sets this; it proves the suite really ran on the ASan/UBSan build
    if os.environ.get("FAST_LITELLM_EXPECT_SANITIZED"):
        assert "build/asan" in _native.__file__
    else:
        assert _native.__file__.endswith(".so")
    assert _native.abi_version() == _native.ABI_VERSION == 13


@pytest.mark.parametrize("bad", [-0.01, 100.01, float("nan"), float("inf"), -float("inf")])
def test_rejects_out_of_range(bad):
    with pytest.raises(ValueError, match="0 to 100"):
        _native.Sampler(bad)


@pytest.mark.parametrize("bad", ["50", None, [1]])
def test_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        _native.Sampler(bad)


def test_call_takes_no_arguments():
    s = _native.Sampler(50)
    with pytest.raises(TypeError):
        s(1)
    with pytest.raises(TypeError):
        s(x=1)


@pytest.mark.parametrize("pct", [0, 0.5, 10, 50, 90, 100])
def test_rate_within_six_sigma(pct):
    _native.reseed()
    s = _native.Sampler(pct)
    n = 100_000
    hits = sum(1 for _ in range(n) if s())
    p = pct / 100
    assert abs(hits - n * p) <= 6 * math.sqrt(n * p * (1 - p)) + 1
    assert s.percent == pct and repr(s) == f"Sampler({float(pct)!r})"


def test_seeded_stream_is_reproducible_and_reseed_changes_it():
    s = _native.Sampler(50)
    _native.seed(7)
    a = [s() for _ in range(256)]
    _native.seed(7)
    b = [s() for _ in range(256)]
    _native.reseed()
    c = [s() for _ in range(256)]
    assert a == b
    assert a != c


def test_does_not_touch_python_random():
    # LiteLLM's routing draws from `random`; canary decisions must not shift that stream
    random.seed(1234)
    before = random.getstate()
    s = _native.Sampler(50)
    for _ in range(1000):
        s()
    assert random.getstate() == before


def test_fork_child_gets_its_own_stream():
    _native.reseed()
    s = _native.Sampler(50)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            bits = "".join("1" if s() else "0" for _ in range(128))
            os.write(w, bits.encode())
        finally:
            os._exit(0)
    os.close(w)
    child = os.read(r, 1024).decode()
    os.close(r)
    os.waitpid(pid, 0)
    parent = "".join("1" if s() else "0" for _ in range(128))
    assert len(child) == 128
    assert child != parent  # equal with probability 2^-128


@given(st.floats(min_value=0, max_value=100))
def test_any_valid_percent_constructs(pct):
    s = _native.Sampler(pct)
    assert isinstance(s(), bool)


def test_heap_type_is_immutable_and_module_scoped():
    with pytest.raises(TypeError):
        _native.Sampler.extra = 1  # Py_TPFLAGS_IMMUTABLETYPE
    assert _native.Sampler.__module__ == "fast_litellm._native"
