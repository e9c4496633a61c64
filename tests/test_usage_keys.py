"""usage-based-routing-v2's counter keys (``routing`` component, ``_native.usage_keys``)
against LiteLLM 1.108.7's ``LowestTPMLoggingHandler_v2.usage_counter_keys``.

Generated candidate lists mix plain deployments with everything the method's f-strings and
``.get`` chains treat differently: ids and models of every type (str with odd characters,
ints beyond int64, bools, floats, None, str subclasses, objects with their own ``__format__``),
missing or non-dict ``model_info``/``litellm_params`` (which raise), dict subclasses, and
non-dict items (skipped). The clock is frozen on the module (both sides read it at call
time). Compared: the two key lists, or the exception (type and message).
"""

from __future__ import annotations

import datetime
import random
import types

import pytest

import fast_litellm
import litellm  # noqa: F401
from fast_litellm import _native
from fast_litellm.components import routing as routing_comp
from litellm.caching.dual_cache import DualCache
from litellm.router_strategy import lowest_tpm_rpm_v2 as v2


class SubStr(str):
    pass


class SubDict(dict):
    pass


class Fmt:
    def __format__(self, spec):
        return "custom-format"


VALUES = ["gpt-4o", "openai/gpt-4o-mini", "", "a:b", "é✓\U0001f600", "\ud800", None, 0, 7, -12, 2**63 - 1,
          2**63, 2**80, True, False, 1.5, SubStr("s"), Fmt(), b"bytes", ("t",)]
ITEMS = [None, 3, "str item", 1.5, True, b"b", [1], (1,), {1, 2}, Fmt()]


def gen(rng: random.Random):
    out = []
    plain = rng.random() < 0.5
    for i in range(rng.choice([0, 1, 2, 5, 20])):
        d = {"model_name": "m", "litellm_params": {"model": f"openai/gpt-{i}"}, "model_info": {"id": f"id-{i}"}}
        if not plain:
            r = rng.random()
            if r < 0.15:
                d["model_info"]["id"] = rng.choice(VALUES)
            elif r < 0.3:
                d["litellm_params"]["model"] = rng.choice(VALUES)
            elif r < 0.35:
                del d["model_info"]
            elif r < 0.4:
                del d["litellm_params"]["model"]
            elif r < 0.43:
                d["model_info"] = rng.choice([None, "x", SubDict(id="s"), types.MappingProxyType({"id": "p"})])
            elif r < 0.46:
                d["litellm_params"] = rng.choice([None, SubDict(model="s")])
            elif r < 0.49:
                d = SubDict(d)
            elif r < 0.55:
                d = rng.choice(ITEMS)
        out.append(d)
    return out if rng.random() < 0.8 else tuple(out)


def _outcome(handler, deps):
    try:
        return ("ok", handler.usage_counter_keys(deps))
    except Exception as e:  # noqa: BLE001 - compared, type and message
        return ("err", type(e).__name__, str(e))


@pytest.fixture
def frozen(monkeypatch):
    fixed = datetime.datetime(2025, 1, 2, 3, 4, 5)
    monkeypatch.setattr(v2, "get_utc_datetime", lambda: fixed)


@pytest.mark.parametrize("seed", range(3))
def test_generated_lists_same_keys(frozen, seed):
    rng = random.Random(seed)
    cases = [gen(rng) for _ in range(1500)]
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=DualCache())
    fast_litellm.revert()
    try:
        want = [_outcome(handler, c) for c in cases]
    finally:
        fast_litellm.apply()
    before = dict(routing_comp.USAGE_KEYS_FAST)
    got = [_outcome(handler, c) for c in cases]
    for c, a, b in zip(cases, want, got):
        assert a == b, (c, a, b)
    served = routing_comp.USAGE_KEYS_FAST["served"] - before["served"]
    delegated = routing_comp.USAGE_KEYS_FAST["delegated"] - before["delegated"]
    assert served > 700 and delegated > 200, (served, delegated)
    assert {w[0] for w in want} == {"ok", "err"}


