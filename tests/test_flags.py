import logging

import pytest
from hypothesis import given, strategies as st

from fast_litellm import flags
from fast_litellm.flags import OFF, ON, SHADOW, Mode

DEFAULTS = {"token_counter": ON, "routing": ON, "batch_token_counting": ON, "experimental": OFF}


@pytest.mark.parametrize("raw,mode", [
    ("true", ON), ("TRUE", ON), ("1", ON), ("on", ON), ("yes", ON), (" On ", ON),
    ("false", OFF), ("0", OFF), ("off", OFF), ("no", OFF), ("FALSE", OFF),
    ("shadow", SHADOW), ("Shadow", SHADOW),
    ("canary:10", Mode("canary", 10.0)), ("canary:0", Mode("canary", 0.0)),
    ("canary:100", Mode("canary", 100.0)), ("canary: 2.5", Mode("canary", 2.5)),
    ("CANARY:50%", Mode("canary", 50.0)),
])
def test_parse_accepted(raw, mode):
    assert flags.parse(raw) == mode


@pytest.mark.parametrize("raw", ["", "maybe", "canary", "canary:", "canary:-1", "canary:101",
                                 "canary:nan", "canary:inf", "canary:ten", "2", "truee", "shadow:5"])
def test_parse_malformed(raw):
    with pytest.raises(ValueError, match="canary:N"):
        flags.parse(raw)


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_canary_roundtrip(pct):
    m = flags.parse(f"canary:{pct!r}")
    assert m.kind == "canary" and m.percent == pct
    assert flags.parse(str(m)) == m


@given(st.text(max_size=12))
def test_parse_never_crashes(raw):
    try:
        m = flags.parse(raw)
    except ValueError:
        return
    assert m.kind in ("on", "off", "canary", "shadow")


def test_read_defaults_and_values(caplog):
    env = {"FAST_LITELLM_TOKEN_COUNTER": "false", "FAST_LITELLM_EXPERIMENTAL": "canary:5",
           "UNRELATED": "x"}
    got = flags.read(DEFAULTS, env)
    assert got["token_counter"] == (OFF, "FAST_LITELLM_TOKEN_COUNTER")
    assert got["experimental"] == (Mode("canary", 5.0), "FAST_LITELLM_EXPERIMENTAL")
    assert got["routing"] == (ON, None)


def test_guide_aliases():
    got = flags.read(DEFAULTS, {"FAST_LITELLM_RUST_ROUTING": "false",
                                "FAST_LITELLM_BATCH_TOKEN_COUNTING": "canary:10"})
    assert got["routing"] == (OFF, "FAST_LITELLM_RUST_ROUTING")
    assert got["batch_token_counting"] == (Mode("canary", 10.0), "FAST_LITELLM_BATCH_TOKEN_COUNTING")


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def caplog_fl(caplog):
    logger = logging.getLogger("fast_litellm")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_canonical_beats_alias(caplog_fl):
    got = flags.read(DEFAULTS, {"FAST_LITELLM_RUST_ROUTING": "false", "FAST_LITELLM_ROUTING": "true"})
    assert got["routing"] == (ON, "FAST_LITELLM_ROUTING")
    w = _warnings(caplog_fl)
    assert len(w) == 1 and "FAST_LITELLM_RUST_ROUTING" in w[0] and "wins" in w[0]


def test_malformed_warns_and_keeps_default(caplog_fl):
    got = flags.read(DEFAULTS, {"FAST_LITELLM_ROUTING": "sometimes"})
    assert got["routing"] == (ON, None)
    w = _warnings(caplog_fl)
    assert len(w) == 1
    assert "FAST_LITELLM_ROUTING" in w[0] and flags.ACCEPTED in w[0] and "default" in w[0]


def test_unknown_component_flag_warns(caplog_fl):
    flags.read(DEFAULTS, {"FAST_LITELLM_TOKEN_COUNTR": "true", "FAST_LITELLM_LOG_LEVEL": "DEBUG"})
    w = _warnings(caplog_fl)
    assert len(w) == 1 and "FAST_LITELLM_TOKEN_COUNTR" in w[0]
