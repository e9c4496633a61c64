"""The v3 limiter's pre-call hook (``rate_limiter`` component, ``make_hook``) against LiteLLM
1.108.7's own ``async_pre_call_hook``, request by request.

Each generated trace is run twice from its seed, on fresh limiters built as the proxy builds
them (``InternalUsageCache(DualCache(...))`` over a ``CounterCache``, a fake clock for the
limiter's ``time_provider`` and the cache), once with every fast_litellm patch reverted and
once applied. Keys carry limits of every kind the hook turns into descriptors (key, user,
team, team member, end user, organisation, per-model limits in key and organisation
metadata, budget throttling), some of them values LiteLLM only converts later (str, float);
requests differ in size, model, explicit output caps, candidate counts, tags, metadata and
call type, the decisions endpoint (no implicit output cap); some keys have a parallel-request limit, a project or dynamic limit types (LiteLLM's
hook answers those). Compared after every request: the outcome (None, or the exception's type,
text, status and headers), the request dict, the limiter's stash (every field but its lock) and
every entry and expiry of the counter cache.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import random
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fast_litellm
from fast_litellm.components import rate_limiter as comp
from fast_litellm.counter_cache import CounterCache
from litellm.caching.dual_cache import DualCache
from litellm.caching.in_memory_cache import InMemoryCache
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.hooks import parallel_request_limiter_v3 as v3
from litellm.proxy.utils import InternalUsageCache
from litellm.types.passthrough_endpoints.pass_through_endpoints import EndpointType
from litellm.types.utils import ModelResponse, PromptTokensDetailsWrapper, Usage

from _ab import both

T0 = 1_700_000_000.0
MODEL = "gpt-4o"
LIMITS = [None, None, 1, 2, 3, 10, 100, 5000, 10**6]
TPM = [None, 1, 50, 1000, 4095, 4096, 5000, 10**6, 10**12]


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def seconds(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t)


def make_limiter(clock: Clock, max_memory=None):
    mem = CounterCache(InMemoryCache(clock=clock.seconds), max_memory=max_memory)
    dual = DualCache(in_memory_cache=mem, default_in_memory_ttl=1)
    limiter = v3._PROXY_MaxParallelRequestsHandler_v3(
        internal_usage_cache=InternalUsageCache(dual_cache=dual), time_provider=clock.now)
    return limiter, dual, mem


def make_key(rng: random.Random, i: int, plain: bool) -> UserAPIKeyAuth:
    f = {"api_key": f"{i:064x}", "token": f"{i:064x}", "rpm_limit": rng.choice(LIMITS), "tpm_limit": rng.choice(TPM)}
    if plain and rng.random() < 0.3:  # the common key: its own limits only (one descriptor)
        return UserAPIKeyAuth(**f, max_parallel_requests=rng.choice([None, None, 1, 2, 3, 50]))
    if rng.random() < 0.5:
        f.update(user_id=f"user-{i % 3}", user_rpm_limit=rng.choice(LIMITS), user_tpm_limit=rng.choice(TPM))
    if rng.random() < 0.4:
        f.update(team_id=f"team-{i % 2}", team_rpm_limit=rng.choice(LIMITS), team_tpm_limit=rng.choice(TPM),
                 team_member_rpm_limit=rng.choice(LIMITS), team_member_tpm_limit=rng.choice(TPM))
    if rng.random() < 0.3:
        f.update(end_user_id=f"end-{i % 4}", end_user_rpm_limit=rng.choice(LIMITS), end_user_tpm_limit=rng.choice(TPM))
    if rng.random() < 0.3:
        f.update(org_id=f"org-{i % 2}", organization_rpm_limit=rng.choice(LIMITS),
                 organization_tpm_limit=rng.choice(TPM))
    if rng.random() < 0.3:
        limits = {MODEL: rng.choice([5, 50, "40", 7.9, 100000])}
        f["metadata"] = rng.choice([{"model_rpm_limit": limits}, {"model_tpm_limit": limits},
                                    {"model_rpm_limit": limits, "model_tpm_limit": limits}, {"other": 1}])
    if rng.random() < 0.2:
        f["organization_metadata"] = {"model_tpm_limit": {MODEL: rng.choice([100, 10**6])}}
    if rng.random() < 0.1:
        f["budget_throttle_pct"] = 0.5
    if rng.random() < 0.3:
        f["max_parallel_requests"] = rng.choice([1, 2, 3, 50])
    if not plain:
        kind = rng.randrange(4)
        if kind == 0:
            f["max_parallel_requests"] = rng.choice([1, 2])
        elif kind == 1:
            f["metadata"] = {"rpm_limit_type": "dynamic"}
        elif kind == 2:
            f["project_id"] = "proj-1"
        else:
            f["metadata"] = {"tag_rpm_limit": {"t1": 2}}
    return UserAPIKeyAuth(**f)


def make_request(rng: random.Random, n: int, plain: bool):
    content = "".join(rng.choice("abc xyz😀\n") for _ in range(rng.choice([0, 3, 40, 500, 6000])))
    data = {"model": rng.choice([MODEL, MODEL, "other-model", ""]),
            "messages": [{"role": "user", "content": content}], "litellm_call_id": f"call-{n}"}
    r = rng.random()
    if r < 0.1:
        data["max_tokens"] = rng.choice([10, 0, "20", 5000])
    elif r < 0.15:
        data["n"] = 3
    elif r < 0.2:
        data["messages"] = []
    call_type = "acompletion" if rng.random() < 0.9 else "completion"
    if not plain:
        kind = rng.randrange(4)
        if kind == 0:
            data["metadata"] = {"tags": ["t1"]}
        elif kind == 1:
            call_type = "aembedding"
            data = {"model": MODEL, "input": ["hello"], "litellm_call_id": f"call-{n}"}
        elif kind == 2:
            data[7] = "a key that is not a str"
        else:
            data["metadata"] = "not a dict"
    return data, call_type


def snapshot_stash(stash):
    if stash is None:
        return None
    return {f.name: getattr(stash, f.name) for f in dataclasses.fields(stash) if f.name != "parallel_slot_release_lock"}


_HEX = frozenset("0123456789abcdef")


def normalized(obj, names: dict):
    """obj with every uuid4().hex (the parallel-request slot ids LiteLLM draws) replaced by
    its order of first appearance."""
    if isinstance(obj, str) and len(obj) == 32 and set(obj) <= _HEX:
        return names.setdefault(obj, f"slot-{len(names)}")
    if isinstance(obj, dict):
        return {normalized(k, names): normalized(v, names) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(normalized(v, names) for v in obj)
    return obj


def outcome_of(exc):
    if exc is None:
        return None
    return (type(exc).__name__, str(exc), getattr(exc, "status_code", None), getattr(exc, "headers", None))


def finish(rng: random.Random, limiter, uak, data, stash):
    """The rest of an admitted request's limiter work, as the proxy runs it after the
    response (the request's stash visible): the post-call success hook (slot release, the
    x-ratelimit headers) and/or the success event (tokens charged, reservation settled).
    Returns (response's headers, outcome)."""
    prompt, completion = rng.choice([0, 3, 40, 900]), rng.choice([0, 1, 20, 5000])
    shape = rng.random()
    if shape < 0.1:  # cached prompt tokens (not charged)
        response = ModelResponse(usage=Usage(prompt_tokens=prompt, completion_tokens=completion,
                                             total_tokens=prompt + completion,
                                             prompt_tokens_details=PromptTokensDetailsWrapper(
                                                 cached_tokens=rng.choice([0, 2, 30, 5000]))))
    elif shape < 0.15:  # a total with no split (charged as is, even when cached tokens cover it)
        response = ModelResponse(usage=Usage(prompt_tokens=0, completion_tokens=0, total_tokens=rng.choice([0, 77]),
                                             prompt_tokens_details=PromptTokensDetailsWrapper(
                                                 cached_tokens=rng.choice([None, 100]))))
    else:
        response = ModelResponse(usage=Usage(prompt_tokens=prompt, completion_tokens=completion,
                                             total_tokens=prompt + completion))
    if rng.random() < 0.05:  # a response that reads as a batch (LiteLLM's batch accounting runs)
        response.object = "batch"
        response.status = rng.choice(["failed", "in_progress"])
    model = data.get("model") if isinstance(data.get("model"), str) else None
    slm = {"user_api_key_hash": uak.api_key, "user_api_key_user_id": uak.user_id,
           "user_api_key_team_id": uak.team_id, "user_api_key_end_user_id": uak.end_user_id,
           "user_api_key_org_id": uak.org_id}
    kwargs = {"litellm_call_id": data.get("litellm_call_id"),
              "standard_logging_object": {"metadata": slm},
              "litellm_params": {"metadata": {"model_group": model,
                                              "user_api_key_metadata": rng.choice([{}, None, uak.metadata]),
                                              "user_api_key_model_max_budget": {}}}}
    r = rng.random()
    if r < 0.1:  # the request's end user (kwargs["user"] comes before the key's)
        kwargs["user"] = rng.choice(["end-x", uak.end_user_id, ""])
    elif r < 0.13:  # targets the event does not restate: a project's, an agent's
        slm[rng.choice(["user_api_key_project_id", "agent_id"])] = "p-1"
        slm["session_id"] = rng.choice([None, "s-1"])
    elif r < 0.15:  # an id that is not a str
        slm[rng.choice(["user_api_key_user_id", "user_api_key_team_id", "user_api_key_org_id"])] = 7
    elif r < 0.25:  # a target's counter holding text: its increment raises, the later ones are lost
        ids = [(k, v) for k, v in (("user", uak.user_id), ("team", uak.team_id), ("end_user", uak.end_user_id),
                                   ("organization", uak.org_id)) if v]
        if ids:
            k, v = rng.choice(ids)
            limiter.internal_usage_cache.dual_cache.in_memory_cache.set_cache(f"{{{k}:{v}}}:tokens", "x", ttl=60)
    steps = rng.choice(["post", "log", "both", "both"])

    async def go():
        v3._request_stash.set(stash)
        try:
            if steps in ("post", "both"):
                await limiter.async_post_call_success_hook(data=data, user_api_key_dict=uak, response=response)
            if steps in ("log", "both"):
                await limiter.async_log_success_event(kwargs, response, None, None)
        except Exception as e:  # noqa: BLE001 - compared, type and text
            return outcome_of(e)
        return None

    result = contextvars.Context().run(asyncio.get_event_loop().run_until_complete, go())
    return steps, dict(response._hidden_params.get("additional_headers") or {}), result, snapshot_stash(stash)


def run_trace(seed: int, max_memory=None):
    rng = random.Random(seed)
    clock = Clock()
    limiter, dual, mem = make_limiter(clock, max_memory)
    keys = [make_key(rng, i, rng.random() < 0.85) for i in range(rng.choice([1, 3, 8]))]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    out = []
    names: dict = {}
    inflight = []
    try:
        for n in range(rng.choice([20, 60])):
            clock.t += rng.choice([0, 0, 0.3, 1, 7, 30, 61, 3599, 3601])
            if inflight and rng.random() < 0.5:
                done = finish(rng, limiter, *inflight.pop(rng.randrange(len(inflight))))
                out.append(normalized(("done", done, sorted(mem.cache_dict.items()), sorted(mem.ttl_dict.items())), names))
            uak = rng.choice(keys)
            data, call_type = make_request(rng, n, rng.random() < 0.9)
            # the decisions endpoint: no implicit output cap, so a small limit's floor counts
            endpoint = EndpointType.DECISIONS if rng.random() < 0.15 else EndpointType.GENERIC

            async def one(uak=uak, data=data, call_type=call_type, endpoint=endpoint):
                try:
                    result = await limiter.async_pre_call_hook(
                        user_api_key_dict=uak, cache=dual, data=data, call_type=call_type, endpoint_type=endpoint)
                    exc = None
                except Exception as e:  # noqa: BLE001 - compared, type and text
                    result, exc = None, e
                return result, exc, v3.get_request_stash()

            result, exc, stash = contextvars.Context().run(loop.run_until_complete, one())
            if exc is None and stash is not None:
                inflight.append((uak, data, stash))
            out.append(normalized(("pre", result, outcome_of(exc), dict(data), snapshot_stash(stash),
                                   sorted(mem.cache_dict.items()), sorted(mem.ttl_dict.items())), names))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return out


@pytest.mark.parametrize("block", range(4))
def test_generated_traces_same_as_litellm(block):
    seeds = range(block * 40, (block + 1) * 40)
    post_before, owns_before, single_before = dict(comp.POST_FAST), dict(comp.OWNS_FAST), comp.HOOK_FAST["one_descriptor"]
    steps_before = comp.HOOK_FAST["table_steps"]
    event_before = dict(comp.EVENT_FAST)
    want, got, served, delegated = both(lambda: [run_trace(s) for s in seeds], comp.HOOK_FAST)
    post_served = comp.POST_FAST["served"] - post_before["served"]
    owns = {k: comp.OWNS_FAST[k] - owns_before[k] for k in owns_before}
    single = comp.HOOK_FAST["one_descriptor"] - single_before
    table_steps = comp.HOOK_FAST["table_steps"] - steps_before
    events = {k: comp.EVENT_FAST[k] - event_before[k] for k in event_before}
    for s, a, b in zip(seeds, want, got):
        for step, (x, y) in enumerate(zip(a, b)):
            assert x == y, (s, step, x, y)
    flat = [r[1:] for trace in want for r in trace if r[0] == "pre"]
    done = [r[1] for trace in want for r in trace if r[0] == "done"]
    assert len(done) > 300
    assert post_served > 150, post_served  # the post-call success hook's plain path
    # the key view, both ways (in the success events LiteLLM's method answers)
    assert owns["served"] > 5 and owns["delegated"] > 5, owns
    assert 200 < single < served - 200, (single, served)  # one descriptor (_single) and the general path
    assert table_steps > 200, table_steps  # _single's RPM pass / TPM reservation as C table steps
    # the success event, both ways (served: keys with user, team, end-user and org targets too)
    assert events["served"] > 300 and events["delegated"] > 30, events
    assert sum(1 for steps, headers, result, stash in done if headers) > 100  # x-ratelimit headers written
    assert all(result is None for steps, headers, result, stash in done)
    assert served > 1000 and delegated > 100, (served, delegated)
    assert sum(1 for r in flat if r[1] is not None and r[1][2] == 429) > 100  # limits hit
    assert sum(1 for r in flat if r[1] is None) > 500  # admitted
    assert any(r[1] is not None and r[1][0] == "ValidationError" for r in flat)
    assert any(r[2].get("max_tokens") in (1, 12, 250, 1023) for r in flat)  # the implicit output cap written


def test_generated_traces_same_as_litellm_at_the_memory_cap():
    """The same traces on a counter table capped a little above an empty table's size:
    entries that do not fit go to the object store, and some of the C table's steps stop at
    a set, the rest of their sets made through CounterCache -- the same as LiteLLM's hook on
    the same capped cache."""
    from fast_litellm import _native

    cap = _native.TTLMap(bytes(16)).memory + 700
    seeds = range(1000, 1040)
    before = dict(comp.HOOK_FAST)
    want, got, served, delegated = both(lambda: [run_trace(s, cap) for s in seeds], comp.HOOK_FAST)
    for s, a, b in zip(seeds, want, got):
        for step, (x, y) in enumerate(zip(a, b)):
            assert x == y, (s, step, x, y)
    steps = comp.HOOK_FAST["table_steps"] - before["table_steps"]
    partial = comp.HOOK_FAST["table_partial"] - before["table_partial"]
    assert steps > 100 and partial > 0, (steps, partial)


def test_component_patches_the_hook():
    assert fast_litellm.status()["rate_limiter"]["active"]
    assert getattr(v3._PROXY_MaxParallelRequestsHandler_v3.async_pre_call_hook, "__fast_litellm_patch__", None)


def test_debug_logging_and_replaced_methods_go_to_litellm(monkeypatch):
    """With the proxy logger at DEBUG the hook's debug lines must come from LiteLLM's file and
    line: LiteLLM's hook answers (the same lines). A method replaced on the instance, a custom
    model-group resolver, a held lock: LiteLLM's hook."""
    clock = Clock()
    limiter, dual, mem = make_limiter(clock)
    uak = UserAPIKeyAuth(api_key="k" * 64, rpm_limit=5, tpm_limit=10**6)
    loop = asyncio.new_event_loop()

    def call(n):
        data = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "litellm_call_id": f"c{n}"}
        return contextvars.Context().run(loop.run_until_complete, limiter.async_pre_call_hook(
            user_api_key_dict=uak, cache=dual, data=data, call_type="acompletion"))

    try:
        before = dict(comp.HOOK_FAST)
        call(0)
        assert comp.HOOK_FAST["served"] == before["served"] + 1
        logger = logging.getLogger("LiteLLM Proxy")
        records = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append((record.pathname.rsplit("/", 1)[-1], record.funcName, record.getMessage()))

        handler = Keep(level=logging.DEBUG)
        logger.addHandler(handler)
        monkeypatch.setattr(logger, "level", logging.DEBUG)
        logger.manager._clear_cache()
        try:
            before = dict(comp.HOOK_FAST)
            call(1)
            assert comp.HOOK_FAST["delegated"] == before["delegated"] + 1
            assert ("parallel_request_limiter_v3.py", "async_pre_call_hook", "Inside Rate Limit Pre-Call Hook") in records
        finally:
            logger.removeHandler(handler)
            monkeypatch.undo()
            logger.manager._clear_cache()
        seen = []
        real = limiter._rate_limited_model
        monkeypatch.setattr(limiter, "_rate_limited_model", lambda m: seen.append(m) or real(m), raising=False)
        before = dict(comp.HOOK_FAST)
        call(2)
        assert comp.HOOK_FAST["delegated"] == before["delegated"] + 1 and len(seen) == 7  # LiteLLM asks 7 times
        monkeypatch.undo()
        limiter._model_group_resolver = lambda m: None  # not LiteLLM's: how often it is asked is observable
        before = dict(comp.HOOK_FAST)
        call(3)
        assert comp.HOOK_FAST["delegated"] == before["delegated"] + 1
        limiter._model_group_resolver = v3._resolve_model_group_alias_via_proxy_router

        async def held():
            async with limiter._check_and_increment_lock:
                task = asyncio.ensure_future(limiter.async_pre_call_hook(
                    user_api_key_dict=uak, cache=dual,
                    data={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, call_type="acompletion"))
                await asyncio.sleep(0)
                assert not task.done()  # LiteLLM's hook waits for the lock
            return await task

        before = dict(comp.HOOK_FAST)
        assert contextvars.Context().run(loop.run_until_complete, held()) is None
        assert comp.HOOK_FAST["delegated"] == before["delegated"] + 1
    finally:
        loop.close()


GAUGE = "{api_key:" + "k" * 64 + "}:max_parallel_requests"


def pre_call(loop, limiter, uak, dual, data):
    """One chat request's pre-call hook in its own context: (outcome, the request's stash)."""

    async def one():
        try:
            await limiter.async_pre_call_hook(user_api_key_dict=uak, cache=dual, data=data, call_type="acompletion")
            return None, v3.get_request_stash()
        except Exception as e:  # noqa: BLE001 - compared
            return outcome_of(e), None

    return contextvars.Context().run(loop.run_until_complete, one())


def test_parallel_slots_forgotten_with_their_gauge_entry():
    """Slots held for an hour, as LiteLLM handles them: the gauge entry keeps the expiry of its
    first write (the in-memory cache does not extend a live entry's ttl when the registry is
    rewritten), so PARALLEL_REQUEST_SLOT_TTL_SECONDS after the first acquire the registry
    starts empty and every held slot is forgotten at once (remaining 2, 1 at 0 s and 3,599 s;
    2 again at 3,601 s). A consequence: the per-slot cutoff never removes a slot from a live
    in-memory registry (every slot is younger than its entry), so its mutants are equivalent."""

    def run():
        clock = Clock()
        limiter, dual, mem = make_limiter(clock)
        uak = UserAPIKeyAuth(api_key="k" * 64, max_parallel_requests=3)
        loop = asyncio.new_event_loop()
        out, stashes = [], []

        async def release(held, call_id):
            v3._request_stash.set(held)
            await limiter.async_post_call_success_hook(
                data={"litellm_call_id": call_id}, user_api_key_dict=uak, response=ModelResponse())

        try:
            for n, step in enumerate([0, 3599, 2, 0, 0, 5000, 0, 4000, 0, 0]):
                clock.t += step
                if n == 7:  # the integer count a Redis acquire script leaves in the local mirror
                    mem.set_cache(GAUGE, 2, ttl=3600)
                if n == 9:  # the release of request 7's slot decrements the mirror
                    contextvars.Context().run(loop.run_until_complete, release(stashes[7], "c7"))
                data = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "litellm_call_id": f"c{n}"}
                result, stash = pre_call(loop, limiter, uak, dual, data)
                stashes.append(stash)
                out.append(normalized((result, snapshot_stash(stash), sorted(mem.cache_dict.items())), {}))
            mem.set_cache(GAUGE, 0, ttl=3600)  # a mirror at 0: the release floors at 0
            contextvars.Context().run(loop.run_until_complete, release(stashes[9], "c9"))
            out.append((None, snapshot_stash(stashes[9]), sorted(mem.cache_dict.items())))
        finally:
            loop.close()
        return out

    want, got, served, delegated = both(run, comp.HOOK_FAST)
    assert got == want
    assert served == 10 and delegated == 0 and comp.POST_FAST["served"] >= 2
    assert [r[0] is None for r in want] == [True] * 8 + [False] + [True] * 2
    remaining = [r[1] and r[1]["rate_limit_response"]["statuses"][0]["limit_remaining"] for r in want[:10]]
    assert remaining == [2, 1, 2, 1, 0, 2, 1, 0, None, 0]
    assert [r[2] for r in want[7:]] == [[(GAUGE, 3)], [(GAUGE, 3)], [(GAUGE, 3)], [(GAUGE, 0)]]
    assert want[10][1]["parallel_slot"] is None