def test_the_clock_is_read_once_per_call(monkeypatch):
    calls = []
    times = iter([datetime.datetime(2025, 1, 2, 3, 4, 59), datetime.datetime(2025, 1, 2, 3, 5, 0)])

    def clock():
        calls.append(1)
        return next(times)

    monkeypatch.setattr(v2, "get_utc_datetime", clock)
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=DualCache())
    # a list the C builder declines: the method's own Python, with the minute already read
    tpm, rpm = handler.usage_counter_keys([SubDict(model_info={"id": "a"}, litellm_params={"model": "x"})])
    assert calls == [1] and tpm == ["a:x:tpm:03-04"] and rpm == ["a:x:rpm:03-04"]


def test_generated_lists_same_keys_as_the_minute_changes(monkeypatch):
    """The remembered keys (USAGE_KEY_MEMO) follow the minute: a clock that moves between
    minutes and back, ids whose model changes between lists."""
    rng = random.Random(9)
    cases = [gen(rng) for _ in range(1500)]
    handler = v2.LowestTPMLoggingHandler_v2(router_cache=DualCache())
    base = datetime.datetime(2025, 1, 2, 3, 4, 5)

    def run():
        steps = iter(range(10**9))
        monkeypatch.setattr(v2, "get_utc_datetime",
                            lambda: base + datetime.timedelta(minutes=(next(steps) // 7) % 3))
        return [_outcome(handler, c) for c in cases]

    fast_litellm.revert()
    try:
        want = run()
    finally:
        fast_litellm.apply()
    got = run()
    assert got == want
    assert len({k.rsplit(":", 1)[1] for w in want if w[0] == "ok" for k in w[1][0]}) == 3


def test_usage_key_memo():
    deps = [{"model_info": {"id": f"id-{i}"}, "litellm_params": {"model": "m"}} for i in range(5)]
    memo = {}
    first = _native.usage_keys(deps, "03-04", memo)
    # five ids, the minute (None) and the last answer (Ellipsis)
    assert first == _native.usage_keys(deps, "03-04") and memo[None] == "03-04" and len(memo) == 7
    again = _native.usage_keys(deps, "03-04", memo)
    assert all(a is b for a, b in zip(first[0] + first[1], again[0] + again[1]))  # the same objects
    assert again[0] is not first[0] and again[1] is not first[1]  # new lists, as LiteLLM returns
    deps[2]["litellm_params"]["model"] = "other"  # a changed model: its keys are built again
    changed = _native.usage_keys(deps, "03-04", memo)
    assert changed[0][2] == "id-2:other:tpm:03-04" and changed[1][2] == "id-2:other:rpm:03-04"
    later = _native.usage_keys(deps, "03-05", memo)  # another minute: the memo starts over
    assert later[0][0] == "id-0:m:tpm:03-05" and memo[None] == "03-05" and len(memo) == 7
    ints = [{"model_info": {"id": 7}, "litellm_params": {"model": "m"}}]  # remembered by its text
    assert _native.usage_keys(ints, "03-05", memo) == (["7:m:tpm:03-05"], ["7:m:rpm:03-05"]) and "7" in memo
    strs = [{"model_info": {"id": "7"}, "litellm_params": {"model": "m"}}]  # the same text, the same keys
    assert _native.usage_keys(strs, "03-05", memo) == (["7:m:tpm:03-05"], ["7:m:rpm:03-05"])
    memo[None] = 5  # a memo not of this module's making is started over, not trusted
    memo["id-0"] = ("m", "wrong", "wrong")
    assert _native.usage_keys(deps[:1], "03-05", memo) == (["id-0:m:tpm:03-05"], ["id-0:m:rpm:03-05"])
    memo["id-0"] = ("m", "wrong")  # a malformed entry is rebuilt
    assert _native.usage_keys(deps[:1], "03-05", memo) == (["id-0:m:tpm:03-05"], ["id-0:m:rpm:03-05"])
    many = [{"model_info": {"id": f"n{i}"}, "litellm_params": {"model": "m"}} for i in range(70_000)]
    assert _native.usage_keys(many, "03-05", memo) == _native.usage_keys(many, "03-05")
    assert len(memo) <= 65_538 and memo[None] == "03-05"  # bounded, the minute kept
    with pytest.raises(TypeError):
        _native.usage_keys(deps, "03-05", [])


def test_last_answer_follows_deployments_changed_in_place():
    """usage_keys hands out its last lists again for the same items while every deployment,
    its model_info and its litellm_params keep their version tags; every in-place change
    between calls gives the keys the memo-less scan gives (itself checked against LiteLLM
    above), as does a new minute."""
    rng = random.Random(5)
    memo = {}
    deps = [{"model_info": {"id": f"d{i}"}, "litellm_params": {"model": f"m{i % 3}"}} for i in range(10)]
    deps += [None, 5, "text"]  # items LiteLLM skips
    kept = []
    seq = deps
    minute = "03-04"
    served_again = 0
    for step in range(3000):
        r = rng.random()
        d = rng.choice(deps[:10])
        if r < 0.08:
            d.setdefault("model_info", {})["id"] = rng.choice(["x", f"d{step}", 5, True, None, "d0"])
        elif r < 0.14:
            d.setdefault("litellm_params", {})["model"] = rng.choice(["m0", "other", None, 3, f"m{step}"])
        elif r < 0.18:
            kept.append(d.get("litellm_params"))  # (alive: its memory cannot become the new one's)
            d["litellm_params"] = {"model": rng.choice(["m1", "new"])}
        elif r < 0.21:
            kept.append(d.get("model_info"))
            d["model_info"] = {"id": rng.choice(["y", 9])}
        elif r < 0.23:
            d.pop(rng.choice(["model_info", "litellm_params"]), None)
        elif r < 0.25:
            d.setdefault("model_info", {})
            d.setdefault("litellm_params", {})
        elif r < 0.28:
            d["note"] = step
        elif r < 0.33:
            seq = list(deps)
            rng.shuffle(seq)
        elif r < 0.36:
            seq = deps[: rng.randint(0, len(deps))]
        elif r < 0.38:
            seq = tuple(deps)
        elif r < 0.4:
            minute = rng.choice(["03-04", "03-05"])
        elif r < 0.42:
            seq = list(seq) + [{"model_info": {"id": 1.5}}]  # not plain: None
        before = memo.get(Ellipsis)
        got = _native.usage_keys(seq, minute, memo)
        assert got == _native.usage_keys(seq, minute), step
        if got is not None and before is not None and before is memo.get(Ellipsis):
            served_again += 1
        if isinstance(seq, list) and seq and isinstance(seq[-1], dict) and seq[-1].get("model_info", {}).get("id") == 1.5:
            seq = deps
    assert served_again > 300, served_again


def test_last_answers_for_lists_used_in_turn():
    """A pick reads the keys of the candidates before the cooldown filter, then of those
    after it, for each model group it serves in turn: the last 16 answers are kept
    (memo[Ellipsis], most recently used first), so lists used in turn build none again; a
    17th list evicts the least recently used answer."""
    deps = [{"model_info": {"id": f"d{i}"}, "litellm_params": {"model": "m"}} for i in range(20)]
    lists = [deps[k:] for k in range(17)]
    memo = {}
    answers = [_native.usage_keys(x, "03-04", memo) for x in lists[:16]]
    recs = list(memo[Ellipsis])
    assert len(recs) == 16
    for _ in range(3):
        for x, a in zip(lists[:16], answers):
            assert _native.usage_keys(list(x), "03-04", memo) == a == _native.usage_keys(x, "03-04")
        assert sorted(map(id, memo[Ellipsis])) == sorted(map(id, recs))  # none built again
    assert memo[Ellipsis][0] is recs[0] and memo[Ellipsis][-1] is recs[-1]  # (used in order)
    oldest = memo[Ellipsis][-1]
    c = _native.usage_keys(lists[16], "03-04", memo)
    assert c == _native.usage_keys(lists[16], "03-04") and len(memo[Ellipsis]) == 16
    assert all(r is not oldest for r in memo[Ellipsis])


def test_usage_keys_directly():
    deps = [{"model_info": {"id": "a"}, "litellm_params": {"model": "m"}}, None, {"litellm_params": {}}, 5]
    assert _native.usage_keys(deps, "03-04") == (["a:m:tpm:03-04", "None:None:tpm:03-04"],
                                                 ["a:m:rpm:03-04", "None:None:rpm:03-04"])
    assert _native.usage_keys(iter(deps), "03-04") is None
    assert _native.usage_keys([{"model_info": None}], "03-04") is None
    with pytest.raises(TypeError):
        _native.usage_keys([], 5)
