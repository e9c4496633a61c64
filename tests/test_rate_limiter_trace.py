"""LiteLLM's v3 rate limiter, in process, on a fake clock: stock ``InMemoryCache`` against
``CounterCache`` as the in-memory tier of its ``InternalUsageCache``.

The limiter is LiteLLM's own ``_PROXY_MaxParallelRequestsHandler_v3``, driven through the
hooks the proxy calls for a request: ``async_pre_call_hook`` (descriptors built from a
``UserAPIKeyAuth`` with rpm / tpm / max_parallel_requests limits on key, user and team;
the RPM sliding window, the parallel-request gauge, the TPM reservation), then
``async_post_call_success_hook`` (slot release, the ``x-ratelimit-*`` headers) and
``async_log_success_event`` (TPM charged with the actual usage) or
``async_log_failure_event`` (reservation refunded). Each request runs in its own
``contextvars.Context`` like a proxy request (the limiter keeps its per-request stash in a
ContextVar). The limiter's clock (``time_provider``) and the cache's clock (``clock=``) read
the same fake time.

Three runs of one trace: ``stock`` (LiteLLM's default: 200 entries, evicts live counters
when full), ``spec`` (the same class with ``max_size_in_memory=10**9``: LiteLLM's rules
without the capacity eviction, the executable form of "exact at any number of keys") and
``counter`` (CounterCache wrapping a default InMemoryCache). Below 200 live entries all
three must record the same thing; above it ``counter`` must equal ``spec`` and ``stock``
must not (LiteLLM issue #40221).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from datetime import datetime, timezone

import pytest
from fastapi import HTTPException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.hooks.parallel_request_limiter_v3 import (
    _PROXY_MaxParallelRequestsHandler_v3,
    get_request_stash,
)
from litellm.proxy.utils import InternalUsageCache
from litellm.types.utils import ModelResponse, Usage

from _sub import run
from fast_litellm.counter_cache import CounterCache

MODEL = "demo-model"
T0 = 1_700_000_000.0
KINDS = ("stock", "spec", "counter")


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def seconds(self) -> float:  # InMemoryCache(clock=...)
        return self.t

    def now(self) -> datetime:  # the limiter's time_provider
        return datetime.fromtimestamp(self.t, tz=timezone.utc)


async def _no_tags(_names):
    return {}


def make_limiter(kind: str, clock: FakeClock):
    """The v3 limiter over InternalUsageCache(DualCache) with the in-memory tier `kind`."""
    if kind == "stock":
        mem = InMemoryCache(clock=clock.seconds)
    elif kind == "spec":
        mem = InMemoryCache(max_size_in_memory=10**9, clock=clock.seconds)
    elif kind == "counter":
        mem = CounterCache(InMemoryCache(clock=clock.seconds))
    else:
        raise ValueError(kind)
    dual = DualCache(in_memory_cache=mem)
    assert dual.in_memory_cache is mem  # DualCache keeps it only if it is truthy
    # if another test module imported fast_litellm with the component on, the process-wide
    # patch would wrap a plain InMemoryCache (and take it over): build with LiteLLM's own
    # __init__ (the patched one keeps it as __fast_litellm_original__)
    init = InternalUsageCache.__init__
    init = getattr(init, "__fast_litellm_original__", init)
    usage_cache = InternalUsageCache.__new__(InternalUsageCache)
    init(usage_cache, dual)
    assert usage_cache.dual_cache.in_memory_cache is mem
    assert kind == "counter" or mem.max_size_in_memory == (200 if kind == "stock" else 10**9)
    limiter = _PROXY_MaxParallelRequestsHandler_v3(
        usage_cache, time_provider=clock.now,
        # the proxy-global lookups (router aliases, DB tags, PTU, fail-closed setting)
        # answered as a proxy without router/DB/Redis answers them
        tag_rate_limit_resolver=_no_tags, model_group_resolver=lambda _m: None,
        ptu_team_ceiling_resolver=lambda _t, _m: None, fail_closed_resolver=lambda: False,
        force_hash_tag_grouping_resolver=lambda: False)
    assert limiter.internal_usage_cache.dual_cache.in_memory_cache is mem
    assert limiter.internal_usage_cache.dual_cache.redis_cache is None
    assert type(mem) is (CounterCache if kind == "counter" else InMemoryCache)
    return limiter, mem


# ---- identities ------------------------------------------------------------------------

def make_identities(rng: random.Random, n_keys: int, n_users: int, n_teams: int,
                    tpm_share: float = 0.4, parallel_share: float = 0.3) -> list[dict]:
    users = {f"u{j}": rng.choice([None, rng.randint(3, 12)]) for j in range(n_users)}
    teams = {f"t{j}": (rng.choice([None, rng.randint(4, 15)]),
                       rng.choice([None, rng.randint(80, 600)])) for j in range(n_teams)}
    out = []
    for i in range(n_keys):
        user = rng.choice([None, *users]) if users else None
        team = rng.choice([None, *teams]) if teams else None
        auth = {"api_key": f"sk-t{i}", "rpm_limit": rng.randint(1, 6)}
        if rng.random() < tpm_share:
            auth["tpm_limit"] = rng.randint(30, 400)
        if rng.random() < parallel_share:
            auth["max_parallel_requests"] = rng.randint(1, 3)
        if user is not None:
            auth["user_id"] = user
            auth["user_rpm_limit"] = users[user]
        if team is not None:
            auth["team_id"] = team
            auth["team_rpm_limit"], auth["team_tpm_limit"] = teams[team]
        out.append(auth)
    return out


def key_hash(api_key: str) -> str:
    """The value the proxy's limiter sees: UserAPIKeyAuth stores a hash of an sk- key."""
    return UserAPIKeyAuth(api_key=api_key).api_key