@st.composite
def _scenario(draw):
    """A key with its own limits only (the one-descriptor path) or with a user and a team
    too (the general path), and a sequence of steps: the clock moves, a request of some size
    arrives, an admitted request finishes (post-call hook and/or success event)."""
    limits = dict(rpm_limit=draw(st.sampled_from([None, 1, 2, 3, 7])),
                  tpm_limit=draw(st.sampled_from([None, 1, 30, 500, 4095, 4096, 10**6])),
                  max_parallel_requests=draw(st.sampled_from([None, 1, 2, 4])))
    if draw(st.booleans()):
        limits.update(user_id="u-1", user_rpm_limit=draw(st.sampled_from([None, 2, 5])),
                      team_id="t-1", team_tpm_limit=draw(st.sampled_from([None, 100, 10**5])))
    steps = draw(st.lists(st.tuples(
        st.sampled_from([0, 0, 0.5, 1, 20, 59, 60, 61, 3601]),  # clock step
        st.sampled_from([0, 1, 3, 400, 5000]),  # message characters
        st.sampled_from([None, "post", "log", "both"]),  # finish an admitted request, if any
        st.sampled_from([0, 5, 300, 9000])),  # its actual usage
        min_size=1, max_size=25))
    return limits, steps


def _run_scenario(limits, steps):
    clock = Clock()
    limiter, dual, mem = make_limiter(clock)
    uak = UserAPIKeyAuth(api_key="f" * 64, **limits)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    out, inflight, names = [], [], {}
    try:
        for n, (dt, chars, finish_kind, usage) in enumerate(steps):
            clock.t += dt
            if finish_kind and inflight:
                data, stash = inflight.pop(0)
                response = ModelResponse(usage=Usage(prompt_tokens=usage, completion_tokens=1,
                                                     total_tokens=usage + 1))
                kwargs = {"litellm_call_id": data["litellm_call_id"],
                          "standard_logging_object": {"metadata": {"user_api_key_hash": uak.api_key,
                                                                   "user_api_key_user_id": uak.user_id,
                                                                   "user_api_key_team_id": uak.team_id}},
                          "litellm_params": {"metadata": {"model_group": MODEL, "user_api_key_metadata": {}}}}

                async def done(data=data, stash=stash, response=response, kwargs=kwargs, kind=finish_kind):
                    v3._request_stash.set(stash)
                    if kind in ("post", "both"):
                        await limiter.async_post_call_success_hook(data=data, user_api_key_dict=uak,
                                                                   response=response)
                    if kind in ("log", "both"):
                        await limiter.async_log_success_event(kwargs, response, None, None)

                contextvars.Context().run(loop.run_until_complete, done())
                out.append(normalized(("done", dict(response._hidden_params.get("additional_headers") or {}),
                                       snapshot_stash(stash), sorted(mem.cache_dict.items())), names))
            data = {"model": MODEL, "messages": [{"role": "user", "content": "x" * chars}],
                    "litellm_call_id": f"c{n}"}
            result, stash = pre_call(loop, limiter, uak, dual, data)
            if stash is not None:
                inflight.append((data, stash))
            out.append(normalized((result, dict(data), snapshot_stash(stash), sorted(mem.cache_dict.items()),
                                   sorted(mem.ttl_dict.items())), names))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(_scenario())
