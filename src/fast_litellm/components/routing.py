"""routing: the Router's pick without its per-deployment Python where that Python changes nothing.

Three groups of patches (litellm 1.108.7); the third, least-busy and usage-based-routing-v2
in C (busyscan.c, usagekeys.c, v2scan.c), is described where it is defined below. The checks
of group 1 remember each deployment's answers while its dicts keep their CPython version tags
(csrc/ext/depmemo.c, docs/ROUTING.md section 7).

1. Every pick, every strategy: the per-deployment filters and loops that, in the common
   configuration, keep every candidate (strategy markers, access windows, PTU shares, the
   video narrowing, the routing order), ``Router.get_all_deployments(name)`` and
   simple-shuffle's weight tuples. One C pass over the list (``csrc/ext/routefilt.c``)
   decides that the list is in that plain case and produces LiteLLM's answer; anything else
   goes to LiteLLM's function. See "the per-deployment filters" below.

2. LiteLLM's latency-, cost- and usage-based (v1) selectors in linear time:

* ``litellm.router_strategy.lowest_latency:LowestLatencyLoggingHandler._get_available_deployments``
  (latency-based-routing, sync and async picks);
* ``litellm.router_strategy.lowest_cost:LowestCostLoggingHandler.async_get_available_deployments``
  (cost-based-routing);
* ``litellm.router_strategy.lowest_tpm_rpm:LowestTPMLoggingHandler.get_available_deployments``
  (usage-based-routing, v1).

Each of LiteLLM's selectors walks the cached per-deployment map and, for every entry, scans
the whole candidate list for the deployment with that id, with no ``break`` (the last match
wins): O(n^2), 81-84 % of a pick at 1,000 deployments (docs/ROUTING.md). Here the candidate
list is indexed by id once per pick (a dict built while the placeholders are inserted; a later
duplicate id overwrites an earlier one, so the last match still wins) and each map entry is one
lookup. Ids that are not exactly ``str`` (and map keys that are not) take a linear scan that
compares with ``==`` as LiteLLM does, so exotic ids behave the same too.

This stays in Python on purpose: removing the quadratic scan is the whole win; the rest of a
pick is dict reads, the same ``random`` draws and the same token count, which C would not make
cheaper without giving up exactness.

Everything else is reproduced, not approximated:

* the same ``random`` draws in the same order with the same populations
  (``random.sample`` over every map entry, ``random.choice`` over the latency-tied list), through
  the ``random`` module the original's module imported, looked up at call time (seeding and
  monkeypatching behave as with LiteLLM);
* the same in-place writes to the cached map (placeholders for unseen candidates, in candidate
  order, with the same values), the same ``_latency_per_deployment`` metadata (same key order),
  ``token_counter``/``datetime``/logger looked up on the original's module at call time;
* the same exceptions: the selectors have side effects (map writes, random draws) before the
  points where malformed input raises, so a fallback to LiteLLM after a partial native run
  would not be identical. Every exception therefore propagates (``passthrough``), and the
  component has no shadow mode (``shadow_ok=False``).
"""

from __future__ import annotations

import _random
import inspect
import logging
import math
import random as _std_random

from ..patching import Component, Patch, still_bound

LATENCY = "litellm.router_strategy.lowest_latency:LowestLatencyLoggingHandler._get_available_deployments"
COST = "litellm.router_strategy.lowest_cost:LowestCostLoggingHandler.async_get_available_deployments"
USAGE_V1 = "litellm.router_strategy.lowest_tpm_rpm:LowestTPMLoggingHandler.get_available_deployments"

# fingerprints (fast_litellm.fingerprint) of the originals in litellm 1.108.7
FP_LATENCY = frozenset({"e8f402c00332e242"})
FP_COST = frozenset({"a605ccf3def0f52d"})
FP_USAGE_V1 = frozenset({"0c89371528a13765"})

# relied on (called, or re-implemented here) without being replaced
GUARDS = [
    ("litellm.router_strategy.lowest_latency:_average_latency", frozenset({"e7e20d7f494afbd2"})),
    ("litellm.router_strategy.lowest_latency:_percentile_latency", frozenset({"7251508fa0c71878"})),
    ("litellm.integrations.custom_logger:CustomLogger._select_metadata_field", frozenset({"8e7e7e02b72fb950"})),
    ("litellm.router_strategy.lowest_cost:_deployment_cost_map_rates", frozenset({"2d10a8d2fc0b5937"})),
    ("litellm._internal_context:with_service_target", frozenset({"06a72fa02100e04b"})),
    # what cost_scan restates of _deployment_cost_map_rates
    ("litellm.router_strategy.lowest_cost:_cost_map", frozenset({"42dafe87d6825765"})),
    ("litellm.router_strategy.lowest_cost:_declares_token_price", frozenset({"1be32131a117cd4f"})),
    ("litellm.router_strategy.lowest_cost:_as_rate", frozenset({"32fc57785be70851"})),
    ("litellm.router_utils.deployment_pricing:pricing_models", frozenset({"7a6426e2e5806bff"})),
    ("litellm.router_utils.deployment_pricing:deployment_pricing_models", frozenset({"aede5c16670397bd"})),
    ("litellm.router_utils.deployment_pricing:_named_models", frozenset({"8c83d3ab9f282cfb"})),
    ("litellm.router_utils.deployment_pricing:str_keyed", frozenset({"8a5cef5070c29fd5"})),
    # the cost-map rows the Router re-registers: a dict subclass that overrides nothing,
    # read by cost_scan as the dict it is (pydantic's dict[str, object] reads it so too)
    ("litellm.litellm_core_utils.get_model_cost_map:AliasedCostEntry", frozenset({"ea2daffbd82365c4"})),
]

_INF = float("inf")


class _ById:
    """The candidate that LiteLLM's no-break scan finds for a map key: the last deployment
    whose ``model_info["id"]`` equals it."""

    __slots__ = ("healthy", "index", "exact")

    def __init__(self, healthy, ids, index=None):
        self.healthy = healthy
        if index is not None:  # candidate_ids' index: every id an exact str
            self.exact, self.index = True, index
            return
        # str ids compare by value exactly as dict lookup does; anything else is scanned
        self.exact = all(type(i) is str for i in ids)
        self.index = dict(zip(ids, healthy)) if self.exact else None

    def find(self, item):
        if self.exact and type(item) is str:
            return self.index.get(item)
        found = None
        for m in self.healthy:
            if item == m["model_info"]["id"]:
                found = m
        return found


def _id_pass(candidate_ids, healthy, cached, fill):
    """The latency, cost and v1 selectors' pass over the candidates: every id missing from
    cached gets ``fill()`` (in the candidates' order, once), and the candidates by id. In C
    (``candidate_ids``) when plain, LiteLLM's loop otherwise (which raises where it raises)."""
    got = candidate_ids(healthy, cached)
    if got is not None:
        for i in got[1]:
            cached[i] = fill()
        return _ById(healthy, None, got[0])
    ids = []
    for d in healthy:
        i = d["model_info"]["id"]
        ids.append(i)
        if i not in cached:
            cached[i] = fill()
    return _ById(healthy, ids)


def _minute(datetime) -> str:
    # three reads of the clock, as LiteLLM does (the same string across a minute boundary)
    return (f'{datetime.now().strftime("%Y-%m-%d")}-{datetime.now().strftime("%H")}'
            f'-{datetime.now().strftime("%M")}')


def _limit(d, key):
    """``d.get(key) or litellm_params[key] or model_info[key] or inf`` (a 0 limit is unlimited)."""
    return (d.get(key, None) or d.get("litellm_params", {}).get(key, None)
            or d.get("model_info", {}).get(key, None) or _INF)


def _input_tokens(g, messages, input):
    try:
        return g["token_counter"](messages=messages, text=input)
    except Exception:  # noqa: BLE001 - as LiteLLM: a failed count is 0 tokens
        return 0


def _by_second(x):
    return x[1]


# -- latency-based-routing --------------------------------------------------------------------

def _is_std(func, qualname) -> bool:
    """func is the standard library's random.<qualname> (defined in random.py)."""
    code = getattr(func, "__code__", None)
    return (code is not None and getattr(func, "__qualname__", None) == qualname
            and getattr(func, "__module__", None) == "random" and code.co_filename == _std_random.__file__)


# the standard library's functions, checked once (None when random.py is not CPython's own)
_STD_SAMPLE = _std_random.Random.sample if _is_std(_std_random.Random.sample, "Random.sample") else None
_STD_RANDBELOW = (_std_random.Random._randbelow_with_getrandbits
                  if _is_std(_std_random.Random._randbelow_with_getrandbits,
                             "Random._randbelow_with_getrandbits") else None)
_OWN_ATTRS = ("sample", "_randbelow", "getrandbits")