def descriptor_names(identities: list[dict]) -> set[tuple[str, str]]:
    names = set()
    for a in identities:
        names.add(("api_key", key_hash(a["api_key"])))
        names.add(("model_per_key", f"{key_hash(a['api_key'])}:{MODEL}"))
        if a.get("user_id"):
            names.add(("user", a["user_id"]))
        if a.get("team_id"):
            names.add(("team", a["team_id"]))
            names.add(("model_per_team", f"{a['team_id']}:{MODEL}"))
            if a.get("user_id"):
                names.add(("team_member", f"{a['team_id']}:{a['user_id']}"))
    return names


# ---- one trace, one limiter -------------------------------------------------------------

def _exc_record(exc: BaseException):
    if isinstance(exc, HTTPException):
        return ("deny", type(exc).__name__, exc.status_code, exc.detail,
                sorted((exc.headers or {}).items()))
    return ("error", type(exc).__name__, str(exc))


async def run_trace(kind: str, identities: list[dict], ops: list[tuple], snapshot_every: int = 0):
    """Run `ops` against a fresh limiter with the `kind` cache. Returns (records, stats)."""
    clock = FakeClock()
    limiter, mem = make_limiter(kind, clock)
    names = sorted(descriptor_names(identities))
    records: list = []
    inflight: dict[int, tuple] = {}  # request number -> (context, data, auth, identity)
    stats = {"admitted": 0, "denied": 0, "max_entries": 0, "denied_by_key": {}}
    seq = 0

    def snapshot():
        # LiteLLM's own reads of every counter the trace may have touched
        snap = []
        for key, value in names:
            tag = f"{{{key}:{value}}}"
            for suffix in ("window", "requests", "tokens"):
                snap.append(mem.get_cache(f"{tag}:{suffix}"))
            gauge = mem.get_cache(f"{tag}:max_parallel_requests")
            snap.append(limiter._gauge_in_flight_from_cache_value(gauge))
        return [(type(v).__name__, v) for v in snap]

    for n, op in enumerate(ops):
        what = op[0]
        if what == "tick":
            clock.t += op[1]
            records.append(("tick", op[1]))
        elif what == "call":
            _, idx, prompt_words = op
            ident = identities[idx]
            seq += 1
            data = {"model": MODEL, "litellm_call_id": f"call-{seq}",
                    "messages": [{"role": "user", "content": "hello " * prompt_words}]}
            auth = UserAPIKeyAuth(**ident)
            ctx = contextvars.Context()
            try:
                await asyncio.create_task(
                    limiter.async_pre_call_hook(user_api_key_dict=auth, cache=DualCache(), data=data,
                                                call_type="acompletion"), context=ctx)
            except HTTPException as exc:
                stats["denied"] += 1
                stats["denied_by_key"][ident["api_key"]] = stats["denied_by_key"].get(ident["api_key"], 0) + 1
                records.append(("call", seq, _exc_record(exc)))
            except Exception as exc:  # noqa: BLE001 - recorded and compared, both sides
                records.append(("call", seq, _exc_record(exc)))
            else:
                stats["admitted"] += 1
                stash = ctx.run(get_request_stash)
                resp = stash.rate_limit_response if stash is not None else None
                records.append(("call", seq, "ok", resp, stash.reserved_tokens if stash else None,
                                {k: v for k, v in data.items() if k not in ("messages",)}))
                inflight[seq] = (ctx, data, auth, ident)
        elif what in ("finish", "fail"):
            # the oldest (pick=0) or newest (pick=-1) ... request still in flight
            if not inflight:
                records.append((what, None))
                continue
            order = sorted(inflight)
            num = order[op[1] % len(order)]
            ctx, data, auth, ident = inflight.pop(num)
            kwargs = {
                "litellm_call_id": data["litellm_call_id"],
                "standard_logging_object": {"metadata": {
                    "user_api_key_hash": auth.api_key,
                    "user_api_key_user_id": ident.get("user_id"),
                    "user_api_key_team_id": ident.get("team_id")}},
                "litellm_params": {"metadata": {"model_group": MODEL}},
            }
            if what == "finish":
                prompt, completion = op[2], op[3]
                response = ModelResponse(usage=Usage(prompt_tokens=prompt, completion_tokens=completion,
                                                     total_tokens=prompt + completion))
                await asyncio.create_task(
                    limiter.async_post_call_success_hook(data=data, user_api_key_dict=auth,
                                                         response=response), context=ctx)
                headers = dict(sorted((response._hidden_params.get("additional_headers") or {}).items()))
                await asyncio.create_task(
                    limiter.async_log_success_event(kwargs, response, clock.now(), clock.now()),
                    context=ctx)
                records.append(("finish", num, headers))
            else:
                await asyncio.create_task(
                    limiter.async_log_failure_event(kwargs, None, clock.now(), clock.now()), context=ctx)
                records.append(("fail", num))
        else:
            raise ValueError(op)
        if kind != "counter":
            stats["max_entries"] = max(stats["max_entries"], len(mem.cache_dict))
        if snapshot_every and (n + 1) % snapshot_every == 0:
            records.append(("snapshot", n, snapshot()))
    records.append(("final", snapshot()))
    return records, stats


