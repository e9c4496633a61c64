"""routing: LiteLLM's latency-, cost- and usage-based (v1) selectors in linear time.

Patched (litellm 1.108.7):

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

import inspect
import math

from ..patching import Component, Patch

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
]

_INF = float("inf")


class _ById:
    """The candidate that LiteLLM's no-break scan finds for a map key: the last deployment
    whose ``model_info["id"]`` equals it."""

    __slots__ = ("healthy", "index", "exact")

    def __init__(self, healthy, ids):
        self.healthy = healthy
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

def make_latency(original):
    g = original.__globals__  # litellm.router_strategy.lowest_latency

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
        ids = []
        for d in healthy_deployments:
            i = d["model_info"]["id"]
            ids.append(i)
            if i not in cached:
                cached[i] = {"latency": [0], precise_minute: {"tpm": 0, "rpm": 0}}
        by_id = _ById(healthy_deployments, ids)

        input_tokens = _input_tokens(g, messages, input)

        random = g["random"]
        items = cached.items()
        shuffled = dict(random.sample(list(items), len(items)))

        stream = None  # read at the first matched entry, as LiteLLM reads it per entry
        potential = []
        for item, item_map in shuffled.items():
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

        if not potential:
            return None

        ranked = sorted(potential, key=_by_second)
        lowest = ranked[0][1]
        ceiling = lowest + self.routing_args.lowest_latency_buffer * lowest
        valid = [x for x in ranked if x[1] <= ceiling]
        chosen = random.choice(valid)[0]
        field = self._select_metadata_field(request_kwargs)
        if request_kwargs is not None and field in request_kwargs:
            request_kwargs[field]["_latency_per_deployment"] = latency_per_deployment
        return chosen

    return _get_available_deployments


# -- cost-based-routing ------------------------------------------------------------------------

def make_cost(original):
    inner = inspect.unwrap(original)
    g = inner.__globals__  # litellm.router_strategy.lowest_cost

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
        ids = []
        for d in healthy_deployments:
            i = d["model_info"]["id"]
            ids.append(i)
            if i not in cached:
                cached[i] = {precise_minute: {"tpm": 0, "rpm": 0}}
        by_id = _ById(healthy_deployments, ids)

        input_tokens = _input_tokens(g, messages, input)

        rates = g["_deployment_cost_map_rates"]
        debug = g["verbose_router_logger"].debug
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

            if item_tpm + input_tokens > tpm_limit or item_rpm + 1 > rpm_limit:
                continue
            potential.append((dep, cost))

        if not potential:
            return None
        return sorted(potential, key=_by_second)[0][0]

    return g["with_service_target"]("router_usage")(async_get_available_deployments)


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
    inner = inspect.unwrap(original)
    g = inner.__globals__  # litellm.router_strategy.lowest_tpm_rpm

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

        ids = []
        if tpm_dict is None:
            tpm_dict = {}
            for d in healthy_deployments:
                i = d["model_info"]["id"]
                ids.append(i)
                tpm_dict[i] = 0
        else:
            for d in healthy_deployments:
                i = d["model_info"]["id"]
                ids.append(i)
                if i not in tpm_dict:
                    tpm_dict[d["model_info"]["id"]] = 0
        by_id = _ById(healthy_deployments, ids)

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
        g["print_verbose"]("returning picked lowest tpm/rpm deployment.")
        return deployment

    return g["with_service_target"]("router_usage")(get_available_deployments)


def register(registry) -> None:
    registry.register(Component(
        name="routing",
        patches=[
            Patch(LATENCY, make_latency, FP_LATENCY, passthrough=(Exception,)),
            Patch(COST, make_cost, FP_COST, passthrough=(Exception,)),
            Patch(USAGE_V1, make_usage_v1, FP_USAGE_V1, passthrough=(Exception,)),
        ],
        guards=GUARDS,
        description="latency-, cost- and usage-based (v1) deployment selection in linear time",
        shadow_ok=False,
    ))
