"""rate_limiter A/B: LiteLLM's v3 limiter unpatched and with fast_litellm.

One process, variants interleaved (stock: every fast_litellm patch reverted, the limiter
built on LiteLLM's InMemoryCache; fast_litellm: every component applied, the limiter built
as the patched proxy builds it -- CounterCache, the pre-call hook's plain path) for
``--rounds`` rounds of about ``--seconds`` each: the cost of one ``async_pre_call_hook``
(what the proxy runs per request), and one request's whole limiter work (pre-call hook, post-call success
hook, success event) with a parallel-request limit on the key, built as the proxy builds it
(bench_ratelimit.build_limiter), for 1 and 8 descriptors over 10 and 1,000,000 keys
(round-robin). Reported: median per-call time over rounds with min-max, and the ratio
stock / fast_litellm round by round; for the lifecycle also the same loop without the
limiter's calls (``harness``: the request dict, the response object, the event-loop round
trip), timed in the same rounds, and each variant net of it -- the limiter's own cost and
its ratio; and ``floor`` (rl_floor.py: only the mandatory observable work, no checks -- a
model, not a limiter), net of the same harness: the best ratio any Python-glued limiter
could reach. Then memory:
bytes per descriptor held by each cache after one request per key (tracemalloc for the
Python store, the C table's own count for CounterCache), and the enforcement probe (keys
with rpm_limit=3, 10 requests each, round-robin: how many 429s).

    .venv/bin/python bench/micro/bench_rate_limiter_ab.py [--rounds 5] [--seconds 0.5] [--json out]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import bench_ratelimit as br  # noqa: E402
import rl_floor  # noqa: E402

import fast_litellm  # noqa: E402






def built(kind: str):
    """(limiter, cache) of a variant: stock ones built with every patch reverted (the
    component would wrap their cache), fast_litellm's with every patch applied."""
    from litellm.caching.in_memory_cache import InMemoryCache

    if kind == "fast_litellm":
        fast_litellm.apply()
        return br.build_limiter()  # the patched InternalUsageCache puts a CounterCache in
    fast_litellm.revert()
    try:
        if kind == "stock":
            return br.build_limiter(InMemoryCache())
        if kind == "stock-unbounded":
            return br.build_limiter(InMemoryCache(max_size_in_memory=10**9))
        raise ValueError(kind)
    finally:
        fast_litellm.apply()


def pre_call(kind: str, descriptors: int, n: int):
    limiter, cache = built(kind)
    key = br._keys(descriptors, n)
    loop = _common.event_loop()
    state = {"i": 0}

    def call():
        i = state["i"]
        state["i"] = i + 1 if i + 1 < n else 0
        data = {**br.REQUEST, "litellm_call_id": f"call-{i}"}
        return loop.run_until_complete(limiter.async_pre_call_hook(
            user_api_key_dict=key(i), cache=cache, data=data, call_type=br.CALL_TYPE))

    return call


def lifecycle(kind: str, keys: int = 100):
    """One request's whole limiter work: async_pre_call_hook, async_post_call_success_hook
    (slot release, the x-ratelimit headers) and async_log_success_event (tokens charged),
    each request in its own context as the proxy runs it; keys with rpm, tpm and
    max_parallel_requests, round-robin. kind "harness": the same loop without the three
    limiter calls (the request dict, the response object, the success event's kwargs, the
    context and the event-loop round trip: what every variant's timing includes but the
    limiter does not cost; subtracted round by round for the net figures)."""
    import contextvars

    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.types.utils import ModelResponse, Usage

    if kind == "floor":
        limiter, cache = built("fast_litellm")
        limiter = rl_floor.FloorLimiter(cache.in_memory_cache, br.BIG)
    else:
        limiter, cache = built(kind) if kind != "harness" else (None, None)
    auths = [UserAPIKeyAuth(**br._identity(i, 1), rpm_limit=br.BIG, tpm_limit=br.BIG,
                            max_parallel_requests=10**6) for i in range(keys)]
    loop = _common.event_loop()
    state = {"i": 0}

    async def one(i):
        auth = auths[i % keys]
        data = {**br.REQUEST, "litellm_call_id": f"call-{i}"}
        if limiter is not None:
            await limiter.async_pre_call_hook(user_api_key_dict=auth, cache=cache, data=data,
                                              call_type=br.CALL_TYPE)
        response = ModelResponse(usage=Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30))
        if limiter is not None:
            await limiter.async_post_call_success_hook(data=data, user_api_key_dict=auth, response=response)
        kwargs = {"litellm_call_id": data["litellm_call_id"],
                  "standard_logging_object": {"metadata": {"user_api_key_hash": auth.api_key}},
                  "litellm_params": {"metadata": {"model_group": br.MODEL}}}
        if limiter is not None:
            await limiter.async_log_success_event(kwargs, response, None, None)

    def call():
        i = state["i"]
        state["i"] = i + 1
        return contextvars.Context().run(loop.run_until_complete, one(i))

    return call