def run_all(identities, ops, kinds=KINDS, snapshot_every=0):
    return {k: asyncio.run(run_trace(k, identities, ops, snapshot_every)) for k in kinds}


def first_difference(a: list, b: list):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, x, y
    return (min(len(a), len(b)), "<length>", (len(a), len(b))) if len(a) != len(b) else None


# ---- generated traces ----------------------------------------------------------------------

def random_ops(rng: random.Random, n_identities: int, n_ops: int) -> list[tuple]:
    ops: list[tuple] = []
    for _ in range(n_ops):
        r = rng.random()
        if r < 0.50:
            ops.append(("call", rng.randrange(n_identities), rng.randint(1, 60)))
        elif r < 0.72:
            p = rng.randint(0, 120)
            ops.append(("finish", rng.choice([0, -1, rng.randrange(1000)]), p, rng.randint(0, 80)))
        elif r < 0.78:
            ops.append(("fail", rng.choice([0, -1])))
        elif r < 0.97:
            ops.append(("tick", rng.choice([0.0, 0.3, 1.0, 2.5, 7.0])))
        else:
            # across window boundaries and expiries
            ops.append(("tick", rng.choice([29.5, 59.0, 60.0, 61.0, 75.0])))
    return ops


def shape(records) -> dict:
    out = {"ok": 0, "deny": 0, "finish_headers": 0}
    for r in records:
        if r[0] == "call":
            out["ok" if r[2] == "ok" else "deny"] += 1
        elif r[0] == "finish" and len(r) > 2 and r[2]:
            out["finish_headers"] += 1
    return out