def test_hypothesis_scenarios_same_as_litellm(scenario):
    """Hypothesis-drawn keys and request sequences (shrunk to the smallest failing one):
    every pre-call outcome, request, stash and cache entry, and every finished request's
    headers, stash and cache, the same as LiteLLM's hooks give."""
    limits, steps = scenario
    want, got, served, delegated = both(lambda: _run_scenario(limits, steps), comp.HOOK_FAST)
    assert got == want
    assert delegated == 0 and served == len(steps)


def test_key_view_shortcut_only_when_litellms_empty_view_is_empty(monkeypatch):
    """make_owns answers False without pydantic only because LiteLLM's view of an empty key
    has no metadata and no budget; a LiteLLM whose empty view is not empty gets its own
    method for every call (and the rest of the component stays on)."""

    class Model:
        def __init__(self, group):
            self.requested = self.group = group

    limiter, _dual, _mem = make_limiter(Clock())
    model = v3.RateLimitedModel(requested=MODEL, group=MODEL)
    calls = []

    def original(self, request_metadata, m):
        calls.append(request_metadata)
        return "litellm's answer"

    fast = comp.make_owns(original)
    before = dict(comp.OWNS_FAST)
    assert fast(limiter, {"user_api_key_metadata": {}, "user_api_key_model_max_budget": None}, model) is False
    assert fast(limiter, {"user_api_key_metadata": {"model_tpm_limit": {MODEL: 5}}}, model) == "litellm's answer"
    assert fast(limiter, {}, Model(MODEL)) == "litellm's answer"  # not LiteLLM's model type
    assert comp.OWNS_FAST["served"] == before["served"] + 1 and len(calls) == 2

    class NotEmpty:
        metadata = {"model_tpm_limit": {MODEL: 1}}
        model_max_budget = {}

    monkeypatch.setattr(v3.UserAPIKeyAuth, "model_validate", classmethod(lambda cls, *a, **k: NotEmpty()))
    fast = comp.make_owns(original)
    assert fast(limiter, {"user_api_key_metadata": {}}, model) == "litellm's answer" and len(calls) == 3
    assert fast_litellm.status()["rate_limiter"]["active"]


