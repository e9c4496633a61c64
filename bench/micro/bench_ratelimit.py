"""LiteLLM proxy's v3 parallel request limiter: cost of one `async_pre_call_hook`, per request.

    .venv/bin/python bench/micro/bench_ratelimit.py [pyperf options, e.g. --fast -o out.json]
    .venv/bin/python bench/micro/bench_ratelimit.py --memory     # tracemalloc step, prints JSON

Built the way the proxy builds it (litellm/proxy/utils.py ProxyLogging._add_proxy_hooks):
`_PROXY_MaxParallelRequestsHandler_v3(internal_usage_cache=InternalUsageCache(DualCache(
default_in_memory_ttl=1)))`, no Redis, default resolvers. litellm.proxy.proxy_server is imported
first because the hook's helpers import it on the first request anyway (to read llm_router,
general_settings); it is None / {} here, as in a proxy with no router limits configured.

Limits are 10**12 so no request is ever rejected: the steady state is "admitted", counters grow.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

BIG = 10**12
MODEL = "gpt-4o"
POOL = 1000  # distinct UserAPIKeyAuth objects kept in memory (see _keys)
KEY_COUNTS = (10, 1_000_000)
CALL_TYPE = "acompletion"
REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": "Write a haiku about rate limits."}]}


def _identity(i: int, descriptors: int) -> dict:
    # the proxy keys a virtual key's limits by its hashed token: 64 hex digits
    hashed = hashlib.sha256(b"sk-bench-%d" % i).hexdigest()
    ident = {"api_key": hashed, "token": hashed}
    if descriptors > 1:
        ident.update(user_id=f"user-{i}", team_id=f"team-{i}", end_user_id=f"end-user-{i}", org_id=f"org-{i}")
    return ident


def _auth(i: int, descriptors: int):
    """UserAPIKeyAuth for key i. 1 descriptor: api_key (rpm+tpm). 8 descriptors: api_key, user,
    team, team_member, end_user, model_per_key, organization, model_per_organization."""
    from litellm.proxy._types import UserAPIKeyAuth

    fields = dict(_identity(i, descriptors), rpm_limit=BIG, tpm_limit=BIG)
    if descriptors > 1:
        model_limits = {"model_rpm_limit": {MODEL: BIG}, "model_tpm_limit": {MODEL: BIG}}
        fields.update(
            user_rpm_limit=BIG, user_tpm_limit=BIG,
            team_rpm_limit=BIG, team_tpm_limit=BIG,
            team_member_rpm_limit=BIG, team_member_tpm_limit=BIG,
            end_user_rpm_limit=BIG, end_user_tpm_limit=BIG,
            organization_rpm_limit=BIG, organization_tpm_limit=BIG,
            metadata=dict(model_limits),  # -> model_per_key
            organization_metadata=dict(model_limits),  # -> model_per_organization
        )
    return UserAPIKeyAuth(**fields)


def _keys(descriptors: int, n: int):
    """Return key(i) -> UserAPIKeyAuth for i in [0, n). A million validated UserAPIKeyAuth
    objects (several KB each) would take gigabytes, so a pool of POOL objects is reused and,
    when n > POOL, the identity fields of the pooled object are re-pointed at key i (plain
    setattr: the model does not validate on assignment), inside the timed call."""
    pool = [_auth(i, descriptors) for i in range(min(n, POOL))]
    if n <= POOL:
        return lambda i: pool[i]

    def key(i: int):
        auth = pool[i % POOL]
        for field, value in _identity(i, descriptors).items():
            setattr(auth, field, value)
        return auth

    return key


def build_limiter(in_memory_cache=None):
    import litellm.proxy.proxy_server  # noqa: F401  (see module docstring)
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
    from litellm.proxy.utils import InternalUsageCache

    _common.quiet_litellm()
    cache = InternalUsageCache(dual_cache=DualCache(in_memory_cache=in_memory_cache, default_in_memory_ttl=1))
    return _PROXY_MaxParallelRequestsHandler_v3(internal_usage_cache=cache), cache.dual_cache


def _pre_call(descriptors: int, n: int):
    def setup():
        limiter, cache = build_limiter()
        key = _keys(descriptors, n)
        loop = _common.event_loop()
        state = {"i": 0}
        probe = loop.run_until_complete(limiter._build_request_rate_limit_descriptors(key(0), dict(REQUEST), CALL_TYPE))
        assert len(probe) == descriptors, [d["key"] for d in probe]

        def call():
            i = state["i"]
            state["i"] = i + 1 if i + 1 < n else 0  # round-robin over n keys
            # A fresh request dict, as the proxy builds one per request (the hook may write to it).
            data = {**REQUEST, "litellm_call_id": f"call-{i}"}
            return loop.run_until_complete(
                limiter.async_pre_call_hook(user_api_key_dict=key(i), cache=cache, data=data, call_type=CALL_TYPE)
            )

        return call

    return setup


def register(add) -> None:
    add("asyncio run_until_complete(noop) [loop overhead]", _common.loop_overhead_setup)
    for descriptors in (1, 8):
        for n in KEY_COUNTS:
            add(f"ratelimit v3 pre_call descriptors={descriptors} keys={n:,}", _pre_call(descriptors, n),
                descriptors=descriptors, keys=n)


# ---------------------------------------------------------------------------------------------
# Memory per descriptor (tracemalloc, not pyperf)
# ---------------------------------------------------------------------------------------------


def _memory_case(descriptors: int, keys: int, capped: bool) -> dict:
    from litellm.caching.in_memory_cache import InMemoryCache

    limiter, cache = build_limiter(None if capped else InMemoryCache(max_size_in_memory=10**9))
    # Every key's UserAPIKeyAuth is built before tracing starts, so only the limiter's state counts.
    auths = [_auth(i, descriptors) for i in range(keys)]
    loop = _common.event_loop()

    async def one(i: int) -> None:
        await limiter.async_pre_call_hook(
            user_api_key_dict=auths[i], cache=cache, data={**REQUEST, "litellm_call_id": f"call-{i}"}, call_type=CALL_TYPE
        )

    loop.run_until_complete(one(0))  # first-call imports and lazy state, before measuring
    mem = cache.in_memory_cache
    mem.cache_dict.clear()
    mem.ttl_dict.clear()
    mem.expiration_heap.clear()
    gc.collect()
    import tracemalloc

    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(keys):  # one request per key; each request is its own task, like the proxy's
        loop.run_until_complete(one(i))
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    total = descriptors * keys
    return {
        "descriptors_per_key": descriptors,
        "keys": keys,
        "cache": "proxy default InMemoryCache (max 200 entries)" if capped else "InMemoryCache(max_size_in_memory=1e9)",
        "cache_entries": len(mem.cache_dict),
        "heap_entries": len(mem.expiration_heap),
        "entries_per_descriptor": round(len(mem.cache_dict) / total, 2),
        "retained_bytes": grown,
        "bytes_per_descriptor": round(grown / total, 1),
    }


def enforcement_probe(descriptors: int, keys: int, rpm_limit: int = 3, per_key: int = 10) -> dict:
    """Does the limiter, as the proxy builds it, still reject? Each key gets rpm_limit=3 and
    `per_key` requests, round-robin; a limiter that keeps its counters rejects per_key - 3 a key."""
    limiter, cache = build_limiter()
    auths = [_auth(i, descriptors) for i in range(keys)]
    for auth in auths:
        auth.rpm_limit = rpm_limit
    loop = _common.event_loop()
    rejected = 0
    for r in range(per_key * keys):
        try:
            loop.run_until_complete(
                limiter.async_pre_call_hook(
                    user_api_key_dict=auths[r % keys], cache=cache, data=dict(REQUEST), call_type=CALL_TYPE
                )
            )
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "status_code", None) != 429:
                raise
            rejected += 1
    return {
        "descriptors_per_key": descriptors,
        "keys": keys,
        "requests": per_key * keys,
        "rejected_429": rejected,
        "expected_429": (per_key - rpm_limit) * keys,
        "cache_entries": len(cache.in_memory_cache.cache_dict),
    }


def memory_report(keys_1: int = 10_000, keys_8: int = 1_250) -> list[dict]:
    return [
        _memory_case(1, keys_1, capped=True),
        _memory_case(1, keys_1, capped=False),
        _memory_case(8, keys_8, capped=True),
        _memory_case(8, keys_8, capped=False),
    ]


def main() -> None:
    if "--memory" in sys.argv:
        small = "--fast" in sys.argv
        report = {
            "memory": memory_report(*((2_000, 250) if small else ())),
            "enforcement": [enforcement_probe(d, k) for d, k in ((1, 10), (8, 5), (8, 10))],
        }
        print(json.dumps(report, indent=2))
        return
    _common.run(register, "LiteLLM proxy v3 parallel request limiter: async_pre_call_hook")


if __name__ == "__main__":
    main()