@pytest.mark.parametrize("seed", range(8))
def test_random_trace_under_200_entries_identical(seed):
    """~35 descriptors (20 keys, users, teams), 600 operations: every decision, 429 detail and
    header, every reservation, every x-ratelimit header, and the counters every 50 operations
    are the same with stock InMemoryCache, the never-evicting spec and CounterCache."""
    rng = random.Random(seed)
    identities = make_identities(rng, n_keys=20, n_users=5, n_teams=4)
    ops = random_ops(rng, len(identities), 600)
    res = run_all(identities, ops, snapshot_every=50)
    stock, spec, counter = (res[k][0] for k in KINDS)
    # precondition: the stock cache never reached its 200 entries (no live eviction), so
    # stock is exact here and must agree with the spec
    assert res["stock"][1]["max_entries"] < 200, res["stock"][1]["max_entries"]
    assert stock == spec, first_difference(stock, spec)
    assert counter == stock, first_difference(counter, stock)
    # the trace exercises what it claims: admissions, 429s, headers
    s = shape(stock)
    assert s["ok"] > 50 and s["deny"] > 20 and s["finish_headers"] > 20, s
    denials = {r[2][2] for r in stock if r[0] == "call" and r[2] != "ok"}
    assert denials == {429}, denials
    details = " ".join(r[2][3] for r in stock if r[0] == "call" and r[2] != "ok")
    assert "Limit type: requests" in details


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hypothesis_short_traces_identical(data):
    n_keys = data.draw(st.integers(1, 6), label="keys")
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="identity seed"))
    identities = make_identities(rng, n_keys=n_keys, n_users=2, n_teams=2, tpm_share=0.5,
                                 parallel_share=0.5)
    op = st.one_of(
        st.tuples(st.just("call"), st.integers(0, n_keys - 1), st.integers(0, 200)),
        st.tuples(st.just("finish"), st.integers(-2, 3), st.integers(0, 500), st.integers(0, 500)),
        st.tuples(st.just("fail"), st.integers(-2, 2)),
        st.tuples(st.just("tick"), st.sampled_from([0.0, 0.5, 1.0, 30.0, 59.0, 59.999, 60.0, 61.0,
                                                   120.0, 3599.0, 3601.0])),
    )
    ops = data.draw(st.lists(op, min_size=1, max_size=40), label="ops")
    res = run_all(identities, ops, kinds=("stock", "counter"), snapshot_every=5)
    assert res["stock"][1]["max_entries"] < 200
    stock, counter = res["stock"][0], res["counter"][0]
    assert counter == stock, first_difference(counter, stock)


def round_robin_ops(n_keys: int, per_key: int, finish: bool, tick: float) -> list[tuple]:
    ops: list[tuple] = []
    for _ in range(per_key):
        for i in range(n_keys):
            ops.append(("call", i, 3))
            if finish:
                ops.append(("finish", -1, 5, 4))
            ops.append(("tick", tick))
    return ops


def test_500_keys_counter_matches_spec_and_stock_loses_counters():
    """500 keys with rpm_limit=5, 6 requests each, round-robin (every key live at once):
    ~2,000 live entries. CounterCache records exactly what the never-evicting spec records
    (decisions, headers, TPM counters); LiteLLM's stock cache admits more than 5 per key."""
    n_keys, limit = 500, 5
    identities = [{"api_key": f"sk-t{i}", "rpm_limit": limit} for i in range(n_keys)]
    ops = round_robin_ops(n_keys, limit + 1, finish=True, tick=0.004)  # 3,000 requests in 12 s
    res = run_all(identities, ops)
    (stock, stock_stats), (spec, spec_stats), (counter, counter_stats) = (res[k] for k in KINDS)
    assert spec_stats["admitted"] == n_keys * limit and spec_stats["denied"] == n_keys
    assert spec_stats["denied_by_key"] == {f"sk-t{i}": 1 for i in range(n_keys)}
    assert spec_stats["max_entries"] > 1000  # far above LiteLLM's 200
    assert counter == spec, first_difference(counter, spec)
    assert counter_stats["admitted"] == n_keys * limit
    # the final counters: every key's window holds 6 requests (LiteLLM counts the refused
    # 6th before it compares) and 5 * 9 tokens charged after the 5 admitted ones
    final = counter[-1][1]
    per = 4  # window, requests, tokens, gauge per descriptor name (sorted)
    names = sorted(descriptor_names(identities))
    by_name = {names[j]: final[j * per:(j + 1) * per] for j in range(len(names))}
    for i in range(n_keys):
        h = key_hash(f"sk-t{i}")
        window, requests, tokens, gauge = by_name[("api_key", h)]
        assert requests == ("int", limit + 1) and tokens == ("int", limit * 9) and gauge == ("int", 0), (
            i, window, requests, tokens)
        assert window[0] == "int" and by_name[("model_per_key", f"{h}:{MODEL}")][2] == ("int", limit * 9)
    assert stock_stats["admitted"] > n_keys * limit, (
        "LiteLLM's stock InMemoryCache enforced rpm_limit exactly at 500 keys: the eviction "
        f"of live counters (issue #40221) seems fixed upstream: {stock_stats}")
    assert stock != spec