def _std_sample(module) -> bool:
    """``module.sample`` is the standard library's Random.sample bound to the module's own
    exact ``random.Random`` instance, whose ``_randbelow`` is ``_randbelow_with_getrandbits``
    and whose ``getrandbits`` is the C generator's: then ``_native.sample_all`` draws
    exactly what ``module.sample(population, len(population))`` draws (sample.c). Read on
    every pick (identity checks: anything can be patched between picks)."""
    if module is not _std_random or _STD_SAMPLE is None or _STD_RANDBELOW is None:
        return False
    inst = getattr(module, "_inst", None)
    sample = module.sample
    own = getattr(inst, "__dict__", {})
    return (type(inst) is module.Random and getattr(sample, "__self__", None) is inst
            and getattr(sample, "__func__", None) is _STD_SAMPLE
            and module.Random._randbelow is _STD_RANDBELOW
            and module.Random.getrandbits is _random.Random.getrandbits
            and not any(k in own for k in _OWN_ATTRS))


def make_latency(original):
    from .. import _native

    g = original.__globals__  # litellm.router_strategy.lowest_latency
    scan = _native.latency_scan
    shortlist = _native.shortlist
    sample_all = _native.sample_all
    candidate_ids = _native.candidate_ids

    def _get_available_deployments(
        self,
        model_group: str,
        healthy_deployments: list,
        messages=None,
        input=None,
        request_kwargs=None,
        request_count_dict=None,
    ):
        """Common logic for both sync and async get_available_deployments"""
        latency_per_deployment = {}
        precise_minute = _minute(g["datetime"])
        if request_count_dict is None:
            return None

        cached = request_count_dict
        by_id = _id_pass(candidate_ids, healthy_deployments, cached,
                         lambda: {"latency": [0], precise_minute: {"tpm": 0, "rpm": 0}})

        input_tokens = _input_tokens(g, messages, input)

        random = g["random"]
        items = cached.items()
        sample = None
        if _std_sample(random):  # the draws in C through the same getrandbits (sample.c)
            sample = sample_all(random._inst.getrandbits, list(items))
        if sample is None:
            sample = random.sample(list(items), len(items))

        buffer = self.routing_args.lowest_latency_buffer
        valid = None
        if by_id.exact and (request_kwargs is None or (
                type(request_kwargs) is dict and request_kwargs.get("stream", None) is not True)):
            # not a streaming request (read early: an exact dict's .get has no side effect):
            # the loop and the shortlist in C (latscan.c, csrc/core/fl_select.c), or None
            # outside their plain case
            found = scan(sample, by_id.index, precise_minute, input_tokens, buffer)
            if found is not None:
                latency_per_deployment, valid, admitted = found
                if not admitted:
                    return None
        if valid is None:
            potential = _latency_loop(self, sample, by_id, precise_minute, input_tokens, request_kwargs,
                                      latency_per_deployment)
            if not potential:
                return None
            valid = shortlist(potential, buffer)  # the deployments, ranked (csrc/core/fl_select.c)
            if valid is None:  # (a NaN latency, a buffer of another type: LiteLLM's own steps)
                ranked = sorted(potential, key=_by_second)
                lowest = ranked[0][1]
                ceiling = lowest + buffer * lowest
                valid = [x[0] for x in ranked if x[1] <= ceiling]
        chosen = random.choice(valid)
        field = self._select_metadata_field(request_kwargs)
        if request_kwargs is not None and field in request_kwargs:
            request_kwargs[field]["_latency_per_deployment"] = latency_per_deployment
        return chosen

    return _get_available_deployments


def _latency_loop(self, sample, by_id, precise_minute, input_tokens, request_kwargs, latency_per_deployment):
    """LiteLLM's loop over the shuffled map, in Python (every case latency_scan declines)."""
    stream = None  # read at the first matched entry, as LiteLLM reads it per entry
    potential = []
    for item, item_map in dict(sample).items():
        dep = by_id.find(item)
        if dep is None:
            continue
        tpm_limit = _limit(dep, "tpm")
        rpm_limit = _limit(dep, "rpm")
        latencies = item_map.get("latency", [])
        ttft = item_map.get("time_to_first_token_seconds", [])
        item_rpm = item_map.get(precise_minute, {}).get("rpm", 0)
        item_tpm = item_map.get(precise_minute, {}).get("tpm", 0)

        if stream is None:
            stream = (request_kwargs is not None and request_kwargs.get("stream", None) is not None
                      and request_kwargs["stream"] is True)
        if stream and len(ttft) > 0:
            pct = self.routing_args.ttft_percentile
            if pct is not None:
                ordered = sorted(ttft)
                latency = ordered[math.ceil(len(ordered) * pct) - 1]
            else:
                latency = sum(ttft) / len(ttft) if ttft else 0.0
        else:
            latency = sum(latencies) / len(latencies) if latencies else 0.0

        api_base = dep.get("litellm_params", {}).get("api_base", "")
        if api_base is not None:
            latency_per_deployment[api_base] = latency

        if item_tpm + input_tokens > tpm_limit or item_rpm + 1 > rpm_limit:
            continue
        potential.append((dep, latency))
    return potential


# -- cost-based-routing ------------------------------------------------------------------------

_COST_ROWS_MODULE = "litellm.litellm_core_utils.get_model_cost_map"


def make_cost(original):
    import sys

    from .. import _native

    inner = inspect.unwrap(original)
    g = inner.__globals__  # litellm.router_strategy.lowest_cost
    scan = _native.cost_scan
    first_min = _native.first_min
    candidate_ids = _native.candidate_ids
    lc = sys.modules[g["__name__"]]
    dp = sys.modules["litellm.router_utils.deployment_pricing"]
    unchanged = still_bound(
        (lc, "_deployment_cost_map_rates"), (lc, "_cost_map"), (lc, "_declares_token_price"), (lc, "_as_rate"),
        (lc, "str_keyed"), (lc, "deployment_pricing_models"), (lc, "verbose_router_logger"),
        (dp, "pricing_models"), (dp, "_named_models"), (dp, "str_keyed"), (dp, "_STR_KEYED"))

    async def async_get_available_deployments(
        self,
        model_group: str,
        healthy_deployments: list,
        messages=None,
        input=None,
        request_kwargs=None,
    ):
        """Returns a deployment with the lowest cost"""
        request_count_dict = await self.router_cache.async_get_cache(key=f"cost_map:{model_group}") or {}
        precise_minute = _minute(g["datetime"])
        if request_count_dict is None:
            return None

        cached = request_count_dict
        by_id = _id_pass(candidate_ids, healthy_deployments, cached,
                         lambda: {precise_minute: {"tpm": 0, "rpm": 0}})

        input_tokens = _input_tokens(g, messages, input)

        potential = None
        logger = g["verbose_router_logger"]
        if (by_id.exact and type(logger) is logging.Logger and not logger.isEnabledFor(logging.DEBUG)
                and unchanged()):
            # LiteLLM's per-entry debug() call does nothing then: the loop in C, or None
            # outside its plain case
            potential = scan(list(cached.items()), by_id.index, precise_minute, input_tokens, g["_cost_map"](),
                             getattr(sys.modules.get(_COST_ROWS_MODULE), "AliasedCostEntry", None))
        if potential is None:
            potential = _cost_loop(g, cached, by_id, precise_minute, input_tokens)

        if not potential:
            return None
        chosen = first_min(potential)  # csrc/core/fl_select.c
        return chosen if chosen is not None else sorted(potential, key=_by_second)[0][0]

    return g["with_service_target"]("router_usage")(async_get_available_deployments)


def _cost_loop(g, cached, by_id, precise_minute, input_tokens):
    """LiteLLM's loop over the cost map, in Python (every case cost_scan declines)."""
    rates = g["_deployment_cost_map_rates"]
    debug = g["verbose_router_logger"].debug
    cost_per_deployment = {}
    potential = []
    for item, item_map in cached.items():
        dep = by_id.find(item)
        if dep is None:
            continue
        tpm_limit = _limit(dep, "tpm")
        rpm_limit = _limit(dep, "rpm")
        map_in, map_out = rates(dep)

        cost_in = cost_out = None
        if dep.get("litellm_params", {}).get("input_cost_per_token", None):
            cost_in = dep.get("litellm_params", {}).get("input_cost_per_token")
        if dep.get("litellm_params", {}).get("output_cost_per_token", None):
            cost_out = dep.get("litellm_params", {}).get("output_cost_per_token")
        if cost_in is None:
            cost_in = map_in if map_in is not None else 5.0
        if cost_out is None:
            cost_out = map_out if map_out is not None else 5.0
        cost = cost_in + cost_out

        item_rpm = item_map.get(precise_minute, {}).get("rpm", 0)
        item_tpm = item_map.get(precise_minute, {}).get("tpm", 0)
        debug("item_cost: %s, item_tpm: %s, item_rpm: %s, model_id: %s",
              cost, item_tpm, item_rpm, dep.get("model_info", {}).get("id"))
        # LiteLLM keeps a debug map by api_base (unused, but the key is hashed)
        api_base = dep.get("litellm_params", {}).get("api_base", "")
        if api_base is not None:
            cost_per_deployment[api_base] = cost

        if item_tpm + input_tokens > tpm_limit or item_rpm + 1 > rpm_limit:
            continue
        potential.append((dep, cost))
    return potential