def test_slot_ids_come_from_a_replaced_uuid4(monkeypatch):
    """The hook draws the parallel-slot id as uuid.uuid4().hex; with uuid4 replaced (a test's
    deterministic ids) the replacement's ids are the ones used, as in LiteLLM's hook, on the
    one-descriptor and the general path."""
    import uuid

    def run():
        ids = iter(uuid.UUID(int=i) for i in range(1, 100))
        monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
        clock = Clock()
        limiter, dual, mem = make_limiter(clock)
        loop = asyncio.new_event_loop()
        out = []
        try:
            for uak in (UserAPIKeyAuth(api_key="a" * 64, rpm_limit=5, max_parallel_requests=3),
                        UserAPIKeyAuth(api_key="b" * 64, rpm_limit=5, max_parallel_requests=3,
                                       user_id="u", user_rpm_limit=5)):
                result, stash = pre_call(loop, limiter, uak, dual, {"model": MODEL, "messages": []})
                out.append((result, stash.parallel_slot["slot_id"], sorted(mem.cache_dict.items())))
        finally:
            loop.close()
        return out

    want, got, served, delegated = both(run, comp.HOOK_FAST)
    assert got == want and served == 2
    assert all(int(slot, 16) < 100 for _, slot, _ in got)  # the replacement's ids


