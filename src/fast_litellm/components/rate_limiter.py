"""rate_limiter: the proxy's rate-limit counters in a C table that never loses a live one.

LiteLLM 1.108.7's limiter (``parallel_request_limiter_v3``, and the batch and dynamic
limiters beside it) keeps its window starts, counters and parallel-request gauges in the
in-memory tier of ``InternalUsageCache``: an ``InMemoryCache`` of 200 entries that evicts
live counters when full, so that limits stop holding beyond a few dozen active keys.

Patched: ``litellm.proxy.utils:InternalUsageCache.__init__``. A ``DualCache`` handed to it
whose in-memory tier is a plain ``InMemoryCache`` gets a
:class:`fast_litellm.counter_cache.CounterCache` wrapping that cache instead: the same
rules and API, the counters in C, no live entry ever evicted (see counter_cache.py for
the rules and the memory cap). The limiter's decisions, headers and Redis traffic are
LiteLLM's own code, unchanged.

Patched too, the limiter's pre-call hook (``_PROXY_MaxParallelRequestsHandler_v3.
async_pre_call_hook``), in its plain case (no Redis, no project ITPM/OTPM, no team PTU
share, no dynamic limits, no request tags, LiteLLM's default resolvers, a chat call type;
see ``make_hook``): LiteLLM's steps in LiteLLM's order, its
own methods where they decide something, the counter operations made on the in-memory tier
directly (``_direct``: what ``InternalUsageCache`` and ``DualCache`` do with
``local_only=True`` and no Redis, without their three coroutines and debug f-strings per
operation), the sliding window and the all-or-nothing token reservation restated from
LiteLLM's code, without the five nested service-target wrappers and the lock it takes twice
(free, and nothing suspends). docs/RATE_LIMITER_HOOK.md has the hook's call tree.

Guards: every method of ``InMemoryCache`` (CounterCache re-implements its rules), so a
LiteLLM release that changes one refuses the component.

Flag: ``FAST_LITELLM_RATE_LIMITER``; the memory cap: ``FAST_LITELLM_RATE_LIMITER_MAX_MEMORY``.
``canary:N`` applies per cache created; ``shadow`` is not supported (the patch builds
state). Reverting keeps the caches already built.
"""

from __future__ import annotations

import asyncio

from ..patching import Component, Patch

TARGET = "litellm.proxy.utils:InternalUsageCache.__init__"
FP_INIT = frozenset({"6abc64379fcd420e"})

_IMC = "litellm.caching.in_memory_cache:InMemoryCache."
# fingerprints of InMemoryCache's methods in litellm 1.108.7
GUARDS = [(_IMC + name, frozenset({fp})) for name, fp in (
    ("__init__", "05e713fb6c24466b"),
    ("check_value_size", "56fdc5f3911c271f"),
    ("_is_key_expired", "fb8a22238539e9af"),
    ("_cache_keys", "844471b55fdae820"),
    ("_remove_key", "6c1e61512091cd11"),
    ("evict_cache", "43656a541c8dd7f8"),
    ("allow_ttl_override", "292eaad99376af4a"),
    ("set_cache", "19817fb0ce70eca4"),
    ("async_set_cache", "c4b38e20f3a0a5c7"),
    ("async_set_cache_pipeline", "54a547f17adcde79"),
    ("async_set_cache_sadd", "99b25197d24963fe"),
    ("evict_element_if_expired", "22f942ee3e8b5d49"),
    ("get_cache", "2196d207c2c326bd"),
    ("batch_get_cache", "a2580820886c838f"),
    ("increment_cache", "0e67f52f1de4855a"),
    ("async_get_cache", "08375c6f7144c12a"),
    ("async_batch_get_cache", "e70ec940aeedea04"),
    ("async_increment", "071749f84e53774f"),
    ("async_increment_pipeline", "169930b76d85a718"),
    ("flush_cache", "5c86305a19d5f3f5"),
    ("disconnect", "f75af6553d20e8db"),
    ("delete_cache", "8eee71774a5caadd"),
    ("async_get_ttl", "28bc4ca248d18ea6"),
    ("async_get_oldest_n_keys", "54599f33933948de"),
)]


# -- the limiter's counter operations on the in-memory tier --------------------------------

GUARDS += [
    # the hooks' service target, set and restored (by LiteLLM's _restore) as service_target() does
    ("litellm._internal_context:service_target", frozenset({"852a1a99c3e29ec8"})),
    ("litellm.proxy.utils:InternalUsageCache.async_get_cache", frozenset({"8ce4020c8546f05d"})),
    ("litellm.proxy.utils:InternalUsageCache.async_set_cache", frozenset({"8450fbfcbc32779c"})),
    ("litellm.proxy.utils:InternalUsageCache.async_batch_get_cache", frozenset({"6946d58ded487156"})),
    ("litellm.caching.dual_cache:DualCache.async_get_cache", frozenset({"838fbccb182b95f0"})),
    ("litellm.caching.dual_cache:DualCache.async_set_cache", frozenset({"1ae8eadce206c5a8"})),
    ("litellm.caching.dual_cache:DualCache.async_batch_get_cache", frozenset({"b264fba0a687eac1"})),
    ("litellm.caching.dual_cache:DualCache._prepare_batch_get", frozenset({"fa957726df7aa99c"})),
]

_IUC_METHODS = frozenset({"async_get_cache", "async_set_cache", "async_batch_get_cache"})
_DC_METHODS = frozenset({"async_get_cache", "async_set_cache", "async_batch_get_cache", "_prepare_batch_get"})
_MEM_METHODS = frozenset({"get_cache", "set_cache", "async_get_cache", "async_set_cache",
                          "batch_get_cache", "async_batch_get_cache"})


_LOCK = asyncio.Lock


def _lock_free(lock) -> bool:
    """An asyncio.Lock nobody holds or waits for: taking and releasing it around code that
    does not suspend is unobservable, so the restated steps leave it alone."""
    return type(lock) is _LOCK and not lock._locked and not lock._waiters


def _direct():
    """(tier(limiter) -> the in-memory tier or None, get, set, batch): when ``tier`` gives a
    cache, each of these does what the limiter's call through ``InternalUsageCache`` and
    ``DualCache`` does with ``local_only=True`` (LiteLLM 1.108.7):

    - ``InternalUsageCache`` passes the call on (``litellm_parent_otel_span`` becomes the
      DualCache's ``parent_otel_span`` for reads and a keyword its in-memory tier ignores
      for writes);
    - ``DualCache.async_get_cache``: ``print_verbose`` of the key, the in-memory read,
      ``print_verbose`` of the result twice, no Redis (``local_only``); any exception logged
      by ``log_redis_failure`` and answered with None;
    - ``DualCache.async_set_cache``: ``print_verbose`` of key and value (outside the try), the
      in-memory write with the ttl given, no Redis; exceptions logged;
    - ``DualCache.async_batch_get_cache``: the in-memory batch read and ``None in result``
      (``_prepare_batch_get``), no Redis; exceptions logged, answered with None.

    ``print_verbose`` prints nothing while ``litellm._logging.set_verbose`` is False: the
    f-strings are built only for values whose formatting could do something
    (``_native.repr_is_pure`` says which cannot: None, bools, 64-bit ints, floats, str, bytes,
    and dicts, lists and tuples of them).
    The tier is used when the limiter's ``InternalUsageCache`` and its ``DualCache`` are of
    those exact classes, with their methods LiteLLM's (or fast_litellm's equivalents) on the
    class and not replaced on the instance, no Redis on the DualCache, and a ``CounterCache``
    tier (no method replaced on the instance). One difference: a log record of a failure
    (only a clock that raises or MemoryError can cause one) names this module as its origin."""
    import logging
    import sys

    from litellm.caching import dual_cache as dcmod
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy.utils import InternalUsageCache

    from .. import _native
    from ..counter_cache import CounterCache
    from ..patching import still_bound

    logging_mod = sys.modules["litellm._logging"]
    _pure = _native.repr_is_pure
    unchanged = still_bound(*((InternalUsageCache, n) for n in sorted(_IUC_METHODS)),
                            *((DualCache, n) for n in sorted(_DC_METHODS)),
                            (dcmod, "print_verbose"), (logging_mod, "print_verbose"),
                            (dcmod, "log_redis_failure"), (dcmod, "verbose_logger"))
    error = logging.ERROR

    def tier(limiter):
        iuc = limiter.internal_usage_cache
        if type(iuc) is InternalUsageCache and logging_mod.set_verbose is False and unchanged():
            dc = iuc.dual_cache
            if type(dc) is DualCache and dc.redis_cache is None:
                mem = dc.in_memory_cache
                if (type(mem) is CounterCache and not iuc.__dict__.keys() & _IUC_METHODS
                        and not dc.__dict__.keys() & _DC_METHODS and not mem.__dict__.keys() & _MEM_METHODS):
                    return mem
        return None

    def get(mem, key):
        try:
            if not _pure(key):
                f"{key}"  # noqa: B018 - DualCache's print_verbose argument, built as LiteLLM builds it
            result = mem.get_cache(key)
            if not _pure(result):
                f"{result}"  # noqa: B018
                f"{result}"  # noqa: B018
            return result
        except Exception as e:
            dcmod.log_redis_failure(dcmod.verbose_logger, error, "LiteLLM Cache: exception in async_get_cache", e,
                                    with_traceback=True)
            return None

    def set_(mem, key, value, ttl, span):
        if not (_pure(key) and _pure(value)):
            f"{key}{value}"  # noqa: B018
        try:
            mem.set_cache(key, value, ttl=ttl, litellm_parent_otel_span=span)
        except Exception as e:
            dcmod.log_redis_failure(dcmod.verbose_logger, error, "LiteLLM Cache: exception in async add_cache", e,
                                    with_traceback=True)

    def batch(mem, keys):
        try:
            result = mem.batch_get_cache(list(keys))
            None in result  # noqa: B015 - _prepare_batch_get's test (it compares every value with None)
            return result
        except Exception as e:
            dcmod.log_redis_failure(dcmod.verbose_logger, error, "LiteLLM Cache: exception in async_batch_get_cache",
                                    e, with_traceback=True)
            return None

    return tier, get, set_, batch