def test_500_keys_tpm_reservations_and_charges_match_spec():
    """500 keys with tpm_limit (reservation on): reservations, refunds (failures) and the
    post-call charges give the same decisions and counters as the spec."""
    rng = random.Random(7)
    identities = [{"api_key": f"sk-t{i}", "rpm_limit": 50, "tpm_limit": rng.randint(40, 200)}
                  for i in range(500)]
    ops: list[tuple] = []
    for rnd in range(4):
        for i in range(500):
            ops.append(("call", i, rng.randint(1, 30)))
            if rng.random() < 0.8:
                ops.append(("finish", -1, rng.randint(0, 60), rng.randint(0, 40)))
            else:
                ops.append(("fail", -1))
            ops.append(("tick", 0.01))
    res = run_all(identities, ops, kinds=("spec", "counter"))
    spec, counter = res["spec"][0], res["counter"][0]
    assert counter == spec, first_difference(counter, spec)
    st_ = res["spec"][1]
    assert st_["denied"] > 50 and st_["admitted"] > 500, st_
    details = " ".join(r[2][3] for r in spec if r[0] == "call" and r[2] != "ok")
    assert "Limit type: tokens" in details


def test_tpm_post_call_charging_identical():
    """TPM: the pre-call reservation, the post-call (actual - reserved) reconciliation through
    async_log_success_event, refunds on failure; with reservation on and off. The token
    counters (and every decision) are the same with stock and CounterCache."""
    rng = random.Random(11)
    identities = [{"api_key": f"sk-t{i}", "rpm_limit": 100, "tpm_limit": 150,
                   "team_id": "t0", "team_tpm_limit": 900, "team_rpm_limit": 1000,
                   "user_id": f"u{i % 3}", "user_tpm_limit": 400, "user_rpm_limit": 1000}
                  for i in range(8)]
    ops: list[tuple] = []
    for _ in range(300):
        ops.append(("call", rng.randrange(8), rng.randint(1, 50)))
        r = rng.random()
        if r < 0.7:
            ops.append(("finish", rng.choice([0, -1]), rng.randint(0, 90), rng.randint(0, 60)))
        elif r < 0.85:
            ops.append(("fail", 0))
        ops.append(("tick", rng.choice([0.1, 0.5, 2.0, 2.0, 9.0])))
    for reservation in ("true", "false"):
        mp = pytest.MonkeyPatch()
        mp.setenv("LITELLM_TPM_TOKEN_RESERVATION_ENABLED", reservation)
        try:
            res = run_all(identities, ops, kinds=("stock", "counter"), snapshot_every=20)
        finally:
            mp.undo()
        stock, counter = res["stock"][0], res["counter"][0]
        assert res["stock"][1]["max_entries"] < 200
        assert counter == stock, (reservation, first_difference(counter, stock))
        # charged tokens are visible in the counters and differ from request counts
        finals = stock[-1][1]
        names = sorted(descriptor_names(identities))
        tokens = {names[j]: finals[j * 4 + 2] for j in range(len(names))}
        assert any(v[0] == "int" and v[1] and v[1] > 50 for v in tokens.values()), tokens
        assert tokens[("team", "t0")][1], tokens
        details = " ".join(r[2][3] for r in stock if r[0] == "call" and r[2] != "ok")
        assert "Limit type: tokens" in details, reservation


def test_parallel_request_gauges_beyond_200_keys_match_spec():
    """max_parallel_requests=1 on 300 keys: one request per key held in flight, then a second
    per key must be refused (all 300) as the spec refuses them."""
    n = 300
    identities = [{"api_key": f"sk-t{i}", "rpm_limit": 100, "max_parallel_requests": 1}
                  for i in range(n)]
    ops = [("call", i, 2) for i in range(n)] + [("tick", 1.0)] + [("call", i, 2) for i in range(n)]
    res = run_all(identities, ops, kinds=("spec", "counter"))
    assert res["spec"][1]["denied"] == n
    assert res["counter"][0] == res["spec"][0], first_difference(res["counter"][0], res["spec"][0])