def event_kwargs(data, uak):
    """The success event's kwargs as the proxy builds them for the request `data` of key `uak`
    (its hash, user and team in the logging metadata, the request's model group)."""
    return {"litellm_call_id": data["litellm_call_id"],
            "standard_logging_object": {"metadata": {"user_api_key_hash": uak.api_key,
                                                     "user_api_key_user_id": uak.user_id,
                                                     "user_api_key_team_id": uak.team_id}},
            "litellm_params": {"metadata": {"model_group": MODEL}}}


def test_cache_work_runs_under_the_rate_limits_service_target():
    """The three hooks run their cache work under LiteLLM's service target "rate_limits"
    (``with_service_target`` on each) and leave the caller's target as it was, also when the
    pre-call hook raises its 429: the target seen at every clock reading of the cache, and
    the target after each hook, the same with and without fast_litellm."""
    from litellm import _internal_context as ictx

    def run():
        clock = Clock()
        seen = []

        def recording_clock():
            seen.append(ictx.current_service_target())
            return clock.t

        clock.seconds = recording_clock  # the cache's clock (make_limiter reads clock.seconds)
        limiter, dual, _mem = make_limiter(clock)
        uak = UserAPIKeyAuth(api_key="k" * 64, token="k" * 64, rpm_limit=2, tpm_limit=10**6,
                             max_parallel_requests=5, user_id="u1", team_id="t1")
        out = []

        async def one(n):
            data = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "litellm_call_id": f"c{n}"}
            token = ictx._service_target.set("caller")
            try:
                await limiter.async_pre_call_hook(user_api_key_dict=uak, cache=dual, data=data,
                                                  call_type="acompletion")
            except Exception as e:  # noqa: BLE001 - the 429, compared
                out.append((type(e).__name__, ictx.current_service_target()))
                return
            out.append(("pre", ictx.current_service_target()))
            response = ModelResponse(usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7))
            await limiter.async_post_call_success_hook(data=data, user_api_key_dict=uak, response=response)
            out.append(("post", ictx.current_service_target()))
            kwargs = event_kwargs(data, uak)
            await limiter.async_log_success_event(kwargs, response, None, None)
            out.append(("event", ictx.current_service_target()))
            ictx._service_target.reset(token)

        loop = asyncio.new_event_loop()
        try:
            for n in range(4):
                contextvars.Context().run(loop.run_until_complete, one(n))
        finally:
            loop.close()
        return out, sorted(set(map(str, seen))), len(seen) > 0

    pre, post, event = dict(comp.HOOK_FAST), dict(comp.POST_FAST), dict(comp.EVENT_FAST)
    want, got, _served, _delegated = both(run, comp.HOOK_FAST)
    assert got == want
    assert comp.HOOK_FAST["served"] - pre["served"] == 4 and comp.HOOK_FAST["delegated"] == pre["delegated"]
    assert comp.POST_FAST["served"] - post["served"] == 2 and comp.EVENT_FAST["served"] - event["served"] == 2
    out, targets, read = want
    assert read and targets == ["rate_limits"], targets
    assert [o[0] for o in out] == ["pre", "post", "event"] * 2 + ["ProxyRateLimitError"] * 2, out
    assert all(o[1] == "caller" for o in out), out


