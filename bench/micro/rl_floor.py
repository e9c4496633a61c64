"""The floor of a Python-glued limiter: a model, not a limiter.

What any implementation of the v3 limiter's three per-request hooks must at least do in
Python objects that LiteLLM and operators can observe, with every check and every
computation that decides something left out: the request stash claimed and filled (the
response, the parallel slot, the reserved tokens), a slot id from os.urandom, the RPM pass
and the token reservation as one C table call each, the parallel-request gauge's dict
written into the object store with its expiry, the response's x-ratelimit-* headers, the
slot released, the tokens corrected after the response. No plainness checks (identity of
LiteLLM's ~50 helpers, the stash's and the request's shapes), no descriptors, no token
estimate, no over-limit branches, no logging: its cost is a lower bound on any exact
implementation whose glue is Python (bench_rate_limiter_ab.py times it as variant
``floor``, net of the same harness as the real variants).
"""

from __future__ import annotations

import heapq
import os
import time

from fast_litellm.components.rate_limiter import uuid4_hex


class FloorLimiter:
    def __init__(self, mem, limit: int):
        import litellm.proxy.hooks.parallel_request_limiter_v3 as v3

        self._v3 = v3
        self._py = mem._py
        self._m = mem._table()
        self._limit = limit

    def _status(self, code, limit, remaining, kind, key):
        return self._v3.RateLimitStatus(code=code, current_limit=limit, limit_remaining=remaining,
                                        rate_limit_type=kind, descriptor_key="api_key", descriptor_value=key)

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        v3, py, lim = self._v3, self._py, self._limit
        stash = v3.claim_request_stash_for_data(data)
        now = time.time()
        now_int = int(now)
        key = user_api_key_dict.api_key
        prefix = f"{{api_key:{key}}}:"
        slot = uuid4_hex(os.urandom(16))
        _over, requests, *_ = self._m.requests_step(prefix, lim, now_int, 60, now)
        _i, _c, states, *_ = self._m.reserve_all([(prefix + "window", prefix + "tokens", 10, lim, 60, 60)],
                                                  now_int, now)
        gauge_key = prefix + "max_parallel_requests"
        registry = {**(py.cache_dict.get(gauge_key) or {}), slot: now}
        py.cache_dict[gauge_key] = registry
        if gauge_key not in py.ttl_dict:
            py.ttl_dict[gauge_key] = now + 60
            heapq.heappush(py.expiration_heap, (now + 60, gauge_key))
        stash.rate_limit_response = v3.RateLimitResponse(overall_code="OK", statuses=[
            self._status("OK", lim, lim - requests, "requests", key),
            self._status("OK", lim, lim - len(registry), "max_parallel_requests", key)],
            reservation_windows=frozenset({(prefix + "tokens", str(states[0][3]), "local")}))
        stash.parallel_slot = v3.ParallelSlotAcquisition(slot_id=slot, counter_keys=[gauge_key])
        stash.reserved_tokens = 10
        stash.reserved_scopes = frozenset({("api_key", key)})

    async def async_post_call_success_hook(self, data, user_api_key_dict, response):
        stash = self._v3.get_request_stash_for_call(data["litellm_call_id"])
        lim = self._limit
        headers = {"x-ratelimit-api_key-limit-requests": lim, "x-ratelimit-api_key-remaining-requests": lim - 1,
                   "x-ratelimit-api_key-limit-tokens": lim, "x-ratelimit-api_key-remaining-tokens": lim - 10}
        response._hidden_params.setdefault("additional_headers", {}).update(headers)
        slot = stash.parallel_slot
        gauge_key = slot["counter_keys"][0]
        registry = dict(self._py.cache_dict.get(gauge_key) or {})
        registry.pop(slot["slot_id"], None)
        self._py.cache_dict[gauge_key] = registry
        stash.parallel_slot = None

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        stash = self._v3.get_request_stash_for_call(kwargs["litellm_call_id"])
        key = kwargs["standard_logging_object"]["metadata"]["user_api_key_hash"]
        self._m.incr(f"{{api_key:{key}}}:tokens", response_obj.usage.total_tokens - stash.reserved_tokens,
                     time.time(), 60)
        stash.reserved_tokens = 0