# -- the limiter's pre-call hook, plain case --------------------------------------------------
#
# async_pre_call_hook (docs/RATE_LIMITER_HOOK.md has its call tree) costs ~85 us per request
# with one descriptor; most of it is layering: five nested service-target wrappers, an
# asyncio.Lock taken twice, InternalUsageCache -> DualCache -> in-memory tier for each of the
# seven to nine counter operations (three coroutines and up to three f-strings each), two
# pydantic copies of the request, and the same pure helpers asked the same question up to
# seven times. In the plain case (checked before anything happens, see _plain) the hook below
# runs LiteLLM's steps in LiteLLM's order: its own methods where they decide something
# (descriptors, the over-limit checks, the token estimate, the implicit output cap, the
# error, the project reservation), the counter operations on the in-memory tier directly
# (_direct), the sliding window and the all-or-nothing reservation restated operation for
# operation from LiteLLM's code.

V3_MOD = "litellm.proxy.hooks.parallel_request_limiter_v3"
_V3 = V3_MOD + ":_PROXY_MaxParallelRequestsHandler_v3."
HOOK = _V3 + "async_pre_call_hook"
FP_HOOK = frozenset({"4c6e072de473b823"})
# what the hook restates (the counter steps, the wrappers it leaves out) or takes as pure
GUARDS += [(_V3 + name, frozenset({fp})) for name, fp in (
    ("should_rate_limit", "543ad7bd4b28544d"),
    ("in_memory_cache_sliding_window", "0080ba867f60c440"),
    ("_in_memory_cache_sliding_window", "7a5449b2f15c6e68"),
    ("_batch_get_counter_values", "9cc80e9ca734355b"),
    ("reserve_tpm_tokens", "ed1ac98eff40607f"),
    ("atomic_check_and_increment_by_n", "c61f19cf90f28083"),
    ("_atomic_check_and_increment_in_memory", "977d6507d782c15f"),
    ("get_rate_limiter_for_call_type", "48af944d305b4bd0"),
    ("_estimate_ptu_tokens_for_request", "a87ac9a9b671e6e5"),
    ("_build_descriptor_atomic_payload", "c13cf546f6c73821"),  # (restated by _token_metas)
    ("_rate_limited_model", "e725904644e1120f"),
    # restated for the plain key and request (_simple_descriptors, _simple_estimate, the
    # early returns of the output cap and the project reservation)
    ("_apply_implicit_output_cap", "45e205bee2eebf36"),
    ("_reserve_project_io_tokens_or_raise", "fdcb3ea932967855"),
    ("no_max_tokens_output_floor", "78695e98de300e73"),
    ("_estimate_input_and_output_tokens", "b9aaf571e0aa3ee5"),
    ("_estimate_tokens_for_request", "85e7ee857141b4a8"),
    ("create_rate_limit_descriptors", "60463fbb0beba8dd"),
    ("_build_request_rate_limit_descriptors", "8579c2601dfaefdb"),
    ("create_organization_rate_limit_descriptor", "9aa8cae0827592ce"),
    ("_add_model_per_key_rate_limit_descriptor", "e8314769f4db1d29"),
    ("_add_tag_per_key_rate_limit_descriptor", "03600f81fe3b12dc"),
    ("_add_team_model_rate_limit_descriptor_from_metadata", "03d0de7f49e154b3"),
    ("_add_team_ptu_rate_limit_descriptor", "bb2ec10c8bfb45a0"),
    ("_get_resolved_agent_id", "d44b648e4d3e2bf6"),
    ("_add_project_model_rate_limit_descriptor_from_metadata", "dc3e3e43d8e16855"),
    ("add_project_io_token_rate_limit_descriptors_from_metadata", "8452a7480f79c49d"),
    ("_create_tag_rate_limit_descriptors", "a5a5a18ce510dbca"),
    ("_get_enforced_limit", "e0fecd0f88ba59e6"),
    ("_should_enforce_rate_limit", "0a7f3916d9237b96"),
    ("_get_explicit_output_cap", "d33d308c388ede81"),
    ("get_output_candidate_count", "714da71d5b6f2ab5"),
    ("_is_embedding_request", "ae32a2294849677c"),
    # the parallel-request gauges (restated by _gauges)
    ("_check_parallel_request_gauges", "0e0ac5cb3a9da0b2"),
    ("_read_local_gauge_counts", "92f776c14b72c065"),
    ("_batch_get_gauge_values", "53619cdf66bc024d"),
    ("_gauge_in_flight_from_cache_value", "436b462dbcbc4672"),
    ("_acquire_parallel_slots_in_memory", "4a792d3faec0748c"),
    ("_gauge_status", "dcec432156dbe4ec"),
)] + [("litellm.proxy.auth.auth_utils:" + name, frozenset({fp})) for name, fp in (
    ("get_estimated_output_tokens", "6c2475234c73b0d5"),
    ("_estimated_output_tokens_from_metadata", "2f6aa7cbb171e460"),
    ("get_key_tag_rpm_limit", "aea8abb9ea1bffc8"),
    ("get_model_rate_limit_from_metadata", "f61f8556cfdc0f77"),
)] + [("litellm.litellm_core_utils.prompt_templates.common_utils:" + name, frozenset({fp})) for name, fp in (
    ("get_str_from_messages", "c629b59039f58698"),
    ("convert_content_list_to_str", "9ecf05987972b4cb"),
    ("extract_search_results_text", "a7d59fd05d5fd195"),
)] + [("litellm.proxy.auth.budget_throttle:throttled_limit", frozenset({"6e621dfef011ad53"}))] + [(V3_MOD + ":" + name, frozenset({fp})) for name, fp in (
    ("_sibling_counter_keys", "9d435b6d2c3b99a5"),
    ("claim_request_stash_for_data", "4a6046cdd541d229"),
    ("get_or_create_request_stash", "896950177e4f4f09"),
    ("_resolve_ptu_team_ceiling_via_proxy_router", "8c9e78c4265a8b53"),
    ("_resolve_model_group_alias_via_proxy_router", "7ce24d164b76c450"),
)]

# the handler's methods this hook calls or restates (an instance attribute or a class
# attribute rebinding one of them sends the request to LiteLLM's hook)
_HOOK_METHODS = (
    "_build_request_rate_limit_descriptors", "_collect_windowed_keys_and_gauges",
    "is_cache_list_over_limit", "_batch_get_counter_values", "in_memory_cache_sliding_window",
    "_in_memory_cache_sliding_window", "should_rate_limit", "reserve_tpm_tokens",
    "atomic_check_and_increment_by_n", "_build_descriptor_atomic_payload",
    "_atomic_check_and_increment_in_memory", "_estimate_tokens_for_request",
    "_estimate_ptu_tokens_for_request", "_apply_implicit_output_cap", "_rate_limited_model",
    "_reserve_project_io_tokens_or_raise", "_handle_rate_limit_error", "_release_stashed_parallel_slot",
    "get_rate_limiter_for_call_type", "_get_current_time", "create_rate_limit_keys",
    "_check_parallel_request_gauges", "_read_local_gauge_counts", "_batch_get_gauge_values",
    "_gauge_in_flight_from_cache_value", "_acquire_parallel_slots_in_memory", "_gauge_status",
    # restated by _simple_descriptors / _simple_estimate
    "create_rate_limit_descriptors", "_add_model_per_key_rate_limit_descriptor",
    "_add_tag_per_key_rate_limit_descriptor", "_add_team_model_rate_limit_descriptor_from_metadata",
    "_add_team_ptu_rate_limit_descriptor", "_get_resolved_agent_id",
    "_add_project_model_rate_limit_descriptor_from_metadata",
    "add_project_io_token_rate_limit_descriptors_from_metadata", "create_organization_rate_limit_descriptor",
    "_create_tag_rate_limit_descriptors", "_get_enforced_limit", "_should_enforce_rate_limit",
    "_is_dynamic_rate_limiting_enabled", "_estimate_input_and_output_tokens", "_get_explicit_output_cap",
    "_is_embedding_request", "_translate_google_genai_native_request", "get_output_candidate_count",
    "no_max_tokens_output_floor",
)
_HOOK_METHOD_SET = frozenset(_HOOK_METHODS)
# module-level names the hook reads
_HOOK_GLOBALS = (
    "claim_request_stash_for_data", "get_or_create_request_stash", "_request_stash",
    "_REQUEST_RATE_LIMIT_DATA", "get_tags_from_request_body", "get_estimated_output_tokens",
    "verbose_proxy_logger", "_sibling_counter_keys", "RateLimitResponse", "RateLimitStatus",
    "RateLimitDescriptor", "RateLimitDescriptorRateLimitObject", "ParallelSlotAcquisition", "uuid",
    "PROJECT_ITPM_DESCRIPTOR_KEY", "PROJECT_OTPM_DESCRIPTOR_KEY", "PTU_TEAM_DESCRIPTOR_KEY",
    "RESPONSES_API_CALL_TYPES", "EMBEDDING_API_CALL_TYPES",
    "TEXT_COMPLETION_API_CALL_TYPES", "GOOGLE_GENAI_NATIVE_CALL_TYPES", "EndpointType",
    "_resolve_model_group_alias_via_proxy_router", "_resolve_ptu_team_ceiling_via_proxy_router",
    "throttled_limit", "get_str_from_messages", "DEFAULT_CHARS_PER_TOKEN", "DEFAULT_MAX_TOKENS_ESTIMATE",
    "_TPM_FLOOR_FRACTION", "PARALLEL_REQUEST_SLOT_TTL_SECONDS", "ParallelRequestGauge",
)

# pre-call hooks answered here / by LiteLLM's hook (tests read them)
HOOK_FAST = {"served": 0, "delegated": 0, "one_descriptor": 0,  # (served by _single)
             "table_steps": 0, "table_partial": 0}  # (TTLMap steps that answered; stopped at the cap)


def table_step(mem, prefix):
    """table_steps for one descriptor."""
    return table_steps(mem, (prefix,))


def table_steps(mem, prefixes):
    """(the C table, the cache's clock reading) when the descriptors' keys P"window",
    P"requests", P"tokens" (P in prefixes) can take the table's steps
    (``TTLMap.requests_step`` / ``window_pairs`` / ``reserve_all``:
    csrc/core/fl_rlstep.h; the same gets and sets, in the same order, as the calls through
    ``CounterCache``, at one clock reading): the cache is enabled, the keys are not in its
    object store, its clock gives a float, and no object-store entry has expired
    (CounterCache's set would sweep that store first). Else None."""
    py = mem._py
    if py.max_size_in_memory == 0:
        return None
    now = mem._now()
    if type(now) is not float:
        return None
    heap = py.expiration_heap
    if heap and heap[0][0] <= now:
        return None
    pyd = py.cache_dict
    if pyd:
        for prefix in prefixes:
            if prefix + "window" in pyd or prefix + "requests" in pyd or prefix + "tokens" in pyd:
                return None
    m = mem._map
    return (m if m is not None else mem._table()), now