def memory(kind: str, descriptors: int, keys: int) -> dict:
    limiter, cache = built(kind)
    auths = [br._auth(i, descriptors) for i in range(keys)]
    loop = _common.event_loop()

    async def one(i: int) -> None:
        await limiter.async_pre_call_hook(user_api_key_dict=auths[i], cache=cache,
                                          data={**br.REQUEST, "litellm_call_id": f"call-{i}"},
                                          call_type=br.CALL_TYPE)

    loop.run_until_complete(one(0))
    mem = cache.in_memory_cache
    mem.flush_cache()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(keys):
        loop.run_until_complete(one(i))
    gc.collect()
    py_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    c_bytes = getattr(mem, "memory", 0)
    total = descriptors * keys
    return {"cache": kind, "descriptors_per_key": descriptors, "keys": keys, "entries": len(mem.cache_dict),
            "python_bytes": py_bytes, "c_table_bytes": c_bytes,
            "bytes_per_descriptor": round((py_bytes + c_bytes) / total, 1)}


def enforcement(kind: str, descriptors: int, keys: int, rpm_limit: int = 3, per_key: int = 10) -> dict:
    limiter, cache = built(kind)
    auths = [br._auth(i, descriptors) for i in range(keys)]
    for auth in auths:
        auth.rpm_limit = rpm_limit
    loop = _common.event_loop()
    rejected = 0
    for r in range(per_key * keys):
        try:
            loop.run_until_complete(limiter.async_pre_call_hook(
                user_api_key_dict=auths[r % keys], cache=cache, data=dict(br.REQUEST), call_type=br.CALL_TYPE))
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "status_code", None) != 429:
                raise
            rejected += 1
    return {"cache": kind, "descriptors_per_key": descriptors, "keys": keys, "rejected_429": rejected,
            "expected_429": (per_key - rpm_limit) * keys}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--memory-keys", type=int, default=20_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    _common.quiet_litellm()

    groups = {}
    for d in (1, 8):
        for n in (10, 1_000_000):
            groups[f"pre_call descriptors={d} keys={n:,}"] = {
                kind: pre_call(kind, d, n) for kind in ("stock", "fast_litellm")}
    lifecycle_group = "request lifecycle (pre-call, post-call, log success) descriptors=1 keys=100"
    groups[lifecycle_group] = {kind: lifecycle(kind) for kind in ("stock", "fast_litellm")}
    groups[lifecycle_group]["harness"] = lifecycle("harness")
    groups[lifecycle_group]["floor"] = lifecycle("floor")
    times = {g: {v: [] for v in vs} for g, vs in groups.items()}
    for _ in range(args.rounds):
        for g, vs in groups.items():
            for v, fn in vs.items():
                # stock: every other component reverted too (dual_cache patches the
                # DualCache reads the limiter makes); fast_litellm: all applied
                (fast_litellm.revert if v == "stock" else fast_litellm.apply)()
                times[g][v].append(_common.per_call(fn, args.seconds))
    fast_litellm.apply()

    out = {"rounds": args.rounds, "seconds": args.seconds, "groups": {}}
    for g, vs in times.items():
        ratios = [a / b for a, b in zip(vs["stock"], vs["fast_litellm"])]
        out["groups"][g] = {v: {"us": _common.spread([t * 1e6 for t in ts])} for v, ts in vs.items()}
        out["groups"][g]["fast_litellm"]["speedup_vs_stock"] = _common.spread(ratios)
        if "harness" in vs:
            # the limiter's own cost: each variant's time minus the harness's of the same round
            net = [(a - h) / (b - h) for a, b, h in zip(vs["stock"], vs["fast_litellm"], vs["harness"])]
            for v in [v for v in vs if v != "harness"]:
                out["groups"][g][v]["net_us"] = _common.spread(
                    [(t - h) * 1e6 for t, h in zip(vs[v], vs["harness"])])
            out["groups"][g]["fast_litellm"]["net_speedup_vs_stock"] = _common.spread(net)
            if "floor" in vs:  # the best ratio a Python-glued limiter could reach (rl_floor.py)
                out["groups"][g]["floor"]["net_speedup_vs_stock"] = _common.spread(
                    [(a - h) / (f - h) for a, f, h in zip(vs["stock"], vs["floor"], vs["harness"])])
    out["memory"] = [memory(k, d, args.memory_keys // d) for d in (1, 8)
                     for k in ("stock", "stock-unbounded", "fast_litellm")]
    out["enforcement"] = [enforcement(k, d, n) for d, n in ((1, 10), (1, 150), (8, 20))
                          for k in ("stock", "fast_litellm")]
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    for g, rows in out["groups"].items():
        print(f"\n{g}")
        for v, r in rows.items():
            sp = r.get("speedup_vs_stock")
            extra = f"  x{sp['median']:.2f} [{sp['min']:.2f}-{sp['max']:.2f}]" if sp else ""
            print(f"  {v:14s} {r['us']['median']:>9,.1f} us [{r['us']['min']:,.1f}-{r['us']['max']:,.1f}]{extra}")
            if "net_us" in r:
                n, ns = r["net_us"], r.get("net_speedup_vs_stock")
                nx = f"  x{ns['median']:.2f} [{ns['min']:.2f}-{ns['max']:.2f}]" if ns else ""
                print(f"  {'  net of harness':14s} {n['median']:>9,.1f} us [{n['min']:,.1f}-{n['max']:,.1f}]{nx}")
    print("\nmemory")
    for m in out["memory"]:
        print(f"  {m}")
    print("\nenforcement")
    for e in out["enforcement"]:
        print(f"  {e}")


if __name__ == "__main__":
    main()
