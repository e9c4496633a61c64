"""End to end: the routing component in the real LiteLLM proxy, HTTP over loopback.

Two proxies started as in test_e2e_proxy (gunicorn --preload, UvicornWorker, the mock
upstream), with the same config: one model name ``pool`` behind six healthy deployments
(``model_info.id`` ``h1``..``h6``, all the mock upstream) and one deployment ``bad`` whose
``api_base`` is a port nobody listens on, ``routing_strategy: latency-based-routing``,
``allowed_fails: 1``, ``cooldown_time: 600``, ``num_retries: 0``. One proxy is patched
(``FAST_LITELLM_ROUTING=true``), the other is stock LiteLLM (APP_STOCK).

ONE worker each: LiteLLM keeps the latency map and the cooldown list in the worker's own
in-memory cache, so with one worker the whole proxy shares them and "never picked again after
its cooldown" is a property of the proxy, not of whichever worker the kernel chose.

The two processes draw different random numbers (latency ties are broken with
``random.choice``), so pick sequences are not compared; what is compared is the kind of
behaviour: the failing deployment is cooled down and never picked again, the same healthy
deployments are reachable, failures look the same, and latency ties spread the picks.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from _proc import free_port, kill_group, start, wait_http
from _sub import BUILTINS_OFF
from test_e2e_proxy import (APP_FAST, APP_STOCK, KEY, Proxy, _metric,  # noqa: F401
                            mock_port)

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parent
HEALTHY = [f"h{i}" for i in range(1, 7)]
BAD = "bad"
REQUESTS = 60


def pool_config(mock_port: int, dead_port: int) -> str:
    deployments = [(i, f"http://127.0.0.1:{mock_port}/v1") for i in HEALTHY]
    deployments.insert(3, (BAD, f"http://127.0.0.1:{dead_port}/v1"))
    text = "model_list:\n"
    for dep_id, base in deployments:
        text += ("  - model_name: pool\n"
                 "    litellm_params:\n"
                 "      model: openai/demo\n"
                 f"      api_base: {base}\n"
                 "      api_key: sk-mock\n"
                 "    model_info:\n"
                 f"      id: {dep_id}\n")
    return text + (
        "router_settings:\n"
        "  routing_strategy: latency-based-routing\n"
        "  allowed_fails: 1\n"
        "  cooldown_time: 600\n"
        "general_settings:\n"
        f"  master_key: {KEY}\n"
        "litellm_settings:\n"
        "  num_retries: 0\n")


def launch(tmp_path, config: str, app_text: str, flag: str) -> Proxy:
    work = tmp_path / f"proxy-{free_port()}"
    work.mkdir()
    (work / "app.py").write_text(app_text)
    (work / "config.yaml").write_text(config)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAST_LITELLM_", "PROBE_")) and k not in (
               "CONFIG_FILE_PATH", "LITELLM_CONFIG", "WORKER_CONFIG", "PROMETHEUS_MULTIPROC_DIR",
               "REDIS_HOST", "REDIS_URL", "REDIS_PORT")}
    env.update(BUILTINS_OFF)
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "FAST_LITELLM_ROUTING": flag,
                "CONFIG_FILE_PATH": str(work / "config.yaml"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))})
    port = free_port()
    log_path = work / "proxy.log"
    fh = open(log_path, "w")
    # -w 1: see the module docstring
    proc = start([sys.executable, "-m", "gunicorn", "app:app", "--preload", "-w", "1",
                  "-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{port}",
                  "--timeout", "120"], cwd=work, env=env, stdout=fh, stderr=fh)
    return Proxy(proc, port, log_path)


def ready(proxy: Proxy) -> None:
    try:
        wait_http(proxy.base + "/health/readiness", 180, proc=proxy.proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Application startup complete" not in proxy.log:
            time.sleep(0.3)
    except BaseException:
        kill_group(proxy.proc)
        raise AssertionError("proxy did not start:\n" + proxy.log[-5000:])


def chat_pool(proxy: Proxy):
    """One chat completion on `pool`: (status, lower-cased headers, parsed body)."""
    body = json.dumps({"model": "pool", "messages": [{"role": "user", "content": "Hello"}]}).encode()
    req = urllib.request.Request(proxy.base + "/v1/chat/completions", body,
                                 {"Authorization": f"Bearer {KEY}",
                                  "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, err.headers, err.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, {k.lower(): v for k, v in headers.items()}, parsed


def error_kind(body) -> tuple:
    err = body.get("error", {}) if isinstance(body, dict) else {}
    return (err.get("type"), err.get("code"))


@pytest.fixture
def pair(tmp_path, mock_port):
    dead_port = free_port()  # bound and closed: nobody listens there
    config = pool_config(mock_port, dead_port)
    fast = launch(tmp_path, config, APP_FAST, "true")
    stock = launch(tmp_path, config, APP_STOCK, "false")
    try:
        ready(fast)
        ready(stock)
        yield fast, stock, dead_port
    finally:
        kill_group(fast.proc)
        kill_group(stock.proc)


def drive(proxy: Proxy):
    """REQUESTS sequential requests: a list of (status, model id or None, error kind)."""
    out = []
    for _ in range(REQUESTS):
        status, headers, body = chat_pool(proxy)
        if status == 200:
            out.append((status, headers.get("x-litellm-model-id"), headers.get("x-litellm-model-api-base")))
        else:
            out.append((status, None, error_kind(body)))
    return out


def test_latency_routing_with_cooldown_matches_stock(pair, mock_port):
    fast, stock, _ = pair
    assert fast.startup_lists() == ["['routing']"] * 2, fast.fl_lines()  # master + the worker
    assert not [ln for ln in fast.fl_lines() if "WARNING" in ln]
    assert stock.startup_lists() == []
    runs = {"fast": drive(fast), "stock": drive(stock)}
    mock_base = f"http://127.0.0.1:{mock_port}/v1"

    summary = {}
    for name, res in runs.items():
        failures = [i for i, (status, _, _) in enumerate(res) if status != 200]
        picks = [dep for status, dep, _ in res if status == 200]
        # every success came from a healthy deployment, and says so in its headers
        assert set(picks) <= set(HEALTHY), (name, res)
        assert all(base == mock_base for status, _, base in res if status == 200), (name, res)
        # the dead deployment failed (unseen deployments sit at latency 0, so it is tried
        # early), was cooled down after allowed_fails, and never picked again: every failure
        # falls within the first round (each healthy deployment once, plus the failures)
        assert failures, (name, res)
        assert max(failures) < len(HEALTHY) + len(failures), (name, res)
        assert all(status == 200 for status, _, _ in res[max(failures) + 1:]), (name, res)
        # latency-based: every unseen healthy deployment (latency 0) is tried before any
        # repeat, so all of them are reachable; ties at 0 are broken at random
        first_round = [dep for status, dep, _ in res[:len(HEALTHY) + len(failures)] if status == 200]
        assert sorted(first_round) == HEALTHY, (name, res)
        assert len(Counter(picks)) >= 2
        summary[name] = {
            "n_failures": len(failures),
            "errors": sorted({(status, kind) for status, _, kind in res if status != 200}),
            "healthy_picked": sorted(set(picks)),
        }
    # the same behaviour on both: as many failures before the cooldown, the same error
    # (status, type, code), the same healthy deployments picked
    assert summary["fast"] == summary["stock"], summary
    assert summary["fast"]["n_failures"] == 2, summary  # allowed_fails: 1 -> cooled on the 2nd
    assert all(status >= 500 for status, _ in summary["fast"]["errors"]), summary

    # the patched proxy picked natively, never fell back (one worker: one counter)
    scrapes = [fast.metrics() for _ in range(4)]
    native = max(_metric(t, "fast_litellm_calls_total", component="routing", path="native") or 0
                 for t in scrapes)
    assert native >= REQUESTS, native
    for text in scrapes:
        assert _metric(text, "fast_litellm_fallbacks_total", component="routing") == 0
        assert _metric(text, "fast_litellm_component_active", component="routing") == 1
    # every latency-based pick's INFO line skipped its copy (the proxy's router logger is not
    # at INFO): the print_deployment fast path, never handed to LiteLLM
    served = max(_metric(t, "fast_litellm_fast_path_calls_total", component="routing", outcome="served",
                         path="print_deployment") or 0 for t in scrapes)
    assert served >= REQUESTS, served
    assert all(_metric(t, "fast_litellm_fast_path_calls_total", component="routing", outcome="delegated",
                       path="print_deployment") == 0 for t in scrapes)