# -- usage-based-routing (v1) ------------------------------------------------------------------

def _limit_is_none(d, key):
    """The first of ``d[key]``, ``litellm_params[key]``, ``model_info[key]`` that is not None."""
    v = d.get(key)
    if v is None:
        v = d.get("litellm_params", {}).get(key)
        if v is None:
            v = d.get("model_info", {}).get(key)
            if v is None:
                v = _INF
    return v


def make_usage_v1(original):
    from .. import _native

    inner = inspect.unwrap(original)
    g = inner.__globals__  # litellm.router_strategy.lowest_tpm_rpm
    scan = _native.usage_scan
    candidate_ids = _native.candidate_ids

    def get_available_deployments(
        self,
        model_group: str,
        healthy_deployments: list,
        messages=None,
        input=None,
    ):
        """Returns a deployment with the lowest TPM/RPM usage."""
        logger = g["verbose_router_logger"]
        logger.debug("get_available_deployments - Usage Based. model_group: %s, healthy_deployments: %s",
                     model_group, healthy_deployments)
        current_minute = g["datetime"].now().strftime("%H-%M")
        tpm_key = f"{model_group}:tpm:{current_minute}"
        rpm_key = f"{model_group}:rpm:{current_minute}"
        tpm_dict = self.router_cache.get_cache(key=tpm_key)
        rpm_dict = self.router_cache.get_cache(key=rpm_key)
        logger.debug("tpm_key=%s, tpm_dict: %s, rpm_dict: %s", tpm_key, tpm_dict, rpm_dict)
        input_tokens = _input_tokens(g, messages, input)
        logger.debug("input_tokens=%s", input_tokens)

        if tpm_dict is None:
            tpm_dict = {}  # (LiteLLM fills a new dict with every id: the same as filling {})
        by_id = _id_pass(candidate_ids, healthy_deployments, tpm_dict, int)

        # the loop in C (v1scan.c), or None outside its plain case
        found = scan(tpm_dict, by_id.index, rpm_dict, input_tokens) if by_id.exact else None
        deployment = found[0] if found is not None else _usage_loop(tpm_dict, by_id, rpm_dict, input_tokens)
        g["print_verbose"]("returning picked lowest tpm/rpm deployment.")
        return deployment

    return g["with_service_target"]("router_usage")(get_available_deployments)


def _usage_loop(tpm_dict, by_id, rpm_dict, input_tokens):
    """LiteLLM's selection loop of usage-based routing (v1), in Python (every case usage_scan
    declines)."""
    lowest = _INF
    deployment = None
    for item, item_tpm in tpm_dict.items():
        dep = by_id.find(item)
        if dep is None:
            continue
        tpm_limit = _limit_is_none(dep, "tpm")
        rpm_limit = _limit_is_none(dep, "rpm")
        if (item_tpm + input_tokens > tpm_limit
                or (rpm_dict is not None and item in rpm_dict) and (rpm_dict[item] + 1 >= rpm_limit)):
            continue
        if item_tpm < lowest:
            lowest = item_tpm
            deployment = dep
    return deployment


# -- the per-deployment filters of every pick, when they keep every candidate ------------
#
# On every pick LiteLLM 1.108.7's Router runs Python filters over the candidates that, in
# the common configuration, keep them all: strategy markers (twice), access windows and PTU
# shares (`_filter_reserved_deployments`), the video narrowing and the routing order. At
# 1,000 deployments they are about 70 % of a simple-shuffle pick (docs/ROUTING.md, 2.2).
# `_native.plain_deployments` checks in one C pass that every candidate is a plain dict
# on which each of them is a no-op (routefilt.c lists the conditions); then the patched
# function returns what LiteLLM's returns in that case (a list, a tuple, or the very
# object passed in, as the original does), and otherwise LiteLLM's function runs.

MARKERS = "litellm.router:Router._drop_strategy_markers"
RESERVED = "litellm.router:Router._filter_reserved_deployments"
VIDEO = "litellm.router:Router._narrow_to_video_deployment"
ORDER = "litellm.utils:get_order_filtered_deployments"
FP_MARKERS = frozenset({"a52ba3a3b1bfaa06"})
FP_RESERVED = frozenset({"34dca085fd1ffa53"})
FP_VIDEO = frozenset({"52e8b1d47b8a5ee4"})
FP_ORDER = frozenset({"fdb354598a248ee5"})

FILTER_GUARDS = [
    ("litellm.router:Router._is_strategy_marker_deployment", frozenset({"0938c800d3f0236d"})),
    ("litellm.router:Router._deployment_ids", frozenset({"ee3b4ae31ace3227"})),
    ("litellm.router_utils.auto_router_model_naming:classify_strategy_router_model",
     frozenset({"a37338bb061cc0c1"})),
    ("litellm.router_utils.access_windows:filter_reserved_deployments", frozenset({"45255d0495739233"})),
    ("litellm.router_utils.access_windows:_reservation_blocking_window", frozenset({"b3e3024fc36ccf4a"})),
    ("litellm.router_utils.access_windows:parse_access_windows", frozenset({"b37bafc7155b4415"})),
    ("litellm.router_utils.ptu_shares:filter_ptu_shared_deployments", frozenset({"0bf252a3ee47a96e"})),
    ("litellm.router_utils.ptu_shares:_deployment_shares", frozenset({"bc85a99320f0eb18"})),
    ("litellm.litellm_core_utils.ptu_pricing:parsed_ptu_shares", frozenset({"c6ff41c09edd5794"})),
    ("litellm.llms.azure.ptu_capacity:is_str_keyed_mapping", frozenset({"98ca0623eb9630f4"})),
    ("litellm.utils:get_deployment_order", frozenset({"d61d3872d5f96cb5"})),
]


def _filter_helpers():
    """(plain(deployments) -> bool, unchanged() -> bool): the C test, and whether the
    helpers LiteLLM's filters call through module globals are still LiteLLM's own (a
    monkeypatched one sends the call to LiteLLM's filter)."""
    import litellm.router as router_mod
    import litellm.utils as utils_mod
    from litellm.router_utils import access_windows, auto_router_model_naming, ptu_shares

    from .. import _native

    prefix = auto_router_model_naming.AUTO_ROUTER_MODEL_PREFIX
    check = _native.plain_deployments
    unchanged = still_bound(
        (router_mod, "filter_reserved_deployments"), (router_mod, "filter_ptu_shared_deployments"),
        (router_mod, "classify_strategy_router_model"), (access_windows, "_reservation_blocking_window"),
        (access_windows, "parse_access_windows"), (ptu_shares, "_deployment_shares"),
        (utils_mod, "get_deployment_order"), (router_mod.Router, "_is_strategy_marker_deployment"),
        (router_mod.Router, "_deployment_ids"))

    return (lambda deployments: check(deployments, prefix)), unchanged


# fast-path answers of the four filters (tests read them)
FILTER_FAST = {"served": 0, "delegated": 0}


def make_drop_markers(original):
    plain, unchanged = _filter_helpers()

    def _drop_strategy_markers(self, model, deployments):
        if plain(deployments) and unchanged():
            FILTER_FAST["served"] += 1
            return list(deployments)  # no marker: LiteLLM's comprehension keeps them all
        FILTER_FAST["delegated"] += 1
        return original(self, model, deployments)

    return _drop_strategy_markers


def make_filter_reserved(original):
    plain, unchanged = _filter_helpers()

    def _filter_reserved_deployments(self, model, healthy_deployments, request_team_id):
        if plain(healthy_deployments) and unchanged():
            FILTER_FAST["served"] += 1
            # no marker, no access window, no PTU share: every stage keeps every candidate
            # and the last one returns them as a new tuple (a new one for a tuple too)
            return tuple([*healthy_deployments])
        FILTER_FAST["delegated"] += 1
        return original(self, model, healthy_deployments, request_team_id)

    return _filter_reserved_deployments


def make_narrow_video(original):
    import litellm.router as router_mod

    from .. import _native

    _, unchanged = _filter_helpers()
    check = _native.plain_deployments

    def _narrow_to_video_deployment(healthy_deployments):
        # (None: only model_info matters here, the ids)
        if (router_mod._video_call_deployment_id.get() is None and check(healthy_deployments, None)
                and unchanged()):
            # no video call: None is in no set of str ids, so LiteLLM returns its argument
            FILTER_FAST["served"] += 1
            return healthy_deployments
        FILTER_FAST["delegated"] += 1
        return original(healthy_deployments)

    return _narrow_to_video_deployment


def make_order_filter(original):
    plain, unchanged = _filter_helpers()

    def get_order_filtered_deployments(healthy_deployments, target_order=None):
        if target_order is None and plain(healthy_deployments) and unchanged():
            FILTER_FAST["served"] += 1
            return healthy_deployments  # no order anywhere: LiteLLM returns its argument
        FILTER_FAST["delegated"] += 1
        return original(healthy_deployments, target_order)

    return get_order_filtered_deployments