def test_counter_cache_is_truthy_like_in_memory_cache():
    """LiteLLM writes `in_memory_cache or InMemoryCache()` (DualCache.__init__): a stock
    InMemoryCache is always truthy; a CounterCache handed to DualCache must be kept, empty
    or not (an earlier CounterCache defined __len__ and was silently replaced when empty)."""
    cc = CounterCache(InMemoryCache())
    assert bool(InMemoryCache()) is True and bool(cc) is True
    assert DualCache(in_memory_cache=cc).in_memory_cache is cc
    cc.set_cache("k", 1, ttl=60)
    cc.delete_cache("k")
    assert DualCache(in_memory_cache=cc).in_memory_cache is cc


# ---- the patch itself (a fresh interpreter: the patch is process-wide) ---------------------

PATCH_PROBE = """
import fast_litellm
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.proxy.utils import InternalUsageCache
from fast_litellm.counter_cache import CounterCache
plain = InternalUsageCache(DualCache())
mem = plain.dual_cache.in_memory_cache
sized = InMemoryCache(max_size_in_memory=7)
other = InternalUsageCache(DualCache(in_memory_cache=sized))
emit({"active": fast_litellm.active_components(),
      "type": type(mem).__name__,
      "is_counter": isinstance(mem, CounterCache),
      "wraps": type(getattr(mem, "_py", None)).__name__,
      "sized_wrapped": getattr(other.dual_cache.in_memory_cache, "_py", None) is sized,
      "sized_max": other.dual_cache.in_memory_cache.max_size_in_memory})
"""


@pytest.mark.parametrize("flag", ["true", "false"])
def test_component_patches_internal_usage_cache(flag):
    res, _err = run(PATCH_PROBE, {"FAST_LITELLM_RATE_LIMITER": flag}, plugins=None)
    if flag == "true":
        assert "rate_limiter" in res["active"], res
        assert res["type"] == "CounterCache" and res["is_counter"] is True, res
        assert res["wraps"] == "InMemoryCache" and res["sized_wrapped"] is True, res
        assert res["sized_max"] == 7
    else:
        assert "rate_limiter" not in res["active"], res
        assert res["type"] == "InMemoryCache" and res["is_counter"] is False, res


METRICS_PROBE = """
import fast_litellm
from litellm.caching.dual_cache import DualCache
from litellm.proxy.utils import InternalUsageCache
from prometheus_client import REGISTRY, generate_latest
usage = InternalUsageCache(DualCache())
mem = usage.dual_cache.in_memory_cache
small = InternalUsageCache(DualCache()).dual_cache.in_memory_cache
for i in range(100):
    mem.set_cache(f"{{api_key:k{i}}}:requests", i, ttl=60)
    small.set_cache(f"{{api_key:k{i}}}:requests", i, ttl=60)
mem.set_cache("gauge", {"slot": 1.0}, ttl=60)
objects = len(mem._py.cache_dict) + len(small._py.cache_dict)
text = generate_latest(REGISTRY).decode()
emit({"lines": [ln for ln in text.splitlines() if ln.startswith("fast_litellm_") and "rate_limiter" in ln],
      "entries": len(mem._map) + len(small._map), "bytes": mem.memory + small.memory,
      "objects": objects})
"""


def test_rate_limiter_metrics():
    """Gauges of the tables, and the memory cap: 4 KB per table, so many of the 100 counters
    of each cache overflow to the object store, each counted as a fallback, logged once."""
    res, err = run(METRICS_PROBE, {"FAST_LITELLM_RATE_LIMITER": "true",
                                   "FAST_LITELLM_RATE_LIMITER_MAX_MEMORY": "4096"}, plugins=None)
    lines = dict(ln.rsplit(" ", 1) for ln in res["lines"])
    key = '{component="rate_limiter"}'
    assert float(lines["fast_litellm_counter_table_entries" + key]) == res["entries"] > 0
    assert float(lines["fast_litellm_counter_table_bytes" + key]) == res["bytes"] <= 2 * 4096
    assert float(lines["fast_litellm_counter_object_entries" + key]) == res["objects"]
    overflowed = res["objects"] - 1  # all but the gauge dict
    assert overflowed > 0 and overflowed + res["entries"] == 200
    assert float(lines["fast_litellm_fallbacks_total" + key]) == overflowed
    assert err.count("rate_limiter: the counter table reached") == 2  # once per cache