def step_plan(prefix, reset, now_int, window_size, counter, value, ttl):
    """The sets a table step plans, in order, as (key, value, ttl): on a window restart
    P"requests" and P"tokens" to 0 and P"window" to str(now_int) (ttl window_size), then
    the counter P+counter to value (ttl)."""
    plan = []
    if reset:
        plan += [(prefix + "requests", 0, window_size), (prefix + "tokens", 0, window_size),
                 (prefix + "window", str(now_int), window_size)]
    plan.append((prefix + counter, value, ttl))
    return plan


def reserve_plan(metas, states, now_int):
    """The sets ``TTLMap.reserve_all`` plans for an admitted reservation, in order, as
    (key, value, ttl) (``_atomic_check_and_increment_in_memory``'s): for each expired window
    (first appearance, the last counter's window size) P"requests" and P"tokens" to 0; then
    per counter its window to str(now_int) when expired and the counter to its new value.
    ``states`` is reserve_all's per-counter (expired, current, new, window start)."""
    expired_windows = {meta["window_key"]: meta["window_size"] for meta, state in zip(metas, states) if state[0]}
    plan = [(wk[:-6] + name, 0, ws) for wk, ws in expired_windows.items() for name in ("requests", "tokens")]
    for meta, state in zip(metas, states):
        if state[0]:
            plan.append((meta["window_key"], str(now_int), meta["window_size"]))
        plan.append((meta["counter_key"], state[2], meta["ttl"]))
    return plan


def _empty(v) -> bool:
    """None or an empty exact dict (key metadata and model budgets that ask for nothing)."""
    return v is None or (type(v) is dict and not v)


def uuid4_hex(raw: bytes) -> str:
    """``uuid.UUID(bytes=raw, version=4).hex``: the version nibble (byte 6) and the variant
    bits (byte 8) set, the 16 bytes in hex."""
    b = bytearray(raw)
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