ALL_DEPLOYMENTS = "litellm.router:Router.get_all_deployments"
SHUFFLE = "litellm.router_strategy.simple_shuffle:simple_shuffle"
FP_ALL_DEPLOYMENTS = frozenset({"d97a93fc66523199"})
FP_SHUFFLE = frozenset({"51dcb3f86c7998a6"})
FILTER_GUARDS += [
    ("litellm.router:Router.should_include_deployment", frozenset({"174c37308593d07e"})),
    ("litellm.router_strategy.simple_shuffle:_metric_weight", frozenset({"a85411d5e5aeb54b"})),
    ("litellm.router_strategy.simple_shuffle:_scoped_weights", frozenset({"489552b99fe818f4"})),
]


def make_get_all_deployments(original):
    """``get_all_deployments(name)`` without team or alias (every pick calls it, twice): the
    Router's index for the name, filtered by ``model_name`` in one C pass
    (``_native.named_deployments``); LiteLLM's function for everything else."""
    import litellm.router as router_mod

    from .. import _native

    named = _native.named_deployments
    router_cls = router_mod.Router
    unchanged = still_bound((router_cls, "should_include_deployment"))

    def get_all_deployments(self, model_name, model_alias=None, team_id=None):
        if (team_id is None and model_alias is None and type(model_name) is str
                and type(self) is router_cls and unchanged()
                and "should_include_deployment" not in self.__dict__):
            index = self.model_name_to_deployment_indices
            if type(index) is dict:
                if model_name not in index:
                    FILTER_FAST["served"] += 1
                    return []  # no team: LiteLLM's function finds nothing either
                got = named(self.model_list, index[model_name], model_name)
                if got is not None:
                    FILTER_FAST["served"] += 1
                    return got
        FILTER_FAST["delegated"] += 1
        return original(self, model_name, model_alias, team_id)

    return get_all_deployments


def make_simple_shuffle(original):
    """simple-shuffle with its per-metric weight tuples built in one C pass each
    (``_native.metric_weights``: the same floats ``_metric_weight`` gives), the rest as
    LiteLLM writes it: the same weight sets in the same order, the same ``random`` calls
    (through the module's ``random``, looked up at call time) and the same log line.

    The draw: ``random.choices(healthy, weights=normalized)[0]`` is
    ``_native.weighted_draw`` (shuffle.c: the cumulative sums, ``random() * total`` and the
    bisection on doubles, as ``Random.choices`` does them) when the module's ``random`` is
    a ``random.Random`` whose ``choices`` and ``random`` are the standard library's, with
    that instance's ``random`` called once as ``choices`` calls it; otherwise the module's
    ``choices`` itself. The largest metric weight is ``_native.float_max`` (max over floats)."""
    import random as std_random

    from litellm.router_strategy import simple_shuffle as mod

    from .. import _native

    weights_of = _native.metric_weights
    scaled = _native.scaled
    float_max = _native.float_max
    draw = _native.weighted_draw
    std_choices = std_random.Random.choices
    std_rand = std_random.Random.random  # _random.Random's C method
    scoped = mod._scoped_weights
    unchanged = still_bound((mod, "_scoped_weights"), (mod, "_metric_weight"))

    def choose(healthy_deployments, normalized):
        choices = mod.random.choices
        inst = getattr(choices, "__self__", None)
        if (getattr(choices, "__func__", None) is std_choices and type(inst).random is std_rand
                and "random" not in getattr(inst, "__dict__", _EMPTY)):
            selected = draw(healthy_deployments, normalized, inst.random)
            if selected is not None:
                SHUFFLE_DRAWS["served"] += 1
                return selected
        SHUFFLE_DRAWS["delegated"] += 1
        return choices(healthy_deployments, weights=normalized)[0]

    def simple_shuffle(resolve_model_alias, healthy_deployments, model, request_kwargs):
        if not unchanged():
            FILTER_FAST["delegated"] += 1
            return original(resolve_model_alias, healthy_deployments, model, request_kwargs)
        resolved_model = resolve_model_alias(model) or model
        # LiteLLM's order: the request's scoped weights, then weight, rpm, tpm, each computed
        # only when the sets before it selected nothing
        for metric in (None, "weight", "rpm", "tpm"):
            if metric is None:
                weights = scoped(healthy_deployments, resolved_model, request_kwargs)
                largest = max(weights, default=0.0)
            else:
                weights = weights_of(healthy_deployments, metric)
                if weights is None:
                    # not the plain case: LiteLLM's function from the start (everything so
                    # far was pure, no random draw yet), with its own exceptions
                    FILTER_FAST["delegated"] += 1
                    return original(resolve_model_alias, healthy_deployments, model, request_kwargs)
                last = _LAST_WEIGHTS.get(id(weights))
                if last is not None and last[0] is weights:
                    # a tuple metric_weights gave before (it hands the same one out
                    # for an unchanged list; held here, so no other object has its
                    # id while it is kept): a tuple of floats, so the same largest
                    # weight, the same scaled tuple and the same sum
                    _, largest, normalized, total = last
                else:
                    largest = float_max(weights)
                    if largest is None:
                        largest = max(weights, default=0.0)
                    normalized = total = None
                    if not largest <= 0:  # (a NaN goes on, as in LiteLLM)
                        normalized = scaled(weights, largest)
                        if normalized is None:
                            normalized = tuple(weight / largest for weight in weights)
                        total = sum(normalized)
                    if len(_LAST_WEIGHTS) >= _KEEP_WEIGHTS:
                        # the newest goes (popitem: one step, safe with threads picking
                        # too); past _KEEP_WEIGHTS groups the older ones stay kept
                        try:
                            _LAST_WEIGHTS.popitem()
                        except KeyError:  # (emptied by other threads meanwhile)
                            pass
                    _LAST_WEIGHTS[id(weights)] = (weights, largest, normalized, total)
                if largest <= 0 or total <= 0:
                    continue
                FILTER_FAST["served"] += 1
                selected = choose(healthy_deployments, normalized)
                mod._ROUTER_LOGGER.info("Selected deployment for model %s: %s", model, selected.get("model_info"))
                return selected
            if largest <= 0:
                continue
            normalized = tuple(weight / largest for weight in weights)
            if sum(normalized) <= 0:
                continue
            FILTER_FAST["served"] += 1
            selected = choose(healthy_deployments, normalized)
            mod._ROUTER_LOGGER.info("Selected deployment for model %s: %s", model, selected.get("model_info"))
            return selected
        FILTER_FAST["served"] += 1
        return mod.random.choice(healthy_deployments)

    return simple_shuffle


_EMPTY: dict = {}
# simple-shuffle's last _KEEP_WEIGHTS metric weights tuples (one per model group a proxy
# picks from alternately), by id, each held with what follows from it:
# (weights, largest, scaled weights or None, their sum or None)
_KEEP_WEIGHTS = 8
_LAST_WEIGHTS: dict = {}
# simple-shuffle draws made by weighted_draw / by the module's random.choices (tests read them)
SHUFFLE_DRAWS = {"served": 0, "delegated": 0}


TEAM_FILTER = "litellm.router_utils.common_utils:filter_team_based_models"
BLOCKED = "litellm.router:Router._filter_blocked_deployments"
TAG_OVERRIDE = "litellm.router_strategy.tag_based_routing:_chain_tag_filtering_override"
FP_TEAM_FILTER = frozenset({"a1c8636dc9a0f32e"})
FP_BLOCKED = frozenset({"02600eddf66f4c58"})
FP_TAG_OVERRIDE = frozenset({"7b475ea5de8a2975"})
FILTER_GUARDS += [
    ("litellm.router_utils.common_utils:get_request_team_id", frozenset({"5e688f7ba9b7cd72"})),
    ("litellm.router_utils.common_utils:is_proxy_admin_request", frozenset({"c9058d6f08cea33e"})),
    ("litellm.router_strategy.tag_based_routing:_all_deployments_or_fallback", frozenset({"ff4f8c0c0df66ad1"})),
]


def make_team_filter(original):
    """``filter_team_based_models`` when no candidate belongs to a team: LiteLLM's request
    prefix (its reads of the request, which can raise, in its order), then a new list of
    every candidate, which is what its two per-deployment loops produce then (no team id
    to remove, and a proxy admin's "one model name, several teams" error needs team ids)."""
    from litellm.router_utils import common_utils as mod

    from .. import _native

    plain = _native.plain_deployments
    team_id_of = mod.get_request_team_id
    is_admin = mod.is_proxy_admin_request
    unchanged = still_bound((mod, "get_request_team_id"), (mod, "is_proxy_admin_request"))

    def filter_team_based_models(healthy_deployments, request_kwargs=None):
        if (request_kwargs is not None and type(healthy_deployments) is list and type(request_kwargs) is dict
                and unchanged() and plain(healthy_deployments, None, "team_id")):
            FILTER_FAST["served"] += 1
            metadata = request_kwargs.get("metadata") or {}
            litellm_metadata = request_kwargs.get("litellm_metadata") or {}
            if team_id_of(request_kwargs) is None and is_admin(request_kwargs):
                # LiteLLM computes the requested model here (the reads can raise); with no
                # team id on any candidate it neither raises nor returns early
                (request_kwargs.get("model") or metadata.get("model_group")
                 or litellm_metadata.get("model_group"))
            return list(healthy_deployments)
        FILTER_FAST["delegated"] += 1
        return original(healthy_deployments, request_kwargs)

    return filter_team_based_models