def test_team_ptu_share_found_at_success_goes_to_litellm(monkeypatch):
    """A team key whose PTU share appears between the pre-call hook and the success event
    (the router's model list changed): LiteLLM's event settles the team's PTU counter through
    the resolver, so the restated event must hand it over. The router is LiteLLM's, its
    team_ptu_ceiling answering from a box the test fills; the counters after are compared
    with LiteLLM's, and the PTU counter must be among them."""
    import litellm
    import litellm.proxy.proxy_server as proxy_server
    from litellm.router_utils.ptu_shares import PTUTeamCeiling

    router = litellm.Router(model_list=[{"model_name": MODEL, "litellm_params": {"model": "openai/x",
                                                                               "api_key": "sk-x"}}])
    box = [None]
    monkeypatch.setattr(router, "team_ptu_ceiling", lambda team_id, model_group: box[0], raising=False)
    monkeypatch.setattr(proxy_server, "llm_router", router)
    monkeypatch.setenv("LITELLM_ENABLE_PTU_COST_ATTRIBUTION", "true")
    share = PTUTeamCeiling(model_group=MODEL, tpm_limit=10**6, output_to_input_ratio=4.0, cached_input_ratio=0.5)

    def run():
        clock = Clock()
        limiter, dual, mem = make_limiter(clock)
        uak = UserAPIKeyAuth(api_key="k" * 64, token="k" * 64, tpm_limit=10**6, user_id="u1", team_id="team-1")
        out = []

        async def one(n, found):
            box[0] = None
            data = {"model": MODEL, "messages": [{"role": "user", "content": "hello " * n}],
                    "litellm_call_id": f"c{n}"}
            await limiter.async_pre_call_hook(user_api_key_dict=uak, cache=dual, data=data, call_type="acompletion")
            box[0] = share if found else None
            response = ModelResponse(usage=Usage(prompt_tokens=30, completion_tokens=40, total_tokens=70))
            kwargs = event_kwargs(data, uak)
            await limiter.async_log_success_event(kwargs, response, None, None)
            out.append((sorted(mem.cache_dict.items()), sorted(mem.ttl_dict.items())))

        loop = asyncio.new_event_loop()
        try:
            for n in range(6):
                contextvars.Context().run(loop.run_until_complete, one(n, n % 2 == 1))
        finally:
            loop.close()
            box[0] = None
        return out

    before = dict(comp.EVENT_FAST)
    want, got, _served, _delegated = both(run, comp.HOOK_FAST)
    assert got == want
    assert comp.EVENT_FAST["delegated"] - before["delegated"] == 3  # the share found: LiteLLM's event
    assert comp.EVENT_FAST["served"] - before["served"] == 3  # no share: restated, team targets and all
    keys = {k for k, _v in want[-1][0]}
    assert any(k.startswith("{model_per_team_ptu:team-1:") for k in keys), sorted(keys)
    assert "{team:team-1}:tokens" in keys and "{team_member:team-1:u1}:tokens" in keys, sorted(keys)