def make_hook(original):
    import logging
    import sys
    import uuid as uuid_mod

    from litellm.proxy._types import UserAPIKeyAuth

    from ..patching import still_bound

    import litellm.proxy.auth.auth_utils  # noqa: F401 - the model-limit helpers, read at call time

    mod = sys.modules[V3_MOD]
    ictx = sys.modules["litellm._internal_context"]  # with_service_target's module
    target_var = ictx._service_target  # service_target()'s variable (guarded, still_bound)
    cls = mod._PROXY_MaxParallelRequestsHandler_v3
    g = mod.__dict__
    tier, get, set_, batch = _direct()
    unchanged = still_bound(*((cls, n) for n in _HOOK_METHODS), *((mod, n) for n in _HOOK_GLOBALS),
                            (ictx, "service_target"), (ictx, "_service_target"))
    # the call types whose every branch in the hook is the chat one (not batch, responses,
    # embedding, text completion or Google native)
    other = set(g["RESPONSES_API_CALL_TYPES"]) | set(g["EMBEDDING_API_CALL_TYPES"]) | set(
        g["TEXT_COMPLETION_API_CALL_TYPES"]) | set(g["GOOGLE_GENAI_NATIVE_CALL_TYPES"]) | {"acreate_batch"}
    chat = frozenset({"acompletion", "completion"} - other)
    debug = logging.DEBUG
    # module constants, read once: rebinding one fails `unchanged` and the hook is LiteLLM's
    itpm, otpm, ptu_key = (g["PROJECT_ITPM_DESCRIPTOR_KEY"], g["PROJECT_OTPM_DESCRIPTOR_KEY"],
                           g["PTU_TEAM_DESCRIPTOR_KEY"])
    per_token, fraction = g["DEFAULT_CHARS_PER_TOKEN"], g["_TPM_FLOOR_FRACTION"]
    baseline = g["DEFAULT_MAX_TOKENS_ESTIMATE"] // fraction  # the output floor's ceiling
    slot_ttl = g["PARALLEL_REQUEST_SLOT_TTL_SECONDS"]

    std_uuid4, std_os = uuid_mod.uuid4, uuid_mod.os
    std_urandom = std_os.urandom

    def _slot_id():
        """``uuid.uuid4().hex`` (LiteLLM's parallel-slot id): while uuid4 and the os.urandom
        it reads are the standard library's, the same 16 random bytes with the version and
        variant bits set as UUID(version=4) sets them, without the UUID object."""
        u = g["uuid"]
        if u.uuid4 is std_uuid4 and u.os is std_os and std_os.urandom is std_urandom:
            return uuid4_hex(std_urandom(16))
        return u.uuid4().hex

    def plain(self, uak, data, call_type):
        """The in-memory tier when the plain case holds, else None. Reads only; raises nothing."""
        if not (type(self) is cls and type(call_type) is str and call_type in chat and unchanged()
                and not self.__dict__.keys() & _HOOK_METHOD_SET):
            return None
        if (self.batch_rate_limiter_script is not None or self.check_and_increment_by_n_script is not None
                or self.parallel_acquire_script is not None or self.tpm_reservation_enabled is not True):
            return None
        # LiteLLM's own (pure) resolvers: how often they are asked is not observable
        if (self._model_group_resolver is not g["_resolve_model_group_alias_via_proxy_router"]
                or self._ptu_team_ceiling_resolver is not g["_resolve_ptu_team_ceiling_via_proxy_router"]):
            return None
        if not _lock_free(self._check_and_increment_lock):
            return None  # LiteLLM's hook would wait for it
        if g["verbose_proxy_logger"].isEnabledFor(debug):
            return None  # its debug lines name LiteLLM's file and line: LiteLLM's hook logs them
        if type(data) is not dict or type(uak) is not UserAPIKeyAuth:
            return None
        for k in data:
            if type(k) is not str:
                return None  # (the request copy raises ValidationError: LiteLLM's hook raises it)
        # project ITPM/OTPM, a team PTU share, dynamic limits or request tags (resolved from
        # the database): LiteLLM's hook
        if uak.project_id is not None:
            return None
        md = uak.metadata
        if md:
            if type(md) is not dict or "dynamic" in (md.get("rpm_limit_type"), md.get("tpm_limit_type")):
                return None
        stash = g["_request_stash"].get()
        if stash is not None and stash.ptu_ceiling is not None:
            return None
        try:
            if g["get_tags_from_request_body"](data):
                return None
            model = data.get("model")
            if uak.team_id and isinstance(model, str) and model:
                rm = self._rate_limited_model(model)
                if rm is not None and self._ptu_team_ceiling_resolver(uak.team_id, rm.group) is not None:
                    return None
        except Exception:  # noqa: BLE001 - LiteLLM's hook raises it where it raises it
            return None
        return tier(self)

    def simple_key(uak, data):
        """The key has no limit that comes from metadata (key, team, organisation, project,
        per-model budgets), no agent, no budget throttle, and the request names its model
        with a str (or not at all) and no agent in its metadata: _simple_descriptors
        applies."""
        if (uak.metadata or uak.team_metadata or uak.model_max_budget or uak.organization_metadata
                or uak.project_metadata or uak.agent_id or uak.invoked_agent_id is not None
                or uak.budget_throttle_pct is not None):
            return False
        model = data.get("model")
        if model is not None and type(model) is not str:
            return False
        dm = data.get("metadata")
        return not dm or (type(dm) is dict and dm.get("agent_id") is None)

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type,
                                  endpoint_type=g["EndpointType"].GENERIC):
        mem = plain(self, user_api_key_dict, data, call_type)
        if mem is None:
            HOOK_FAST["delegated"] += 1
            return await original(self, user_api_key_dict, cache, data, call_type, endpoint_type)
        HOOK_FAST["served"] += 1
        simple = simple_key(user_api_key_dict, data)
        token = target_var.set("rate_limits")  # the decorator's service_target(), once
        try:
            return await _body(self, mem, simple, user_api_key_dict, data, call_type, endpoint_type)
        finally:
            ictx._restore(target_var, token)

    async def _body(self, mem, simple, uak, data, call_type, endpoint_type):
        # (the proxy logger is not enabled for DEBUG: LiteLLM's three debug lines are no-ops)
        stash = g["claim_request_stash_for_data"](data)
        # (get_rate_limiter_for_call_type: None for a chat call type)
        request_data = dict(data)  # what the Mapping[str, object] adapter returns for it
        model_value = request_data.get("model")
        requested_model = model_value if isinstance(model_value, str) else None
        if simple:
            descriptors = _simple_descriptors(self, uak, model_value)
        else:
            descriptors = await self._build_request_rate_limit_descriptors(
                user_api_key_dict=uak, data=request_data, call_type=call_type)
        if len(descriptors) == 1 and _single_ok(self, descriptors[0]):
            HOOK_FAST["one_descriptor"] += 1
            return await _single(self, mem, descriptors, uak, data, call_type, endpoint_type, stash,
                                 requested_model)
        stash.tpm_limited_tags = frozenset(
            d["value"]
            for d in descriptors
            if d["key"] == "tag" and d["rate_limit"] is not None and d["rate_limit"].get("tokens_per_unit") is not None
        )
        if not descriptors:
            return None
        parallel_counter_keys = [
            self.create_rate_limit_keys(d["key"], d["value"], "max_parallel_requests")
            for d in descriptors
            if (d.get("rate_limit") or {}).get("max_parallel_requests") is not None
        ]
        parallel_slot_id = _slot_id() if parallel_counter_keys else None
        response = _rpm_pass(self, mem, descriptors, uak.parent_otel_span, parallel_slot_id)
        if response["overall_code"] == "OVER_LIMIT":
            self._handle_rate_limit_error(response=response, descriptors=descriptors, requested_model=requested_model)
        else:
            stash.rate_limit_response = response
            if parallel_slot_id is not None:
                stash.parallel_slot = g["ParallelSlotAcquisition"](
                    slot_id=parallel_slot_id, counter_keys=parallel_counter_keys)
        configured_tpm_limits = tuple(
            int(v)
            for d in descriptors
            if d["key"] not in (itpm, otpm) and (v := (d.get("rate_limit") or {}).get("tokens_per_unit")) is not None
        )
        tpm_reservation_scopes = ()
        tpm_reservation_amount = 0
        if configured_tpm_limits:
            min_configured_tpm_limit = min(configured_tpm_limits)
            # (a simple key has no metadata to declare an output estimate in)
            configured_output_tokens = None if simple else g["get_estimated_output_tokens"](
                user_api_key_dict=uak, model_name=requested_model)
            estimated_tokens = _estimate(self, data, call_type, endpoint_type, requested_model,
                                         min_configured_tpm_limit, configured_output_tokens)
            # (the capped request copy and the PTU estimate: no PTU ceiling, the raw estimate)
            ptu_estimated_tokens = estimated_tokens
            tpm_response = _reserve(self, mem, descriptors, estimated_tokens, {ptu_key: ptu_estimated_tokens},
                                    uak.parent_otel_span)
            if tpm_response["overall_code"] == "OVER_LIMIT":
                await self._release_stashed_parallel_slot(stash, uak.parent_otel_span)
                self._handle_rate_limit_error(
                    response=tpm_response, descriptors=descriptors, requested_model=requested_model)
            else:
                _stash_reservation(self, stash, tpm_response, estimated_tokens, ptu_estimated_tokens, frozenset(
                    (d["key"], d["value"])
                    for d in descriptors
                    if d["key"] not in (itpm, otpm) and (d.get("rate_limit") or {}).get("tokens_per_unit") is not None
                ), requested_model)
                tpm_reservation_scopes = tuple(stash.reserved_scopes)
                tpm_reservation_amount = estimated_tokens
        # the project ITPM/OTPM reservation re-claims the stash (the same call id: no change)
        # and returns when no descriptor is one of those (no project id: none is)
        if any(d["key"] in (itpm, otpm) for d in descriptors):
            await self._reserve_project_io_tokens_or_raise(
                descriptors=descriptors, data=data, requested_model=requested_model, user_api_key_dict=uak,
                tpm_reservation_scopes=tpm_reservation_scopes, tpm_reservation_amount=tpm_reservation_amount,
                call_type=call_type, endpoint_type=endpoint_type)
        return None

    def _single_ok(self, d):
        """One descriptor _single takes: an exact dict of a key that is not a tag, ITPM, OTPM or
        PTU one, its rate_limit an exact dict whose limits are exact ints or None and whose
        window is an exact int (every int() LiteLLM applies to them is then the value itself
        and cannot raise), its key and value exact str."""
        if type(d) is not dict or type(d.get("key")) is not str or type(d.get("value")) is not str:
            return False
        if d["key"] in (itpm, otpm, ptu_key, "tag"):
            return False
        rl = d.get("rate_limit")
        if type(rl) is not dict:
            return False
        for name in ("requests_per_unit", "tokens_per_unit", "max_parallel_requests"):
            v = rl.get(name)
            if v is not None and type(v) is not int:
                return False
        return type(rl.get("window_size") or self.window_size) is int

    async def _single(self, mem, descriptors, uak, data, call_type, endpoint_type, stash, requested_model):
        """_body from the descriptors on, for one descriptor (_single_ok): the generic steps'
        loops over one item with LiteLLM's helpers inlined -- _collect_windowed_keys_and_gauges,
        is_cache_list_over_limit (twice), create_rate_limit_keys, the reservation's descriptor
        and _build_descriptor_atomic_payload -- the counter operations, gauges and the
        in-memory reservation the same functions as the generic path's."""
        response, status = g["RateLimitResponse"], g["RateLimitStatus"]
        d = descriptors[0]
        dk, dv = d["key"], d["value"]
        rl = d["rate_limit"]
        rpm, tpm, mpr = rl.get("requests_per_unit"), rl.get("tokens_per_unit"), rl.get("max_parallel_requests")
        window_size = rl.get("window_size") or self.window_size
        span = uak.parent_otel_span
        stash.tpm_limited_tags = frozenset()  # (no tag descriptor)
        prefix = f"{{{dk}:{dv}}}:"
        window_key = prefix + "window"
        parallel_slot_id = _slot_id() if mpr is not None else None
        # _rpm_pass
        now_int = int(self._get_current_time().timestamp())
        result = None
        statuses = []
        if rpm is not None:
            counter_key = prefix + "requests"
            # (the window here is the handler's own, not the descriptor's: an exact int or
            # the general path)
            step = table_step(mem, prefix) if type(self.window_size) is int else None
            if step is not None:
                m, now = step
                step = m.requests_step(prefix, rpm, now_int, self.window_size, now)
            if step is not None:
                HOOK_FAST["table_steps"] += 1
                # the pre-check and the sliding window in one call on the C table
                over, new_counter, _start, reset, done, complete = step
                if not complete:
                    HOOK_FAST["table_partial"] += 1
                    _finish(mem, prefix, reset, now_int, self.window_size, "requests", new_counter,
                            self.window_size, None, done)
                if over:
                    result = response(overall_code="OVER_LIMIT", statuses=[status(
                        code="OVER_LIMIT", current_limit=rpm, limit_remaining=rpm - new_counter,
                        rate_limit_type="requests", descriptor_key=dk, descriptor_value=dv)])
            else:
                cache_values = batch(mem, [window_key, counter_key])
                if cache_values is not None:
                    counter_value = cache_values[1]
                    if counter_value is not None and int(counter_value) > rpm:
                        result = response(overall_code="OVER_LIMIT", statuses=[status(
                            code="OVER_LIMIT", current_limit=rpm, limit_remaining=rpm - int(counter_value),
                            rate_limit_type="requests", descriptor_key=dk, descriptor_value=dv)])
                if result is None:
                    new_counter = _window(mem, [window_key, counter_key], now_int, self.window_size)[1]
            if result is None:
                code = "OVER_LIMIT" if new_counter > rpm else "OK"
                statuses.append(status(code=code, current_limit=rpm, limit_remaining=rpm - new_counter,
                                       rate_limit_type="requests", descriptor_key=dk, descriptor_value=dv))
                if code == "OVER_LIMIT":
                    result = response(overall_code="OVER_LIMIT", statuses=statuses)
        if result is None:
            if mpr is None:
                result = response(overall_code="OK", statuses=statuses)
            else:
                gauge_response = _gauges(self, mem, [g["ParallelRequestGauge"](
                    counter_key=prefix + "max_parallel_requests", limit=mpr, descriptor_key=dk)],
                    parallel_slot_id, span)
                result = response(overall_code=gauge_response["overall_code"],
                                  statuses=[*statuses, *gauge_response["statuses"]])
        if result["overall_code"] == "OVER_LIMIT":
            self._handle_rate_limit_error(response=result, descriptors=descriptors, requested_model=requested_model)
        else:
            stash.rate_limit_response = result
            if parallel_slot_id is not None:
                stash.parallel_slot = g["ParallelSlotAcquisition"](
                    slot_id=parallel_slot_id, counter_keys=[prefix + "max_parallel_requests"])
        if tpm is None:
            return None
        # (a simple key: no declared output estimate)
        estimated_tokens = _estimate(self, data, call_type, endpoint_type, requested_model, tpm, None)
        # (_build_descriptor_atomic_payload's increment: int() of an estimate >= 1, never skipped)
        meta = {
            "descriptor_key": dk, "descriptor_value": dv, "current_limit": tpm, "rate_limit_type": "tokens",
            "window_key": window_key, "counter_key": prefix + "tokens", "increment": int(estimated_tokens),
            "ttl": window_size, "window_size": window_size}
        tpm_response = _atomic(self, mem, [meta], span)
        if tpm_response["overall_code"] == "OVER_LIMIT":
            await self._release_stashed_parallel_slot(stash, span)
            self._handle_rate_limit_error(response=tpm_response, descriptors=descriptors, requested_model=requested_model)
        else:
            _stash_reservation(self, stash, tpm_response, estimated_tokens, estimated_tokens,
                               frozenset({(dk, dv)}), requested_model)
        return None

    def _estimate(self, data, call_type, endpoint_type, requested_model, min_tpm, configured):
        """The implicit output cap, then the request's token estimate (at least 1)."""
        # the implicit cap returns at once when the floor reaches its baseline (a chat call
        # type: no Responses minimum), i.e. when the smallest limit is at least 4,096
        if min(baseline, max(1, min_tpm // fraction)) < baseline:
            self._apply_implicit_output_cap(
                data=data, min_configured_limit=min_tpm, call_type=call_type,
                configured_output_tokens=configured, endpoint_type=endpoint_type)
        total = _simple_estimate(data, min_tpm, configured)
        if total is None:
            total = self._estimate_tokens_for_request(
                data=data, model=requested_model, min_configured_tpm_limit=min_tpm,
                call_type=call_type, configured_output_tokens=configured)
        return max(total, 1)

    def _stash_reservation(self, stash, tpm_response, estimated, ptu_estimated, scopes, requested_model):
        """The stash after an admitted token reservation, in LiteLLM's order."""
        stash.reserved_tokens = estimated
        stash.ptu_reserved_tokens = ptu_estimated
        stash.ptu_reserved_window_identities = frozenset(
            identity
            for identity in tpm_response.get("reservation_windows", frozenset())
            if identity[0].startswith(f"{{{ptu_key}:")
        )
        stash.reserved_model = self._rate_limited_model(requested_model)
        stash.reserved_scopes = scopes
        stored_response = stash.rate_limit_response
        if stored_response is not None:
            stored_response["statuses"].extend(tpm_response["statuses"])

    def _simple_descriptors(self, uak, model):
        """_build_request_rate_limit_descriptors for a simple key (simple_key): with no
        metadata, model budget, agent, throttle or dynamic limit type, LiteLLM's helpers give
        the key, user, team, team member, end user and organisation descriptors from the key's
        attributes (throttled_limit and _get_enforced_limit leave each limit as it is), a
        per-key model descriptor only from the deployment defaults (its helpers, called as
        LiteLLM calls them), and nothing else (tag, team-model, PTU, agent, project and
        per-organisation-model descriptors all need metadata, a PTU share or an id ruled out).
        ``model`` is the request's, a str or None."""
        window = self.window_size
        rld = g["RateLimitDescriptor"]
        out = []
        api_key = uak.api_key
        rpm, tpm, mpr = uak.rpm_limit, uak.tpm_limit, uak.max_parallel_requests
        if api_key and (rpm is not None or tpm is not None or mpr is not None):
            out.append(rld(key="api_key", value=api_key, rate_limit={
                "requests_per_unit": rpm, "tokens_per_unit": tpm, "max_parallel_requests": mpr,
                "window_size": window}))
        user_id, team_id, end_user_id = uak.user_id, uak.team_id, uak.end_user_id
        for key, present, value, lr, lt in (
                ("user", user_id, user_id, uak.user_rpm_limit, uak.user_tpm_limit),
                ("team", team_id, team_id, uak.team_rpm_limit, uak.team_tpm_limit),
                ("team_member", user_id, f"{team_id}:{user_id}", uak.team_member_rpm_limit,
                 uak.team_member_tpm_limit),
                ("end_user", end_user_id, end_user_id, uak.end_user_rpm_limit, uak.end_user_tpm_limit)):
            if present and (lr is not None or lt is not None):
                out.append(rld(key=key, value=value, rate_limit={
                    "requests_per_unit": lr, "tokens_per_unit": lt, "window_size": window}))
        rm = self._rate_limited_model(model)
        if rm is not None:
            auth_utils = sys.modules["litellm.proxy.auth.auth_utils"]
            lt = rm.limit_in(auth_utils.get_key_model_tpm_limit(uak, model_name=rm.group))
            lr = rm.limit_in(auth_utils.get_key_model_rpm_limit(uak, model_name=rm.group))
            if lt is not None or lr is not None:
                out.append(rld(key="model_per_key", value=f"{api_key}:{rm.group}", rate_limit={
                    "requests_per_unit": lr, "tokens_per_unit": lt, "window_size": window}))
        org_id = uak.org_id
        lr, lt = uak.organization_rpm_limit, uak.organization_tpm_limit
        if org_id is not None and (lr is not None or lt is not None):
            out.append(rld(key="organization", value=org_id, rate_limit={
                "requests_per_unit": lr, "tokens_per_unit": lt, "window_size": window}))
        return out

    def _simple_estimate(data, min_tpm, configured):
        """_estimate_tokens_for_request's total for a chat call type when every message is a
        dict whose content is None or a str and that has no search results, and the request
        has no output cap (max_tokens, max_completion_tokens) and no candidate count (n,
        best_of): the characters of the contents, input = max(1, chars // 4) (0 without any),
        output = the declared estimate, else max(input, floor) (0 without any character).
        None otherwise (LiteLLM's method answers)."""
        messages = data.get("messages")
        if type(messages) is not list:
            return None
        chars = 0
        for message in messages:
            if type(message) is not dict:
                return None
            content = message.get("content")
            if (content is not None and type(content) is not str) or message.get("search_results") is not None:
                return None
            if content:
                chars += len(content)
        if (data.get("max_tokens") is not None or data.get("max_completion_tokens") is not None
                or data.get("n") is not None or data.get("best_of") is not None):
            return None
        estimated_input = max(1, chars // per_token) if chars > 0 else 0
        floor = min(baseline, max(1, min_tpm // fraction))
        if chars == 0 and configured is None:
            output = 0
        elif configured is not None:
            output = configured
        else:
            output = max(estimated_input, floor)
        return estimated_input + output

    def _rpm_pass(self, mem, descriptors, span, parallel_slot_id):
        """should_rate_limit(descriptors, skip_tpm_check=True) with no Redis; the
        parallel-request gauges, when a descriptor has one, restated (_gauges)."""
        now_int = int(self._get_current_time().timestamp())
        keys_to_fetch, key_metadata, gauges = self._collect_windowed_keys_and_gauges(
            descriptors=descriptors, skip_tpm_check=True)
        windowed_response = g["RateLimitResponse"](overall_code="OK", statuses=[])
        if keys_to_fetch:
            cache_values = batch(mem, keys_to_fetch)
            if cache_values is not None:
                rate_limit_response = self.is_cache_list_over_limit(
                    keys_to_fetch, cache_values, key_metadata, read_only=False)
                if rate_limit_response["overall_code"] == "OVER_LIMIT":
                    return rate_limit_response
            cache_values = _window(mem, keys_to_fetch, now_int, self.window_size)
            windowed_response = self.is_cache_list_over_limit(
                keys_to_fetch, cache_values, key_metadata, read_only=False)
            if windowed_response["overall_code"] == "OVER_LIMIT":
                return windowed_response
        if not gauges:
            return windowed_response
        gauge_response = _gauges(self, mem, gauges, parallel_slot_id or _slot_id(), span)
        return g["RateLimitResponse"](
            overall_code=gauge_response["overall_code"],
            statuses=[*windowed_response["statuses"], *gauge_response["statuses"]],
        )

    def _gauges(self, mem, gauges, slot_id, span):
        """_check_parallel_request_gauges(read_only=False) with no acquire script: the local
        counts (_read_local_gauge_counts), then _acquire_parallel_slots_in_memory (its lock is
        free and nothing here suspends), step for step."""
        response = g["RateLimitResponse"]
        gauge_keys = [gauge["counter_key"] for gauge in gauges]
        values = batch(mem, gauge_keys)
        if values is None:
            local_counts = [0 for _ in gauge_keys]
        else:
            local_counts = []
            for raw_value in values:  # _gauge_in_flight_from_cache_value
                if raw_value is None:
                    local_counts.append(0)
                elif isinstance(raw_value, dict):
                    cutoff = self._get_current_time().timestamp() - slot_ttl
                    local_counts.append(sum(1 for ts in raw_value.values()
                                            if isinstance(ts, (int, float)) and ts >= cutoff))
                else:
                    local_counts.append(max(0, int(raw_value)))
        for gauge, in_flight in zip(gauges, local_counts):
            if in_flight >= gauge["limit"]:
                return response(overall_code="OVER_LIMIT", statuses=[self._gauge_status(gauge, in_flight, "OVER_LIMIT")])
        now = self._get_current_time().timestamp()
        cutoff = now - slot_ttl
        states = []
        for gauge in gauges:
            raw_value = get(mem, gauge["counter_key"])
            if isinstance(raw_value, dict):
                registry = {key: float(ts) for key, ts in raw_value.items()
                            if isinstance(ts, (int, float)) and ts >= cutoff}
                in_flight = len(registry or {})
            elif raw_value is None:
                registry = {}
                in_flight = 0
            else:
                registry = None
                in_flight = max(0, int(raw_value))
            if in_flight + 1 > gauge["limit"]:
                return response(overall_code="OVER_LIMIT", statuses=[self._gauge_status(gauge, in_flight, "OVER_LIMIT")])
            states.append((registry, in_flight))
        statuses = []
        for gauge, (registry, in_flight) in zip(gauges, states):
            new_value = {**registry, slot_id: now} if registry is not None else in_flight + 1
            set_(mem, gauge["counter_key"], new_value, slot_ttl, span)
            statuses.append(self._gauge_status(gauge, in_flight + 1, "OK"))
        return response(overall_code="OK", statuses=statuses)

    def _finish(mem, prefix, reset, now_int, window_size, counter, value, ttl, span, done):
        """A table step stopped at a set (the memory cap): its planned sets from `done` on,
        made through CounterCache as the general path makes them."""
        for key, v, t in step_plan(prefix, reset, now_int, window_size, counter, value, ttl)[done:]:
            set_(mem, key, v, t, span)

    def _window(mem, keys, now_int, window_size):
        """_in_memory_cache_sliding_window, step for step: the pairs the table's
        window_pairs takes in one call, the rest (from the first it does not take) here."""
        results = []
        done = 0
        if type(now_int) is int and type(window_size) is int and type(keys) is list:
            prefixes = []
            for i in range(0, len(keys) - 1, 2):
                k = keys[i]
                if type(k) is not str or not k.endswith(":window"):
                    break
                prefixes.append(k[:-6])
            step = table_steps(mem, prefixes) if prefixes else None
            if step is not None:
                m, now = step
                answer = m.window_pairs(keys, now_int, window_size, now)
                if answer is not None:
                    HOOK_FAST["table_steps"] += 1
                    results, done, partial = answer
                    if partial is not None:  # stopped at a set (the memory cap)
                        HOOK_FAST["table_partial"] += 1
                        sets_done, reset, counter = partial
                        for key, v, t in step_plan(keys[2 * done][:-6], reset, now_int, window_size,
                                                   "requests", counter, window_size)[sets_done:]:
                            set_(mem, key, v, t, None)
                        done += 1
        for i in range(2 * done, len(keys), 2):
            window_key = keys[i]
            counter_key = keys[i + 1]
            increment_value = 1
            window_start = get(mem, window_key)
            if window_start is None or (now_int - int(window_start)) >= window_size:
                for sibling_counter_key in g["_sibling_counter_keys"](window_key):
                    set_(mem, sibling_counter_key, 0, window_size, None)
                set_(mem, window_key, str(now_int), window_size, None)
                set_(mem, counter_key, increment_value, window_size, None)
                results.append(str(now_int))
                results.append(increment_value)
            else:
                current_counter = get(mem, counter_key)
                new_counter_value = (int(current_counter) if current_counter is not None else 0) + increment_value
                set_(mem, counter_key, new_counter_value, window_size, None)
                results.append(window_start)
                results.append(new_counter_value)
        return results

    def _reserve(self, mem, descriptors, estimated_tokens, scope_estimates, span):
        """reserve_tpm_tokens -> atomic_check_and_increment_by_n with no Redis script."""
        rld, rlo, response = g["RateLimitDescriptor"], g["RateLimitDescriptorRateLimitObject"], g["RateLimitResponse"]
        tpm_descriptors = [
            rld(
                key=d["key"],
                value=d["value"],
                rate_limit=rlo(
                    tokens_per_unit=(d.get("rate_limit") or {}).get("tokens_per_unit"),
                    window_size=(d.get("rate_limit") or {}).get("window_size"),
                ),
            )
            for d in descriptors
            if d["key"] not in (itpm, otpm) and (d.get("rate_limit") or {}).get("tokens_per_unit") is not None
        ]
        if not tpm_descriptors:
            return response(overall_code="OK", statuses=[])
        increments = [{"tokens": scope_estimates.get(d["key"], estimated_tokens)} for d in tpm_descriptors]
        flat_meta = _token_metas(self, tpm_descriptors, increments)
        if flat_meta is not None:
            return _atomic(self, mem, flat_meta, span) if flat_meta else response(overall_code="OK", statuses=[])
        descriptor_groups = []
        for descriptor, increment_amounts in zip(tpm_descriptors, increments):
            keys, args, meta = self._build_descriptor_atomic_payload(
                descriptor=descriptor, increment_amounts=increment_amounts)
            if keys:
                descriptor_groups.append((keys, args, meta))
        if not descriptor_groups:
            return response(overall_code="OK", statuses=[])
        flat_meta = [m for _keys, _args, group_meta in descriptor_groups for m in group_meta]
        return _atomic(self, mem, flat_meta, span)

    def _token_metas(self, tpm_descriptors, increments):
        """The per-counter metas _build_descriptor_atomic_payload gives for token-only
        descriptors (rate_limit: tokens_per_unit and window_size) and increments
        {"tokens": n}, when the limit, the window and the increment are exact ints (every
        int() LiteLLM applies is then the value itself and cannot raise): its "requests"
        counter skipped (no limit), its "tokens" counter kept unless the increment is
        negative. The descriptor's key and value must be exact strs (the window key's
        f-string formats them). None otherwise (LiteLLM's method builds them)."""
        own = self.window_size
        metas = []
        for descriptor, increment_amounts in zip(tpm_descriptors, increments):
            rate_limit = descriptor.get("rate_limit") or None
            if type(rate_limit) is not dict or rate_limit.get("requests_per_unit") is not None:
                return None
            limit = rate_limit.get("tokens_per_unit")
            window = rate_limit.get("window_size") or own
            inc = increment_amounts.get("tokens", 0) or 0
            if type(limit) is not int or type(window) is not int or type(inc) is not int:
                return None
            dk, dv = descriptor["key"], descriptor["value"]
            if type(dk) is not str or type(dv) is not str:
                return None
            if inc < 0:
                continue
            metas.append({
                "descriptor_key": dk, "descriptor_value": dv, "current_limit": limit,
                "rate_limit_type": "tokens", "window_key": f"{{{dk}:{dv}}}:window",
                "counter_key": self.create_rate_limit_keys(dk, dv, "tokens"), "increment": inc,
                "ttl": window, "window_size": window})
        return metas

    def _status(meta, code, limit_remaining):
        """The RateLimitStatus _atomic_check_and_increment_in_memory builds for a counter."""
        return g["RateLimitStatus"](
            code=code,
            current_limit=meta["current_limit"],
            limit_remaining=limit_remaining,
            rate_limit_type=meta["rate_limit_type"],
            descriptor_key=meta["descriptor_key"],
            descriptor_value=meta["descriptor_value"],
        )

    def _atomic_table(mem, per_counter_meta, now_int, parent_otel_span):
        """_atomic_check_and_increment_in_memory as one call on the C table
        (TTLMap.reserve_all), or None when the table does not take it."""
        if type(per_counter_meta) is not list or not per_counter_meta:
            return None
        metas, prefixes = [], []
        for meta in per_counter_meta:
            if type(meta) is not dict:
                return None
            wk = meta.get("window_key")
            if type(wk) is not str or not wk.endswith(":window"):
                return None
            prefixes.append(wk[:-6])
            metas.append((wk, meta.get("counter_key"), meta.get("increment"), meta.get("current_limit"),
                          meta.get("window_size"), meta.get("ttl")))
        step = table_steps(mem, prefixes)
        if step is None:
            return None
        m, now = step
        answer = m.reserve_all(metas, now_int, now)
        if answer is None:
            return None
        HOOK_FAST["table_steps"] += 1
        response = g["RateLimitResponse"]
        over_index, counter, states, sets_done, complete = answer
        if over_index < len(per_counter_meta):
            meta = per_counter_meta[over_index]
            return response(overall_code="OVER_LIMIT",
                            statuses=[_status(meta, "OVER_LIMIT", max(0, meta["current_limit"] - counter))])
        if not complete:  # stopped at a set (the memory cap): the rest through CounterCache
            HOOK_FAST["table_partial"] += 1
            for key, v, t in reserve_plan(per_counter_meta, states, now_int)[sets_done:]:
                set_(mem, key, v, t, parent_otel_span)
        return response(
            overall_code="OK",
            statuses=[_status(meta, "OK", max(0, meta["current_limit"] - state[2]))
                      for meta, state in zip(per_counter_meta, states)],
            reservation_windows=frozenset(
                (meta["counter_key"], str(state[3]), "local") for meta, state in zip(per_counter_meta, states)),
        )

    def _atomic(self, mem, per_counter_meta, parent_otel_span):
        """_atomic_check_and_increment_in_memory, step for step (the table's reserve_all
        when it takes the counters)."""
        response = g["RateLimitResponse"]
        now_int = int(self._get_current_time().timestamp())
        answer = _atomic_table(mem, per_counter_meta, now_int, parent_otel_span)
        if answer is not None:
            return answer
        descriptor_state = []
        for meta in per_counter_meta:
            window_size = meta["window_size"]
            window_start = get(mem, meta["window_key"])
            window_expired = window_start is None or (now_int - int(window_start)) >= window_size
            raw_counter = None if window_expired else get(mem, meta["counter_key"])
            current_counter = 0 if window_expired else int(raw_counter or 0)
            over_limit = (
                current_counter + meta["increment"] > meta["current_limit"]
                if meta["increment"] > 0
                else current_counter >= meta["current_limit"]
            )
            if over_limit:
                return response(
                    overall_code="OVER_LIMIT",
                    statuses=[_status(meta, "OVER_LIMIT", max(0, meta["current_limit"] - current_counter))],
                )
            descriptor_state.append({
                "window_expired": window_expired,
                "current": current_counter,
                "window_start": str(now_int if window_expired else int(window_start)),
            })
        expired_windows = {
            meta["window_key"]: meta["window_size"]
            for meta, state in zip(per_counter_meta, descriptor_state)
            if state["window_expired"]
        }
        for window_key, window_size in expired_windows.items():
            for sibling_counter_key in g["_sibling_counter_keys"](window_key):
                set_(mem, sibling_counter_key, 0, window_size, parent_otel_span)
        statuses = []
        for meta, state in zip(per_counter_meta, descriptor_state):
            new_counter = meta["increment"] if state["window_expired"] else state["current"] + meta["increment"]
            if state["window_expired"]:
                set_(mem, meta["window_key"], str(now_int), meta["window_size"], parent_otel_span)
            set_(mem, meta["counter_key"], new_counter, meta["ttl"], parent_otel_span)
            statuses.append(_status(meta, "OK", max(0, meta["current_limit"] - new_counter)))
        return response(
            overall_code="OK",
            statuses=statuses,
            reservation_windows=frozenset(
                (meta["counter_key"], state["window_start"], "local")
                for meta, state in zip(per_counter_meta, descriptor_state)
            ),
        )

    return async_pre_call_hook


# -- the limiter's post-call success hook, plain case ------------------------------------------
#
# async_post_call_success_hook (~30 us) releases the request's parallel-request slot through
# two locks and the cache layers, writes the x-ratelimit headers, and asks pydantic whether
# the response is a batch (a ValidationError for every chat response). In the plain case
# (checked first, see make_post_hook) the release is restated on the in-memory tier, the
# headers are LiteLLM's own calls, and an exact ModelResponse whose ``object`` is a str other
# than "batch" is known not to be one (_BatchResponseView's ``object`` is Literal["batch"]).

POST_HOOK = _V3 + "async_post_call_success_hook"
FP_POST_HOOK = frozenset({"017c165f1f8084ef"})
GUARDS += [(_V3 + name, frozenset({fp})) for name, fp in (
    ("_release_stashed_parallel_slot", "edfe29847d5f69fc"),
    ("_release_parallel_request_slots", "4794e1d3fff21056"),
    ("_release_parallel_request_slots_in_memory", "8cbd6dcb5ff0e129"),
    ("_handle_batch_enqueued_post_call", "d05d646c7554a7d9"),
)] + [(V3_MOD + ":" + name, frozenset({fp})) for name, fp in (
    ("get_request_stash_for_call", "4d1391dcc73ab6df"),
    ("_call_id_from_callback_kwargs", "ab254e7221d0bfc9"),
    ("get_request_stash", "bd5d25c62b24e1b6"),
)] + [("litellm.proxy.hooks.batch_enqueued_tokens:batch_response_view", frozenset({"f9e874498e4c0517"}))]
_POST_METHODS = ("_release_stashed_parallel_slot", "_release_parallel_request_slots",
                 "_release_parallel_request_slots_in_memory", "_handle_batch_enqueued_post_call",
                 "_merge_ratelimit_statuses_into_additional_headers")
_POST_GLOBALS = ("get_request_stash_for_call", "_call_id_from_callback_kwargs", "get_request_stash",
                 "response_has_hidden_params", "ensure_response_additional_headers", "batch_response_view",
                 "verbose_proxy_logger", "PARALLEL_REQUEST_SLOT_TTL_SECONDS")

# post-call success hooks answered here / by LiteLLM's hook (tests read them)
POST_FAST = {"served": 0, "delegated": 0}


def release_slot(get, set_, slot_ttl, mem, stash, span):
    """_release_stashed_parallel_slot with no release script (no Redis: nothing deferred):
    _release_parallel_request_slots_in_memory step for step (both locks free, nothing
    suspends), through _direct's get and set."""
    if stash is None:
        return
    acquisition = stash.parallel_slot
    if acquisition is None:
        return
    counter_keys = acquisition["counter_keys"]
    slot_id = acquisition["slot_id"]
    if counter_keys and slot_id:
        for counter_key in counter_keys:
            raw_value = get(mem, counter_key)
            if isinstance(raw_value, dict):
                if slot_id not in raw_value:
                    continue
                new_value = {key: ts for key, ts in raw_value.items() if key != slot_id}
            elif raw_value is None:
                continue
            else:
                new_value = max(0, int(raw_value) - 1)
            set_(mem, counter_key, new_value, slot_ttl, span)
    stash.parallel_slot = None


def make_post_hook(original):
    import sys

    from litellm.types.utils import ModelResponse

    from ..patching import still_bound

    mod = sys.modules[V3_MOD]
    ictx = sys.modules["litellm._internal_context"]
    target_var = ictx._service_target  # service_target()'s variable (guarded, still_bound)
    cls = mod._PROXY_MaxParallelRequestsHandler_v3
    g = mod.__dict__
    tier, get, set_, _batch = _direct()
    unchanged = still_bound(*((cls, n) for n in _POST_METHODS), *((mod, n) for n in _POST_GLOBALS),
                            (ictx, "service_target"), (ictx, "_service_target"))
    slot_ttl = g["PARALLEL_REQUEST_SLOT_TTL_SECONDS"]
    methods = frozenset(_POST_METHODS)

    def plain(self, data, response):
        """(the in-memory tier, the request's stash) when the plain case holds, else None.
        Reads only; raises nothing."""
        if not (type(self) is cls and type(response) is ModelResponse and unchanged()
                and not self.__dict__.keys() & methods):
            return None
        obj = response.__dict__.get("object")
        if type(obj) is not str or obj == "batch":
            return None  # (it could be a batch: LiteLLM's pydantic view decides)
        if self.parallel_release_script is not None or not _lock_free(self._check_and_increment_lock):
            return None
        stash = g["get_request_stash_for_call"](g["_call_id_from_callback_kwargs"](data))
        if stash is not None and not _lock_free(stash.parallel_slot_release_lock):
            return None
        mem = tier(self)
        return None if mem is None else (mem, stash)

    async def async_post_call_success_hook(self, data, user_api_key_dict, response):
        found = plain(self, data, response)
        if found is None:
            POST_FAST["delegated"] += 1
            return await original(self, data, user_api_key_dict, response)
        POST_FAST["served"] += 1
        mem, slot_stash = found
        logger = g["verbose_proxy_logger"]
        token = target_var.set("rate_limits")  # the decorator's service_target()
        try:
            try:
                release_slot(get, set_, slot_ttl, mem, slot_stash, user_api_key_dict.parent_otel_span)
            except Exception as e:
                logger.exception("Error releasing parallel request slot in post-call hook: %s", e)
            try:
                header_stash = g["get_request_stash"]()
                litellm_proxy_rate_limit_response = (
                    header_stash.rate_limit_response if header_stash is not None else None)
                if litellm_proxy_rate_limit_response is not None and g["response_has_hidden_params"](response):
                    additional_headers = g["ensure_response_additional_headers"](response)
                    additional_headers.update(self._merge_ratelimit_statuses_into_additional_headers(
                        additional_headers={}, statuses=litellm_proxy_rate_limit_response["statuses"]))
            except Exception as e:
                logger.exception("Error in rate limit post-call hook: %s", e)
            # (_handle_batch_enqueued_post_call: batch_response_view is None for this response)
        finally:
            ictx._restore(target_var, token)
        return None

    return async_post_call_success_hook


# -- the success event's key view ---------------------------------------------------------------
#
# _build_success_event_pipeline_operations asks _key_owns_model_tpm_limit_from_request_metadata,
# which builds a UserAPIKeyAuth (pydantic, ~14 us) from the request's key metadata and model
# budget to ask whether the key has its own model TPM limit. When both are None or an empty
# dict (every key without metadata) the view has empty metadata and no model budget:
# get_key_own_model_rate_limit answers None, RateLimitedModel.limit_in(None) None, the answer
# is False (checked once against LiteLLM's own view at patch time).

OWNS = _V3 + "_key_owns_model_tpm_limit_from_request_metadata"
FP_OWNS = frozenset({"01f97b56852b6c94"})
GUARDS += [
    (_V3 + "_key_owns_model_limit", frozenset({"ba76df8b4b229ce7"})),
    ("litellm.proxy.auth.auth_utils:get_key_own_model_rate_limit", frozenset({"c1c28e2bb2cc2cc3"})),
    (V3_MOD + ":RateLimitedModel.limit_in", frozenset({"7df6e485c89a3ae6"})),
]


# key views answered without pydantic / by LiteLLM's method (tests read them)
OWNS_FAST = {"served": 0, "delegated": 0}


def make_owns(original):
    import sys

    from ..patching import still_bound

    mod = sys.modules[V3_MOD]
    cls = mod._PROXY_MaxParallelRequestsHandler_v3
    model_type = mod.RateLimitedModel
    unchanged = still_bound((cls, "_key_owns_model_limit"), (mod, "UserAPIKeyAuth"),
                            (mod, "get_key_own_model_rate_limit"), (model_type, "limit_in"))
    # LiteLLM's own view of an empty key, once: the shortcut holds only if it is empty (if
    # not, every call is LiteLLM's; the rest of the component is unaffected)
    view = mod.UserAPIKeyAuth.model_validate({"metadata": {}, "model_max_budget": {}})
    view_empty = not view.metadata and not view.model_max_budget

    def _key_owns_model_tpm_limit_from_request_metadata(self, request_metadata, model):
        if (view_empty and type(request_metadata) is dict and type(model) is model_type and type(self) is cls
                and _empty(request_metadata.get("user_api_key_metadata"))
                and _empty(request_metadata.get("user_api_key_model_max_budget"))
                and "_key_owns_model_limit" not in self.__dict__ and unchanged()):
            OWNS_FAST["served"] += 1
            return False
        OWNS_FAST["delegated"] += 1
        return original(self, request_metadata, model)

    return _key_owns_model_tpm_limit_from_request_metadata


# -- the limiter's success event, plain case ---------------------------------------------------
#
# async_log_success_event (docs/RATE_LIMITER_SUCCESS_EVENT.md has its call tree; ~30 us with
# the rest of the component on) settles the request's token reservation: each target's tokens
# counter (key, user, team, team member, end user, organisation, their models) moves by
# actual - reserved when its scope was reserved, else by actual. In the plain
# case (checked first, see make_success_event) it is restated: the same stash, slot release,
# token count, targets and increments, the increments made on the in-memory tier as
# DualCache.async_increment_cache_pipeline makes them (no Redis), without the two
# service-target wrappers, the three coroutine layers per increment, the three stash lookups
# and the builders that answer nothing for this request (PTU, window-guarded and project
# io operations).

EVENT = _V3 + "async_log_success_event"
FP_EVENT = frozenset({"fd4f8c1b64ef6df9"})
GUARDS += [(_V3 + name, frozenset({fp})) for name, fp in (
    ("get_rate_limit_type", "6e1b3ff72a3b4c71"),
    ("_defer_parallel_slot_release", "37954c6b31a23499"),
    ("_build_success_event_pipeline_operations", "7bc74e4388e126be"),
    ("_get_total_tokens_from_usage", "ace40c418e7a01b1"),
    ("_aggregate_only_total_tokens", "c3bb0c4dca3db392"),
    ("_collect_tpm_scope_targets", "268aa25d18bc15a6"),
    ("_build_reservation_aware_tpm_ops", "ad2fd85f96ec89e8"),
    ("_build_team_ptu_tpm_ops", "adfa837499923871"),
    ("create_rate_limit_keys", "4a9b10c9fd345f29"),
    ("async_increment_tokens_with_ttl_preservation", "37a37e44def00505"),
    ("async_increment_reservation_aware_tokens", "834b1eecaaa77f0e"),
    ("_build_io_token_reservation_ops", "e787e22b6ce5b19e"),
)] + [(V3_MOD + ":_as_window_guarded", frozenset({"3a626932f558f3e4"}))] + [
    ("litellm.litellm_core_utils.core_helpers:" + name, frozenset({fp})) for name, fp in (
        ("get_parent_otel_span_from_kwargs", "fcdcaf884f40e248"),
        ("get_litellm_metadata_from_kwargs", "01522bfdc2868910"),
        ("get_metadata_variable_name_from_kwargs", "d51fc906b7854a8a"),
    )] + [
    ("litellm.proxy.common_utils.callback_utils:get_model_group_from_litellm_kwargs",
     frozenset({"fbb781a2db46055b"})),
    ("litellm.caching.dual_cache:DualCache.async_increment_cache_pipeline", frozenset({"f7d671bb7921ff6a"})),
]
_EVENT_METHODS = (
    "get_rate_limit_type", "_release_stashed_parallel_slot", "_defer_parallel_slot_release",
    "_release_parallel_request_slots", "_release_parallel_request_slots_in_memory",
    "_build_success_event_pipeline_operations", "_get_total_tokens_from_usage", "_aggregate_only_total_tokens",
    "_rate_limited_model", "_collect_tpm_scope_targets", "_key_owns_model_tpm_limit_from_request_metadata",
    "_key_owns_model_limit", "_build_reservation_aware_tpm_ops", "_build_team_ptu_tpm_ops",
    "create_rate_limit_keys", "async_increment_tokens_with_ttl_preservation",
    "async_increment_reservation_aware_tokens", "_build_io_token_reservation_ops",
)
_EVENT_GLOBALS = ("get_request_stash_for_call", "_call_id_from_callback_kwargs", "_as_window_guarded",
                  "_request_stash", "verbose_proxy_logger", "INTERNAL_CALL_ORIGIN_METADATA_KEY", "ModelResponse",
                  "Usage", "PTU_TEAM_DESCRIPTOR_KEY", "RedisPipelineIncrementOperation", "with_service_target",
                  "RateLimitedModel", "PARALLEL_REQUEST_SLOT_TTL_SECONDS",
                  "_resolve_ptu_team_ceiling_via_proxy_router", "_resolve_model_group_alias_via_proxy_router",
                  "UserAPIKeyAuth", "get_key_own_model_rate_limit")  # (the key view's, make_owns)

# success events answered here / by LiteLLM's method (tests read them)
EVENT_FAST = {"served": 0, "delegated": 0}


def make_success_event(original):
    import logging
    import sys

    from litellm.caching import dual_cache as dcmod
    from litellm.caching.dual_cache import DualCache
    from litellm.types.utils import ModelResponse, Usage

    from ..counter_cache import CounterCache
    from ..patching import still_bound

    mod = sys.modules[V3_MOD]
    ictx = sys.modules["litellm._internal_context"]
    target_var = ictx._service_target  # service_target()'s variable (guarded, still_bound)
    cls = mod._PROXY_MaxParallelRequestsHandler_v3
    g = mod.__dict__
    model_type = mod.RateLimitedModel
    tier, get, set_, _batch = _direct()
    unchanged = still_bound(*((cls, n) for n in _EVENT_METHODS), *((mod, n) for n in _EVENT_GLOBALS),
                            (ictx, "service_target"), (ictx, "_service_target"),
                            (DualCache, "async_increment_cache_pipeline"),
                            (CounterCache, "increment_cache"), (dcmod, "log_redis_failure"),
                            (dcmod, "verbose_logger"), (model_type, "limit_in"))
    methods = frozenset(_EVENT_METHODS)
    mem_methods = frozenset({"increment_cache", "async_increment", "async_increment_pipeline"})
    slot_ttl = g["PARALLEL_REQUEST_SLOT_TTL_SECONDS"]
    debug, warning = logging.DEBUG, logging.WARNING
    # the standard logging metadata's ids whose targets are not restated (falsy here): a
    # project's model target, an agent's (and its session's)
    other_ids = ("user_api_key_project_id", "agent_id")
    # reserved scopes the event treats otherwise than by its targets (appended, PTU-settled)
    odd_scopes = ("agent", "agent_session", g["PTU_TEAM_DESCRIPTOR_KEY"])
    ptu_resolver = g["_resolve_ptu_team_ceiling_via_proxy_router"]
    group_resolver = g["_resolve_model_group_alias_via_proxy_router"]

    def scope_set(scopes):
        """A frozenset of (str, str) pairs (membership then runs no foreign __eq__)."""
        if type(scopes) is not frozenset:
            return False
        for scope in scopes:
            if type(scope) is not tuple or len(scope) != 2 or type(scope[0]) is not str or type(scope[1]) is not str:
                return False
            if scope[0] in odd_scopes:
                return False
        return True

    unasked = object()  # (the reconciled model not looked up yet)

    def ident(v):
        """An id the targets take: falsy (no target) or an exact str."""
        return not v or type(v) is str

    def count(v):
        return type(v) is int or v is None

    def plain(self, kwargs, response):
        """(the in-memory tier, the stash, the key hash, the usage, the request metadata,
        (user, team, organisation, end user), the reconciled model when a team asked for it)
        when the plain case holds (docs/RATE_LIMITER_SUCCESS_EVENT.md §5: the key's, user's,
        team's, team member's, end user's, organisation's and their model targets; no project
        or agent target, no PTU share), else None. Reads only (LiteLLM's pure resolvers asked
        for a team); raises nothing."""
        if not (type(self) is cls and type(response) is ModelResponse and type(kwargs) is dict and unchanged()
                and not self.__dict__.keys() & methods):
            return None
        if (self.token_increment_script is not None or self.window_guarded_token_increment_script is not None
                or self.parallel_release_script is not None):
            return None
        if g["verbose_proxy_logger"].isEnabledFor(debug):
            return None  # (its debug lines name LiteLLM's file and line)
        # get_rate_limit_type: the proxy's general_settings (a dict, or the proxy's
        # SettingsStore mapping), read once as LiteLLM reads it
        proxy_server = sys.modules.get("litellm.proxy.proxy_server")
        settings = getattr(proxy_server, "general_settings", None) if proxy_server is not None else None
        store = sys.modules.get("litellm.proxy.config_resolvers.settings_store")
        if not (type(settings) is dict or (store is not None and type(settings) is store.SettingsStore)):
            return None
        try:
            rate_limit_type = settings.get("token_rate_limit_type", "total")
        except Exception:  # noqa: BLE001 - LiteLLM's method raises it
            return None
        if rate_limit_type in ("output", "input"):
            return None
        # kwargs: the proxy's shape, no call origin, no key metadata
        if type(kwargs.get("litellm_call_id")) is not str or "litellm_metadata" in kwargs:
            return None
        if not _empty(kwargs.get("metadata")) and type(kwargs.get("metadata")) is not dict:
            return None
        params = kwargs.get("litellm_params")
        if type(params) is not dict or params.get("litellm_metadata"):
            return None
        md = params.get("metadata")
        if type(md) is not dict or md.get("internal_call_origin") or not (
                _empty(md.get("user_api_key_metadata")) and _empty(md.get("user_api_key_model_max_budget"))):
            return None
        slo = kwargs.get("standard_logging_object") or {}
        if type(slo) is not dict:
            return None
        slm = slo.get("metadata") or {}
        if type(slm) is not dict:
            return None
        key_hash = slm.get("user_api_key_hash")
        if type(key_hash) is not str or not key_hash or any(slm.get(name) for name in other_ids):
            return None
        user_id, team_id, org_id = slm.get("user_api_key_user_id"), slm.get("user_api_key_team_id"), slm.get(
            "user_api_key_org_id")
        end_user = kwargs.get("user") or slm.get("user_api_key_end_user_id")
        if not (ident(user_id) and ident(team_id) and ident(org_id) and ident(end_user)):
            return None
        # the stash: reserved scopes that are targets or nothing to the event (no agent,
        # agent-session or team-PTU scope), no PTU, tag or io reservation
        stash = g["get_request_stash_for_call"](g["_call_id_from_callback_kwargs"](kwargs))
        if stash is None or not _lock_free(stash.parallel_slot_release_lock):
            return None
        if (stash.ptu_ceiling is not None or stash.ptu_reserved_window_identities or stash.tpm_limited_tags
                or type(stash.reserved_tokens) is not int
                or (stash.reserved_model is not None and type(stash.reserved_model) is not model_type)
                or not scope_set(stash.reserved_scopes)
                or type(stash.itpm_reserved_tokens) is not int or stash.itpm_reserved_tokens > 0
                or type(stash.otpm_reserved_tokens) is not int or stash.otpm_reserved_tokens > 0):
            return None
        if stash.parallel_slot is not None and not _lock_free(self._check_and_increment_lock):
            return None
        # the usage: a Usage of ints (or none)
        usage = getattr(response, "usage", None)  # (pydantic's extra field, as LiteLLM reads it)
        if usage is not None:
            if type(usage) is not Usage or not (count(usage.total_tokens) and count(usage.prompt_tokens)
                                                and count(usage.completion_tokens)):
                return None
            details = usage.prompt_tokens_details
            if details is not None and not count(getattr(details, "cached_tokens", None)):
                return None
        mem = tier(self)
        if mem is None or mem.__dict__.keys() & mem_methods:
            return None
        # the reconciled model: the reservation's, else LiteLLM's own lookup of the
        # request's model group, asked once (here for a team, else by the event)
        model = stash.reserved_model if stash.reserved_model is not None else unasked
        if team_id:
            # the team's PTU settlement (_build_team_ptu_tpm_ops) asks the resolver for the
            # reconciled model's group: only LiteLLM's resolvers (pure reads, asked here
            # before anything changes), and only when it finds no PTU share
            if self._ptu_team_ceiling_resolver is not ptu_resolver or (
                    model is unasked and self._model_group_resolver is not group_resolver):
                return None
            try:
                if model is unasked:
                    model = self._rate_limited_model(md.get("model_group", None))
                if model is not None and self._ptu_team_ceiling_resolver(team_id, model.group) is not None:
                    return None
            except Exception:  # noqa: BLE001 - LiteLLM's event logs it where it raises
                return None
        return mem, stash, key_hash, usage, md, (user_id, team_id, org_id, end_user), model

    def actual_tokens(usage):
        """_get_total_tokens_from_usage(usage, "total"), then _aggregate_only_total_tokens
        when that is 0."""
        total = cached = 0
        if usage:
            total = usage.total_tokens or 0
            if usage.prompt_tokens_details is not None:
                cached = getattr(usage.prompt_tokens_details, "cached_tokens", 0) or 0
        if cached > 0:
            total = max(0, total - cached)
        if total == 0 and usage is not None:
            prompt, completion, whole = usage.prompt_tokens or 0, usage.completion_tokens or 0, usage.total_tokens or 0
            total = 0 if prompt or completion or not isinstance(whole, int) else whole
        return total

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        found = plain(self, kwargs, response_obj)
        if found is None:
            EVENT_FAST["delegated"] += 1
            return await original(self, kwargs, response_obj, start_time, end_time)
        EVENT_FAST["served"] += 1
        mem, stash, key_hash, usage, md, (user_id, team_id, org_id, end_user), model = found
        logger = g["verbose_proxy_logger"]
        token = target_var.set("rate_limits")  # the decorator's service_target(), once
        try:
            try:
                # (the parent span: only the cache calls below receive it, and they ignore it)
                release_slot(get, set_, slot_ttl, mem, stash, None)
                total = actual_tokens(usage)
                reserved, scopes = stash.reserved_tokens, stash.reserved_scopes
                # the reservation's model, else LiteLLM's own lookup of the request's model
                # group (get_model_group_from_litellm_kwargs: the metadata's, no
                # "litellm_metadata" in kwargs), unless plain() asked it already
                if model is unasked:
                    model = self._rate_limited_model(md.get("model_group", None))
                group = model.group if model is not None else None
                # _collect_tpm_scope_targets' order
                targets = [("api_key", key_hash)]
                if user_id:
                    targets.append(("user", user_id))
                if team_id:
                    targets.append(("team", team_id))
                    if user_id:
                        targets.append(("team_member", f"{team_id}:{user_id}"))
                if end_user:
                    targets.append(("end_user", end_user))
                if org_id:
                    targets.append(("organization", org_id))
                if group:
                    targets.append(("model_per_key", f"{key_hash}:{group}"))
                    if team_id:
                        targets.append(("model_per_team", f"{team_id}:{group}"))
                    if org_id:
                        targets.append(("model_per_organization", f"{org_id}:{group}"))
                    # a key owning its model's TPM limit is not charged its team's model
                    # counter: the key view asked as LiteLLM asks it (request_metadata is
                    # get_litellm_metadata_from_kwargs': the metadata, or {} when empty). Its
                    # answer matters only here; elsewhere it is False (no key metadata) and
                    # raises nothing (its helpers still bound), so it is not asked
                    if team_id and self._key_owns_model_tpm_limit_from_request_metadata(md if md else {}, model):
                        targets = [target for target in targets if target[0] != "model_per_team"]
                ops = []
                for scope in targets:
                    increment = total - reserved if scope in scopes else total
                    if increment != 0:
                        ops.append((self.create_rate_limit_keys(scope[0], scope[1], "tokens"), increment))
                if ops:
                    # DualCache.async_increment_cache_pipeline, in-memory only
                    try:
                        for key, increment in ops:
                            mem.increment_cache(key=key, value=increment, parent_otel_span=None)
                    except Exception as e:
                        dcmod.log_redis_failure(
                            dcmod.verbose_logger, warning,
                            "Redis async_increment_cache_pipeline failed, falling back to in-memory result", e)
            except Exception as e:
                logger.exception("Error in rate limit success event: %s", e)
        finally:
            ictx._restore(target_var, token)
        return None

    return async_log_success_event


def register(registry) -> None:
    def gauges():
        from ..counter_cache import table_stats

        t = table_stats()
        return {
            "counter_table_bytes": ("Bytes held by the rate-limit counter tables (C)", t["bytes"]),
            "counter_table_entries": ("Entries in the rate-limit counter tables (C)", t["entries"]),
            "counter_object_entries": ("Rate-limit entries of other types (Python objects)", t["objects"]),
        }

    comp = Component(
        name="rate_limiter",
        patches=[],
        description="rate-limit counters in a C table: exact at any number of keys",
        shadow_ok=False,
        guards=GUARDS,
        gauges=gauges,
        paths={"pre_call_hook": HOOK_FAST, "post_call_success_hook": POST_FAST, "success_key_view": OWNS_FAST,
               "success_event": EVENT_FAST},
    )

    def make_init(original):
        from litellm.caching.in_memory_cache import InMemoryCache

        from ..counter_cache import CounterCache

        def __init__(self, dual_cache):
            mem = getattr(dual_cache, "in_memory_cache", None)
            if type(mem) is InMemoryCache:
                dual_cache.in_memory_cache = CounterCache(
                    mem, stats=comp.stats, on_fallback=lambda: registry.exporter.flush(comp))
            original(self, dual_cache)

        return __init__

    comp.patches.append(Patch(TARGET, make_init, FP_INIT))
    # LiteLLM's own exceptions (the 429, a ValidationError of the request) are raised from ours
    comp.patches.append(Patch(HOOK, make_hook, FP_HOOK, passthrough=(Exception,)))
    comp.patches.append(Patch(POST_HOOK, make_post_hook, FP_POST_HOOK, passthrough=(Exception,)))
    comp.patches.append(Patch(OWNS, make_owns, FP_OWNS, passthrough=(Exception,)))
    comp.patches.append(Patch(EVENT, make_success_event, FP_EVENT, passthrough=(Exception,)))
    registry.register(comp)