def make_filter_blocked(original):
    from .. import _native

    plain = _native.plain_deployments

    def _filter_blocked_deployments(self, healthy_deployments):
        if plain(healthy_deployments, None, "blocked"):
            FILTER_FAST["served"] += 1
            return list(healthy_deployments)  # nothing paused: LiteLLM's comprehension keeps all
        FILTER_FAST["delegated"] += 1
        return original(self, healthy_deployments)

    return _filter_blocked_deployments


def make_tag_override(original):
    """The model group's ``enable_tag_filtering`` override: None when no deployment of the
    group (``get_all_deployments``, as LiteLLM reads it) sets one."""
    from litellm.router_strategy import tag_based_routing as mod

    from .. import _native

    plain = _native.plain_deployments
    all_of = mod._all_deployments_or_fallback
    unchanged = still_bound((mod, "_all_deployments_or_fallback"))

    def _chain_tag_filtering_override(llm_router_instance, model, healthy_deployments):
        if unchanged():
            group = all_of(llm_router_instance, model, healthy_deployments)
            if plain(group, None, "enable_tag_filtering"):
                FILTER_FAST["served"] += 1
                return None
        FILTER_FAST["delegated"] += 1
        return original(llm_router_instance, model, healthy_deployments)

    return _chain_tag_filtering_override


COOLDOWNS = "litellm.router_utils.cooldown_handlers:async_get_cooldown_deployments"
FP_COOLDOWNS = frozenset({"8b8d803b0478adc0"})
FILTER_GUARDS += [
    ("litellm.router_utils.cooldown_cache:CooldownCache.cooldown_store.fget", frozenset({"11e542943a727e4a"})),
    ("litellm.router_utils.cooldown_cache:CooldownCache.async_get_active_cooldowns",
     frozenset({"075b61634b4b1185"})),
    ("litellm.router_utils.cooldown_cache:CooldownCache.active_cooldowns_from_results",
     frozenset({"85630d380c176ae3"})),
    ("litellm.caching.dual_cache:DualCache.async_batch_get_cache", frozenset({"b264fba0a687eac1"})),
    ("litellm.caching.dual_cache:DualCache._prepare_batch_get", frozenset({"fa957726df7aa99c"})),
    ("litellm.caching.dual_cache:DualCache.attach_redis_cache", frozenset({"d5b1a8f4ef6bbb2e"})),
    ("litellm.caching.in_memory_cache:InMemoryCache.async_batch_get_cache", frozenset({"e70ec940aeedea04"})),
    ("litellm.caching.in_memory_cache:InMemoryCache.get_cache", frozenset({"2196d207c2c326bd"})),
    ("litellm.router:Router.get_model_ids", frozenset({"4ba7f3e211a1e83c"})),
]

# the cooldown read's answers without reading every id (tests read them)
COOLDOWN_FAST = {"served": 0, "delegated": 0}


def _quiet_cooldowns():
    """quiet(router) -> True when every cooldown key of the router would read as a miss with
    no side effect: the cooldown store (reached through LiteLLM's ``cooldown_store`` property,
    which attaches the router's Redis on first use as LiteLLM's reads do) has no Redis and its
    in-memory tier holds no entry at all, and every method those reads run is LiteLLM's own
    (class and instance). Then LiteLLM's cooldown answer is ``[]``."""
    from litellm.caching.dual_cache import DualCache
    from litellm.caching.in_memory_cache import InMemoryCache
    from litellm.router import Router
    from litellm.router_utils.cooldown_cache import CooldownCache

    unchanged = still_bound((Router, "get_model_ids"), (CooldownCache, "async_get_active_cooldowns"),
                            (CooldownCache, "cooldown_store"), (CooldownCache, "active_cooldowns_from_results"),
                            (CooldownCache, "get_cooldown_cache_key"),
                            (DualCache, "async_batch_get_cache"), (DualCache, "_prepare_batch_get"),
                            (InMemoryCache, "async_batch_get_cache"), (InMemoryCache, "get_cache"))

    def quiet(router):
        if type(router) is Router and "get_model_ids" not in router.__dict__ and unchanged():
            cc = router.cooldown_cache
            if type(cc) is CooldownCache and "async_get_active_cooldowns" not in cc.__dict__:
                store = cc.cooldown_store
                mem = store.in_memory_cache
                return (type(store) is DualCache and store.redis_cache is None and type(mem) is InMemoryCache
                        and not mem.cache_dict and not store.__dict__.keys() & _STORE_METHODS
                        and not mem.__dict__.keys() & _MEM_METHODS)
        return False

    return quiet


def make_cooldowns(original):
    """``async_get_cooldown_deployments`` when no deployment is cooling down.

    LiteLLM lists every deployment id of the router, reads ``deployment:<id>:cooldown`` for
    each from the cooldown store (a DualCache of its own) and keeps the live ones. When that
    store has no Redis and its in-memory tier holds no entry at all, every read is a miss with
    no side effect (``InMemoryCache.get_cache`` of an absent key), so the answer is ``[]``
    (``_quiet_cooldowns``). Anything else (an entry, Redis, a subclass or a method replaced on
    the instance) goes to LiteLLM's function."""
    from litellm.router_utils import cooldown_handlers as mod

    quiet = _quiet_cooldowns()
    unchanged = still_bound((mod, "verbose_router_logger"))

    async def async_get_cooldown_deployments(litellm_router_instance, parent_otel_span):
        if unchanged() and quiet(litellm_router_instance):
            COOLDOWN_FAST["served"] += 1
            mod.verbose_router_logger.debug("retrieve cooldown models: %s", [])
            return []
        COOLDOWN_FAST["delegated"] += 1
        return await original(litellm_router_instance, parent_otel_span)

    return async_get_cooldown_deployments


# usage-based-routing-v2 reads the cooldown keys of every deployment of the router together
# with its usage counters (RoutingReadBatch: one MGET when there is Redis). When the request
# has no Redis batch armed and the cooldown store is quiet (above), the cooldown half is a
# miss on every key: the usage read alone is made, as LiteLLM's shared read makes it for a
# cache with no Redis (DualCache.async_batch_get_cache), and kept as prefetched usage.

READ_BATCH = ("litellm.router_utils.routing_read_batch:RoutingReadBatch."
              "async_get_cooldown_deployments")
FP_READ_BATCH = frozenset({"889723003835de79"})
_RRB = "litellm.router_utils.routing_read_batch:"
FILTER_GUARDS += [
    (_RRB + "RoutingReadBatch._read_prefetched", frozenset({"3a65b1959ccc42d6"})),
    (_RRB + "RoutingPrefetch.take", frozenset({"7bab1c335d93b623"})),
    (_RRB + "_routing_read_target", frozenset({"89d86ff4c63ea477"})),
    (_RRB + "PrefetchedUsage", frozenset({"3636ef646b695aa6"})),
    (_RRB + "active_request_redis_batches", frozenset({"82aa87bc1f5b0530"})),
    ("litellm.caching.dual_cache:DualCache.async_batch_get_cache_shared", frozenset({"f88a9b50aa06dee2"})),
]


