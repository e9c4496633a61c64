"""End to end: the routing component with two proxy instances sharing a real Redis.

Issue 6 asks that with Redis configured, usage and cooldown state be shared across proxy
instances exactly as LiteLLM shares it. Setup: the mock upstream; two ``redis-server``s
(one per pair, so that the pairs never see each other's state; installed by ``make
apt-deps``); four real proxies (gunicorn --preload, one UvicornWorker each, as in
test_routing_e2e): a patched pair (``FAST_LITELLM_ROUTING=true``) on one Redis and a stock
pair on the other. Every proxy has the same model group ``pool``: ``bad`` (first; its
``api_base`` a port nobody listens on) and ``h1``..``h3`` (the mock), each with ``rpm: 3``,
``routing_strategy: usage-based-routing-v2``, ``allowed_fails: 1``, ``cooldown_time: 600``,
``num_retries: 0`` and ``router_settings.redis_host/redis_port`` -- the Router's own cache
(cooldowns, v2's usage counters) on Redis.

How LiteLLM 1.108.7 shares them (observed on the stock pair, and the reason this is a
differential test): the cooldown is written to Redis when ``bad`` fails twice on instance A,
and instance B, which never called ``bad``, never picks it; v2's rpm counters go to Redis,
so B, having served 2 requests itself, answers 429 once A's usage is in (v2 admits while
``count + 1 < rpm``: 2 a deployment, 6 in all); A, which keeps its own in-memory view,
admits 2 more later in the alternating phase (LiteLLM's eventual sync). The test runs the
same trace on both pairs -- 6 requests to A, 6 to B, then 4 rounds alternating -- and
requires the same statuses in the same places (A's first phase as counts: which request
meets ``bad`` depends on a random tie-break), no pick of ``bad`` on B, and the patched
pair's routing component active with no fallback. A trace is started early in a minute:
v2's counters are per minute, and a minute boundary inside one trace would reset them.

``bad`` has ``rpm: 1000``, so only its cooldown keeps it out: B reads ``bad``'s usage
(tpm 0: failures carry no tokens) from Redis and would pick it first otherwise. Checked
once by hand (2026-12-06): with B's Router on no Redis, B met ``bad`` twice and admitted
beyond the shared limit, patched and stock alike; and a mutant of v2's rpm test
(``>=`` -> ``>`` in v2scan.c) fails this test. With Redis the cooldown read and v2's
combined read go to LiteLLM (``delegated`` in the fast-path metric); the plainness filters,
v2's keys and selection and the log-line copy are served natively.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from _proc import free_port, kill_group
from test_e2e_proxy import APP_FAST, APP_STOCK, KEY, _metric, mock_port  # noqa: F401 - a fixture
from test_rate_limiter_redis import RedisServer
from test_routing_e2e import chat_pool, error_kind, launch, ready

pytestmark = pytest.mark.e2e

HEALTHY = ["h1", "h2", "h3"]
RPM = 3
BAD_RPM = 1000  # never its rpm: only the cooldown keeps `bad` out
TRACE = ["a"] * 6 + ["b"] * 6 + ["a", "b"] * 4


def pool_config(mock_port: int, dead_port: int, redis_port: int) -> str:
    text = "model_list:\n"
    for dep_id, port, rpm in [("bad", dead_port, BAD_RPM)] + [(h, mock_port, RPM) for h in HEALTHY]:
        text += ("  - model_name: pool\n"
                 "    litellm_params:\n"
                 "      model: openai/demo\n"
                 f"      api_base: http://127.0.0.1:{port}/v1\n"
                 "      api_key: sk-mock\n"
                 f"      rpm: {rpm}\n"
                 "    model_info:\n"
                 f"      id: {dep_id}\n")
    return text + (
        "router_settings:\n"
        "  routing_strategy: usage-based-routing-v2\n"
        "  allowed_fails: 1\n"
        "  cooldown_time: 600\n"
        "  redis_host: 127.0.0.1\n"
        f"  redis_port: {redis_port}\n"
        "general_settings:\n"
        f"  master_key: {KEY}\n"
        "litellm_settings:\n"
        "  num_retries: 0\n")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, mock_port):  # noqa: F811 - the fixture imported above
    root = tmp_path_factory.mktemp("routing-redis")
    servers, out = [], {}
    try:
        for name, app, flag in (("fast", APP_FAST, "true"), ("stock", APP_STOCK, "false")):
            server = RedisServer(root)
            server.start()
            servers.append(server)
            config = pool_config(mock_port, free_port(), server.port)
            out[name] = (launch(root, config, app, flag), launch(root, config, app, flag), server)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(ready, [p for a, b, _ in out.values() for p in (a, b)]))
        yield out
    finally:
        for a, b, _ in out.values():
            kill_group(a.proc)
            kill_group(b.proc)
        for server in servers:
            if server.proc is not None:
                kill_group(server.proc, grace=5)


def run_trace(a, b):
    """TRACE on the pair: (instance, status, model id or error kind) per request."""
    if time.localtime().tm_sec > 40:  # (v2's counters are per minute: start a fresh one)
        time.sleep(61 - time.localtime().tm_sec)
    out = []
    for who in TRACE:
        status, headers, body = chat_pool(a if who == "a" else b)
        out.append((who, status, headers.get("x-litellm-model-id") if status == 200 else error_kind(body)))
    return out


def test_cooldown_and_usage_shared_through_redis_as_stock(pairs):
    runs = {name: run_trace(a, b) for name, (a, b, _) in pairs.items()}
    shapes = {}
    for name, trace in runs.items():
        first, second, rest = trace[:6], trace[6:12], trace[12:]
        # instance A met `bad` (every deployment unused: ties), failed on it twice and cooled it
        # down (allowed_fails 1); its successes came from the healthy ones
        assert sum(status == 500 for _, status, _ in first) == 2, (name, trace)
        assert {ident for _, status, ident in trace if status == 200} <= set(HEALTHY), (name, trace)
        # instance B never called `bad`: the cooldown came through Redis
        assert all(status != 500 for _, status, _ in second + rest), (name, trace)
        # and B refuses (429) after serving fewer requests than it would admit alone
        assert [status for _, status, _ in second][:3] == [200, 200, 429], (name, trace)
        assert all(kind == ("throttling_error", "429") for _, status, kind in trace if status == 429), (name, trace)
        shapes[name] = ([status for _, status, _ in second + rest],
                        sorted(status for _, status, _ in first))
        a, b, server = pairs[name]
        assert server.client().exists("deployment:bad:cooldown"), name
    assert shapes["fast"] == shapes["stock"], runs

    fast_a, fast_b, _ = pairs["fast"]
    stock_a, _, _ = pairs["stock"]
    assert fast_a.startup_lists() == ["['routing']"] * 2 and fast_b.startup_lists() == ["['routing']"] * 2
    assert stock_a.startup_lists() == []
    for proxy in (fast_a, fast_b):  # one worker each: one counter
        text = proxy.metrics()
        assert _metric(text, "fast_litellm_component_active", component="routing") == 1
        assert _metric(text, "fast_litellm_fallbacks_total", component="routing") == 0
        assert (_metric(text, "fast_litellm_calls_total", component="routing", path="native") or 0) >= 6