def make_read_batch_cooldowns(original):
    """``RoutingReadBatch.async_get_cooldown_deployments`` when no deployment is cooling down
    and no Redis batch is armed for the request: LiteLLM's steps with the cooldown read left
    out. LiteLLM's order: the router's ids and their cooldown keys, the selector's usage keys,
    ``_read_prefetched`` (None with no request batch, no side effect), then
    ``async_batch_get_cache_shared``, which with no Redis on the first cache reads each cache
    by its own ``async_batch_get_cache`` -- the cooldown store (every key a miss, nothing
    touched: quiet) and the usage cache -- then ``PrefetchedUsage`` from the usage values,
    ``active_cooldowns_from_results`` over all-None results (``[]``) and the debug line."""
    import sys

    mod = sys.modules["litellm.router_utils.routing_read_batch"]
    cls = mod.RoutingReadBatch
    quiet = _quiet_cooldowns()
    unchanged = still_bound((cls, "_read_prefetched"), (mod.RoutingPrefetch, "take"),
                            (mod, "_routing_read_target"), (mod, "PrefetchedUsage"),
                            (mod, "active_request_redis_batches"), (mod, "service_target"),
                            (mod, "verbose_router_logger"), (mod, "MappingProxyType"),
                            (mod, "itertools"), (mod, "DualCache"),
                            (mod.DualCache, "async_batch_get_cache_shared"))

    async def async_get_cooldown_deployments(self, litellm_router_instance, healthy_deployments,
                                             parent_otel_span):
        router = litellm_router_instance
        if (type(self) is cls and unchanged() and mod.active_request_redis_batches() is None
                and quiet(router)):
            READ_BATCH_FAST["served"] += 1
            selector = self.usage_selector
            if selector is not None:
                usage_keys = tuple(mod.itertools.chain(*selector.usage_counter_keys(healthy_deployments)))
                # the target names Redis calls; none are made here (it is set as LiteLLM sets it,
                # with the router's ids standing for the cooldown keys built from them)
                ids = (True,) if router.model_id_to_deployment_index_map else ()
                with mod.service_target(mod._routing_read_target(ids, usage_keys)):
                    usage_values = await selector.router_cache.async_batch_get_cache(
                        keys=list(usage_keys), parent_otel_span=parent_otel_span)
                # (the kept read of these keys looked up once, for all three uses)
                last = _recent_read(usage_keys)
                keyset = _keyset(usage_keys, last)
                values = None if usage_values is None else _usage_dict(usage_keys, usage_values, keyset, last)
                view = None if values is None else mod.MappingProxyType(values)
                self.prefetched_usage = mod.PrefetchedUsage(keys=keyset, values=view)
                # (for covers and values_for: what this view and key set were built from; the
                # values as a tuple: the cache's list is not ours to keep)
                kept = tuple(usage_values) if type(usage_values) is list else None
                _LAST_PREFETCH[0] = (view, values, keyset, usage_keys, kept)
                _remember_read(usage_keys, keyset, values, kept, last)
            mod.verbose_router_logger.debug("retrieve cooldown models: %s", [])
            return []
        READ_BATCH_FAST["delegated"] += 1
        return await original(self, litellm_router_instance, healthy_deployments, parent_otel_span)

    return async_get_cooldown_deployments


# The last plain reads, one per candidate list (model group) picked from in turn, most
# recent first: (usage keys, frozenset of them, the dict zipped with the values or None, the
# values as a tuple or None). Every pick of an unchanged fleet in the same minute reads the
# same key objects (usage_keys' memo), whose frozenset is the one kept -- equal, immutable;
# held, like LiteLLM's, by the request's PrefetchedUsage. Entries are whole tuples: a reader
# in another thread never pairs one read's parts with another's.
_RECENT_READS: list = []
_KEEP_READS = 8


def _recent_read(usage_keys: tuple):
    """The kept read of the very same key objects, or None."""
    from .. import _native

    for entry in _RECENT_READS:  # (another thread may change the list: no error, a miss)
        if _native.same_items(entry[0], usage_keys):
            return entry
    return None


_NOT_LOOKED_UP = object()


def _remember_read(usage_keys: tuple, keyset: frozenset, values, usage_values,
                   last=_NOT_LOOKED_UP) -> None:
    """Keep this read in front, replacing the kept read of the same keys (`last`, when the
    caller already looked it up); at most _KEEP_READS."""
    if last is _NOT_LOOKED_UP:
        last = _recent_read(usage_keys)
    entry = (usage_keys, keyset, values, usage_values)
    rest = [e for e in _RECENT_READS if e is not last]
    _RECENT_READS[:] = [entry] + rest[:_KEEP_READS - 1]


def _keyset(usage_keys: tuple, last=_NOT_LOOKED_UP) -> frozenset:
    """frozenset(usage_keys), the kept one again when the keys are the same objects (`last`:
    the kept read of these keys, when the caller already looked it up)."""
    if last is _NOT_LOOKED_UP:
        last = _recent_read(usage_keys)
    return last[1] if last is not None else frozenset(usage_keys)


def _usage_dict(usage_keys: tuple, usage_values, keyset: frozenset, last=_NOT_LOOKED_UP) -> dict:
    """dict(zip(usage_keys, usage_values)). When a kept plain read was of the very same
    key objects, all distinct, and both value lists are as long as the keys: a copy of its
    dict with the values that changed (identity) set again -- the same keys in the same
    order, the same values (an unchanged fleet reads mostly the same counters)."""
    from .. import _native

    if last is _NOT_LOOKED_UP:
        last = _recent_read(usage_keys)
    if (last is not None and last[2] is not None and last[3] is not None
            and type(usage_values) is list and len(usage_values) == len(usage_keys) == len(keyset)):
        got = _native.dict_with_changes(last[2], usage_keys, usage_values, last[3])
        if got is not None:
            return got
    return dict(zip(usage_keys, usage_values))


# RoutingReadBatch reads answered here / by LiteLLM's method (tests read them)
READ_BATCH_FAST = {"served": 0, "delegated": 0}

# (the read-only view the last plain read built, the dict behind it, its key set, the usage
# keys and values it was built from), one tuple so that a reader in another thread never
# pairs one read's view with another's dict (nothing else holds that dict: it never changes
# after the view is made; the keys are a tuple of strs)
_LAST_PREFETCH = [None]

# -- v2's prefetched usage values ----------------------------------------------------------
#
# usage-based v2 reads its counters back from the PrefetchedUsage the combined read built:
# values_for(keys) is [self.values.get(key) for key in keys], 2,000 calls through the
# read-only view at 1,000 deployments (about 70 us). When the view is the one the plain read
# above built (identity), the same lookups run in C on the dict behind it
# (_native.dict_values_for: exact str keys, no Python code runs).

VALUES_FOR = "litellm.router_strategy.lowest_tpm_rpm_v2:PrefetchedUsage.values_for"
FP_VALUES_FOR = frozenset({"5b20d4dcff5780d4"})

# values_for / covers calls answered here / by LiteLLM's method (tests read them)
VALUES_FOR_FAST = {"served": 0, "delegated": 0}
COVERS_FAST = {"served": 0, "delegated": 0}

COVERS = "litellm.router_strategy.lowest_tpm_rpm_v2:PrefetchedUsage.covers"
FP_COVERS = frozenset({"699abf39441fcca6"})


def make_covers(original):
    """``covers(keys)`` is ``self.keys.issuperset(keys)``: 2,000 set lookups at 1,000
    deployments. When the key set is the one the plain read just built from its usage keys
    (identity) and ``keys`` are those very key objects in that order, every key is in the set:
    True. Otherwise LiteLLM's method."""
    import sys

    from .. import _native

    prefetched = sys.modules["litellm.router_strategy.lowest_tpm_rpm_v2"].PrefetchedUsage
    same_items = _native.same_items

    def covers(self, keys):
        last = _LAST_PREFETCH[0]
        if (last is not None and type(self) is prefetched and self.keys is last[2]
                and same_items(keys, last[3])):
            COVERS_FAST["served"] += 1
            return True
        COVERS_FAST["delegated"] += 1
        return original(self, keys)

    return covers


def make_values_for(original):
    import sys

    from .. import _native

    prefetched = sys.modules["litellm.router_strategy.lowest_tpm_rpm_v2"].PrefetchedUsage
    lookup = _native.dict_values_for
    same_items = _native.same_items

    def values_for(self, keys):
        view, last = self.values, _LAST_PREFETCH[0]
        if view is not None and last is not None and view is last[0] and type(self) is prefetched:
            _, values, keyset, usage_keys, usage_values = last
            if (usage_values is not None and len(usage_values) == len(usage_keys) == len(keyset)
                    and same_items(keys, usage_keys)):
                # the very keys the dict was built from, all distinct: dict.get of each is
                # the value zipped with it
                VALUES_FOR_FAST["served"] += 1
                return list(usage_values)
            out = lookup(values, keys)
            if out is not None:
                VALUES_FOR_FAST["served"] += 1
                return out
        VALUES_FOR_FAST["delegated"] += 1
        return original(self, keys)

    return values_for


_STORE_METHODS = frozenset({"async_batch_get_cache", "_prepare_batch_get"})
_MEM_METHODS = frozenset({"async_batch_get_cache", "get_cache"})

COOLDOWN_FILTER = "litellm.router:Router._filter_cooldown_deployments"
FP_COOLDOWN_FILTER = frozenset({"927ed13b0db574f2"})


def make_cooldown_filter(original):
    """``Router._filter_cooldown_deployments`` with no deployment cooling down: LiteLLM's
    comprehension reads every ``d["model_info"]["id"]`` (which raises where one is missing)
    and keeps them all; ``_native.ids_present`` says no read would raise or run Python code,
    and the answer is a new list of the same candidates."""
    import logging

    import litellm.router as router_mod

    from .. import _native

    ids_present = _native.ids_present
    debug = logging.DEBUG
    unchanged = still_bound((router_mod, "verbose_router_logger"))

    def _filter_cooldown_deployments(self, healthy_deployments, cooldown_deployments):
        if (type(cooldown_deployments) is list and not cooldown_deployments and unchanged()
                and ids_present(healthy_deployments)):
            COOLDOWN_FAST["served"] += 1
            logger = router_mod.verbose_router_logger
            if logger.isEnabledFor(debug):
                logger.debug("cooldown deployments: %s", cooldown_deployments)
            return list(healthy_deployments)
        COOLDOWN_FAST["delegated"] += 1
        return original(self, healthy_deployments, cooldown_deployments)

    return _filter_cooldown_deployments


# -- least-busy ---------------------------------------------------------------------------
#
# LiteLLM's least-busy selector validates the candidate list with pydantic, formats one key
# per deployment, reads the in-flight counts (InMemoryCache, or Redis), validates the counts
# with pydantic and takes the first smallest with min() over a lambda. In the plain case
# (exact dicts, exact str or int64 ids, no Redis tier, counts that are None, exact ints
# within 2**53 or finite floats) _native.busy_keys and _native.least_index give the same
# keys and the same pick; the cache read is LiteLLM's call, unchanged. The keys are
# remembered per (model group, id) in BUSY_KEY_MEMO (bounded in busyscan.c): the same str
# objects every pick, their hashes kept, so the 1,000-key cache read hashes none afresh.

LEAST_BUSY = "litellm.router_strategy.least_busy:LeastBusyLoggingHandler.async_get_available_deployments"
LEAST_BUSY_SYNC = "litellm.router_strategy.least_busy:LeastBusyLoggingHandler.get_available_deployments"
FP_LEAST_BUSY = frozenset({"a2e1b6ae59db0fcb"})
FP_LEAST_BUSY_SYNC = frozenset({"c312c87d8d4a6196"})
FILTER_GUARDS += [
    ("litellm.router_strategy.least_busy:_request_count_keys", frozenset({"03baa35fb10f71cb"})),
    ("litellm.router_strategy.least_busy:_request_count_key", frozenset({"086613f260a2b0bb"})),
    ("litellm.router_strategy.least_busy:_local_counts", frozenset({"8bcf6783c51fc65f"})),
    ("litellm.router_strategy.least_busy:_as_counts", frozenset({"4d34b822216cf911"})),
    ("litellm.router_strategy.least_busy:_least_busy", frozenset({"e98420bbdb245f0c"})),
    # the shapes pydantic validates (what busy_keys restates)
    ("litellm.router_strategy.least_busy:_Deployment", frozenset({"4cf5165a90da53c0"})),
    ("litellm.router_strategy.least_busy:_DeploymentModelInfo", frozenset({"1e74e752b39c0e96"})),
]

# least-busy picks made here / handed to LiteLLM (tests read them)
BUSY_FAST = {"served": 0, "delegated": 0}
# {model_group: {id: key}}: busy_keys' remembered keys (plain strs; safe across fork)
BUSY_KEY_MEMO: dict = {}


def _busy_helpers(original):
    """(LiteLLM's undecorated method, keys(self, group, healthy) -> tuple or None when
    LiteLLM's method must answer, pick(healthy, keys, raw) -> the deployment)."""
    import sys

    from .. import _native

    inner = inspect.unwrap(original)
    mod = sys.modules[inner.__globals__["__name__"]]
    unchanged = still_bound((mod, "_request_count_keys"), (mod, "_request_count_key"),
                            (mod, "_local_counts"), (mod, "_least_busy"), (mod, "_as_counts"),
                            (mod, "_DEPLOYMENTS"), (mod, "_MEMORY_COUNTS"))
    busy_keys, least_index = _native.busy_keys, _native.least_index

    def keys_of(self, model_group, healthy_deployments):
        keys = busy_keys(model_group, healthy_deployments, BUSY_KEY_MEMO) if unchanged() else None
        if not keys or self.router_cache.redis_cache is not None:
            BUSY_FAST["delegated"] += 1
            return None
        BUSY_FAST["served"] += 1
        return keys

    def pick(healthy_deployments, keys, raw):
        i = least_index(raw, len(keys))
        if i is None:
            return mod._least_busy(healthy_deployments, mod._local_counts(raw, keys))
        return healthy_deployments[i]

    return inner, keys_of, pick


def make_least_busy(original):
    inner, keys_of, pick = _busy_helpers(original)

    async def async_get_available_deployments(self, model_group, healthy_deployments):
        keys = keys_of(self, model_group, healthy_deployments)
        if keys is None:
            return await inner(self, model_group, healthy_deployments)
        raw = await self.router_cache.async_batch_get_cache(list(keys), local_only=True)
        return pick(healthy_deployments, keys, raw)

    return inner.__globals__["with_service_target"]("router_usage")(async_get_available_deployments)


def make_least_busy_sync(original):
    inner, keys_of, pick = _busy_helpers(original)

    def get_available_deployments(self, model_group, healthy_deployments):
        keys = keys_of(self, model_group, healthy_deployments)
        if keys is None:
            return inner(self, model_group, healthy_deployments)
        raw = self.router_cache.batch_get_cache(list(keys), local_only=True)
        return pick(healthy_deployments, keys, raw)

    return inner.__globals__["with_service_target"]("router_usage")(get_available_deployments)


# -- usage-based-routing-v2: the counter keys ---------------------------------------------
#
# Every v2 pick builds the tpm and rpm counter key of every candidate twice (the routing
# read batch, then the selector): two f-strings through two .get chains per deployment.
# _native.usage_keys builds the same lists in the plain case (usagekeys.c); otherwise the
# method's own code runs, with the minute already read (the clock is read once, as LiteLLM
# reads it once).

USAGE_KEYS = "litellm.router_strategy.lowest_tpm_rpm_v2:LowestTPMLoggingHandler_v2.usage_counter_keys"
FP_USAGE_KEYS = frozenset({"89587a08b8e69a08"})

# v2 key lists built here / by the method's Python (tests read them)
USAGE_KEYS_FAST = {"served": 0, "delegated": 0}
# {None: minute, id: (model, tpm_key, rpm_key)}: usage_keys' keys of this minute, the same
# str objects every pick (bounded in usagekeys.c; plain strs, safe across fork)
USAGE_KEY_MEMO: dict = {}


def make_usage_keys(original):
    from .. import _native

    g = original.__globals__  # litellm.router_strategy.lowest_tpm_rpm_v2
    build = _native.usage_keys

    def usage_counter_keys(self, healthy_deployments: list) -> tuple[list[str], list[str]]:
        """The `<id>:<model>:tpm:<HH-MM>` and `<id>:<model>:rpm:<HH-MM>` counter keys selection reads."""
        current_minute = g["get_utc_datetime"]().strftime("%H-%M")
        got = build(healthy_deployments, current_minute, USAGE_KEY_MEMO) if type(current_minute) is str else None
        if got is not None:
            USAGE_KEYS_FAST["served"] += 1
            return got
        USAGE_KEYS_FAST["delegated"] += 1
        prefixes = tuple(
            f"{m.get('model_info', {}).get('id')}:{m.get('litellm_params', {}).get('model')}"
            for m in healthy_deployments
            if isinstance(m, dict)
        )
        return (
            [f"{prefix}:tpm:{current_minute}" for prefix in prefixes],
            [f"{prefix}:rpm:{current_minute}" for prefix in prefixes],
        )

    return usage_counter_keys


# -- usage-based-routing-v2: the selection loops ------------------------------------------
#
# _common_checks_available_deployment builds the usage maps from the counter keys, counts the
# input tokens, gives unseen candidates a 0 and calls _return_potential_deployments, which
# reads every candidate's limits through .get chains. In the plain case _native.v2_select
# (v2scan.c) gives the same candidates without building the maps, through a plan of which
# value and which deployment each map item would hold (kept while the key lists and the
# candidates are the same objects, unchanged); _native.v2_dicts builds the maps for LiteLLM's
# steps when a value is not plain. The token count, the debug line, print_verbose and the
# random draw are LiteLLM's calls, in its order.

V2_CHECKS = ("litellm.router_strategy.lowest_tpm_rpm_v2:LowestTPMLoggingHandler_v2."
             "_common_checks_available_deployment")
FP_V2_CHECKS = frozenset({"cfc91ef16e42fe81"})
FILTER_GUARDS += [
    ("litellm.router_strategy.lowest_tpm_rpm_v2:LowestTPMLoggingHandler_v2._return_potential_deployments",
     frozenset({"1a9fb947b1ea8b3d"})),
]

# v2 selections made here / by LiteLLM's code (tests read them)
V2_FAST = {"served": 0, "delegated": 0}
# {counter key: its id part}: v2_dicts' remembered heads (bounded in v2scan.c; plain strs)
V2_HEADS: dict = {}
# v2_select's plan for the last key lists and candidates, reused while they are the same
# objects, unchanged (v2scan.c)
V2_READS: dict = {}


def make_v2_checks(original):
    from .. import _native

    g = original.__globals__  # litellm.router_strategy.lowest_tpm_rpm_v2
    cls = g["LowestTPMLoggingHandler_v2"]
    dicts = _native.v2_dicts
    keys_ok = _native.v2_keys_ok
    select = _native.v2_select
    unchanged = still_bound((cls, "_return_potential_deployments"))

    def _common_checks_available_deployment(
        self,
        model_group: str,
        healthy_deployments: list,
        tpm_keys: list,
        tpm_values,
        rpm_keys: list,
        rpm_values,
        messages=None,
        input=None,
    ):
        """
        Common checks for get available deployment, across sync + async implementations
        """
        if tpm_values is None or rpm_values is None:
            return None
        if not (unchanged() and "_return_potential_deployments" not in getattr(self, "__dict__", {})
                and keys_ok(tpm_keys, tpm_values, rpm_keys, rpm_values)):
            V2_FAST["delegated"] += 1
            return original(self, model_group, healthy_deployments, tpm_keys, tpm_values, rpm_keys,
                            rpm_values, messages, input)
        # (LiteLLM builds its two usage maps here: local, no code runs, nothing raises for
        # the plain lists keys_ok saw; v2_select reads the lists through a plan instead)

        try:
            input_tokens = g["token_counter"](messages=messages, text=input)
        except Exception:
            input_tokens = 0
        g["verbose_router_logger"].debug("input_tokens=%s", input_tokens)

        potential_deployments = select(healthy_deployments, tpm_keys, tpm_values, rpm_keys, rpm_values,
                                       input_tokens, V2_READS)
        if potential_deployments is None:
            # LiteLLM's remaining steps on its maps (the same lists: built as LiteLLM builds them)
            V2_FAST["delegated"] += 1
            maps = dicts(tpm_keys, tpm_values, rpm_keys, rpm_values, V2_HEADS)
            if maps is None:  # (not reached: keys_ok saw plain lists) LiteLLM's own loops
                maps = ({}, {})
                for idx, _ in enumerate(tpm_keys):
                    maps[0][tpm_keys[idx].split(":")[0]] = tpm_values[idx]
                for idx, _ in enumerate(rpm_keys):
                    maps[1][rpm_keys[idx].split(":")[0]] = rpm_values[idx]
            tpm_dict, rpm_dict = maps
            for d in healthy_deployments:
                tpm_key = d["model_info"]["id"]
                if tpm_key not in tpm_dict or tpm_dict[tpm_key] is None:
                    tpm_dict[tpm_key] = 0
            potential_deployments = self._return_potential_deployments(
                healthy_deployments=healthy_deployments,
                all_deployments=tpm_dict,
                input_tokens=input_tokens,
                rpm_dict=rpm_dict,
            )
        else:
            V2_FAST["served"] += 1
        g["print_verbose"]("returning picked lowest tpm/rpm deployment.")

        if len(potential_deployments) > 0:
            return g["random"].choice(potential_deployments)
        else:
            return None

    return _common_checks_available_deployment


# -- the selected deployment's log line -----------------------------------------------------
#
# Every pick ends with ``verbose_router_logger.info("... Selected deployment: %s ...", model,
# self.print_deployment(deployment), model)``: print_deployment deep-copies the deployment and
# masks its api_key (about 6 us for a small deployment) before the logger, not enabled for
# INFO in a default proxy, drops its arguments. When the call comes from one of LiteLLM's four
# pick methods (their fingerprints guarded: the value goes only into that info call), the
# router logger is an exact Logger not enabled for INFO, and the copy could neither raise nor
# run code (the deployment a pure data tree, ``_native.repr_is_pure``; its litellm_params a
# dict; no redaction; an api_key, if any, a str), the copy is not made: None is returned to a
# call that discards it. Anything else: LiteLLM's method.

PRINT = "litellm.router:Router.print_deployment"
FP_PRINT = frozenset({"80b4c4f10fcf9802"})
_PRINT_CALLERS = ("_async_get_available_deployment", "_async_get_available_deployment_for_pass_through",
                  "get_available_deployment", "get_available_deployment_for_pass_through")
GUARDS += [("litellm.router:Router." + name, frozenset({fp})) for name, fp in zip(_PRINT_CALLERS, (
    "d1cf93db215dcf8a", "09c75e9406c4a4ba", "bcf859c947f9d2dd", "7b2dec12054d2e31"))]

# print_deployment calls answered without the copy / by LiteLLM's method (tests read them)
PRINT_FAST = {"served": 0, "delegated": 0}


def make_print_deployment(original):
    import sys

    from .. import _native, patching

    rmod = sys.modules["litellm.router"]
    router = rmod.Router
    callers = frozenset(inspect.unwrap(router.__dict__[name]).__code__ for name in _PRINT_CALLERS)
    framework = patching.__file__  # the frames of the patch wrappers between caller and us
    unchanged = still_bound(*((router, name) for name in _PRINT_CALLERS), (rmod, "verbose_router_logger"),
                            (rmod, "litellm"), (logging.Logger, "info"), (logging.Logger, "isEnabledFor"))
    pure = _native.repr_is_pure
    getframe = sys._getframe
    info = logging.INFO
    logger_type = logging.Logger

    def discarded(deployment) -> bool:
        frame = getframe(2)
        for _ in range(4):
            if frame is None or frame.f_code.co_filename != framework:
                break
            frame = frame.f_back
        if frame is None or frame.f_code not in callers or not unchanged():
            return False
        logger = rmod.verbose_router_logger
        if type(logger) is not logger_type or logger.isEnabledFor(info):
            return False
        redact = rmod.litellm.redact_user_api_key_info
        if not (redact is False or redact is None) or type(deployment) is not dict:
            return False
        params = deployment.get("litellm_params")
        if type(params) is not dict or ("api_key" in params and type(params["api_key"]) is not str):
            return False
        return pure(deployment)

    def print_deployment(self, deployment):
        if discarded(deployment):
            PRINT_FAST["served"] += 1
            return None
        PRINT_FAST["delegated"] += 1
        return original(self, deployment)

    return print_deployment


def register(registry) -> None:
    registry.register(Component(
        name="routing",
        patches=[
            Patch(LATENCY, make_latency, FP_LATENCY, passthrough=(Exception,)),
            Patch(COST, make_cost, FP_COST, passthrough=(Exception,)),
            Patch(USAGE_V1, make_usage_v1, FP_USAGE_V1, passthrough=(Exception,)),
            # LiteLLM's filters raise their own exceptions from inside ours
            Patch(MARKERS, make_drop_markers, FP_MARKERS, passthrough=(Exception,)),
            Patch(RESERVED, make_filter_reserved, FP_RESERVED, passthrough=(Exception,)),
            Patch(VIDEO, make_narrow_video, FP_VIDEO, passthrough=(Exception,)),
            Patch(ORDER, make_order_filter, FP_ORDER, passthrough=(Exception,)),
            Patch(ALL_DEPLOYMENTS, make_get_all_deployments, FP_ALL_DEPLOYMENTS, passthrough=(Exception,)),
            Patch(SHUFFLE, make_simple_shuffle, FP_SHUFFLE, passthrough=(Exception,)),
            Patch(TEAM_FILTER, make_team_filter, FP_TEAM_FILTER, passthrough=(Exception,)),
            Patch(BLOCKED, make_filter_blocked, FP_BLOCKED, passthrough=(Exception,)),
            Patch(TAG_OVERRIDE, make_tag_override, FP_TAG_OVERRIDE, passthrough=(Exception,)),
            Patch(COOLDOWNS, make_cooldowns, FP_COOLDOWNS, passthrough=(Exception,)),
            Patch(READ_BATCH, make_read_batch_cooldowns, FP_READ_BATCH, passthrough=(Exception,)),
            Patch(COOLDOWN_FILTER, make_cooldown_filter, FP_COOLDOWN_FILTER, passthrough=(Exception,)),
            Patch(LEAST_BUSY, make_least_busy, FP_LEAST_BUSY, passthrough=(Exception,)),
            Patch(LEAST_BUSY_SYNC, make_least_busy_sync, FP_LEAST_BUSY_SYNC, passthrough=(Exception,)),
            Patch(USAGE_KEYS, make_usage_keys, FP_USAGE_KEYS, passthrough=(Exception,)),
            Patch(V2_CHECKS, make_v2_checks, FP_V2_CHECKS, passthrough=(Exception,)),
            Patch(PRINT, make_print_deployment, FP_PRINT, passthrough=(Exception,)),
            Patch(VALUES_FOR, make_values_for, FP_VALUES_FOR, passthrough=(Exception,)),
            Patch(COVERS, make_covers, FP_COVERS, passthrough=(Exception,)),
        ],
        guards=GUARDS + FILTER_GUARDS,
        paths={"filters": FILTER_FAST, "cooldowns": COOLDOWN_FAST, "read_batch": READ_BATCH_FAST,
               "least_busy": BUSY_FAST, "usage_keys": USAGE_KEYS_FAST, "usage_v2": V2_FAST,
               "print_deployment": PRINT_FAST, "values_for": VALUES_FOR_FAST, "covers": COVERS_FAST},
        description="the Router's per-deployment filters, name lookup and simple-shuffle weights in C; "
                    "latency-, cost- and usage-based (v1) selection in linear time; least-busy and "
                    "usage-based v2 selection loops in C",
        shadow_ok=False,
    ))
