"""End to end: the real LiteLLM proxy under gunicorn --preload with 2 UvicornWorkers, the
mock upstream, HTTP over loopback. Compared with the same proxy without fast_litellm."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from _proc import free_port, http, kill_group, start, wait_file, wait_http
from _sub import BUILTINS_OFF

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parent
APP_FAST = "import fast_litellm\nfrom litellm.proxy.proxy_server import app\n"
APP_STOCK = "from litellm.proxy.proxy_server import app\n"
APP_TRAP = "import plugins.trap_pkg\nimport fast_litellm\nfrom litellm.proxy.proxy_server import app\n"
KEY = "sk-test-e2e"
STARTUP = re.compile(r"^fast_litellm: active components = (\[.*\])$")
VOLATILE_HEADERS = {"date", "x-litellm-call-id", "x-litellm-response-duration-ms",
                    "x-litellm-overhead-duration-ms", "content-length", "x-litellm-key-spend",
                    "x-litellm-response-cost", "x-litellm-attempted-retries",
                    "x-litellm-model-id", "llm_provider-date", "x-request-id"}


@pytest.fixture(scope="module")
def mock_port(tmp_path_factory):
    ready = tmp_path_factory.mktemp("mock") / "port"
    proc = start([sys.executable, "-m", "fast_litellm.mock_upstream", "--port", "0",
                  "--ready-file", str(ready)])
    port = int(wait_file(ready, 30, proc=proc))
    yield port
    kill_group(proc)


class Proxy:
    def __init__(self, proc, port, log_path):
        self.proc, self.port, self.log_path = proc, port, log_path
        self.base = f"http://127.0.0.1:{port}"

    @property
    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def fl_lines(self):
        return [ln.strip() for ln in self.log.splitlines() if ln.strip().startswith("fast_litellm:")]

    def startup_lists(self):
        return [m.group(1) for ln in self.fl_lines() if (m := STARTUP.match(ln))]

    def chat(self, stream=False, content="Hello"):
        body = {"model": "demo", "messages": [{"role": "user", "content": content}]}
        if stream:
            body["stream"] = True
        return http(self.base + "/v1/chat/completions", json.dumps(body).encode(),
                    {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
                    timeout=60)

    def chat_full(self, stream=False):
        import urllib.request
        body = {"model": "demo", "messages": [{"role": "user", "content": "Hello"}]}
        if stream:
            body["stream"] = True
        req = urllib.request.Request(
            self.base + "/v1/chat/completions", json.dumps(body).encode(),
            {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()

    def metrics(self) -> str:
        # LiteLLM's auth middleware guards /metrics (ours too): scrape with the master key
        status, body = http(self.base + "/metrics", headers={"Authorization": f"Bearer {KEY}"},
                            timeout=30)
        assert status == 200, body[:300]
        return body.decode()


def start_proxy(tmp_path, mock_port, app_text=APP_FAST, env_extra=None, config_var="LITELLM_CONFIG",
                config_extra=""):
    work = tmp_path / f"proxy-{free_port()}"
    work.mkdir()
    (work / "app.py").write_text(app_text)
    (work / "config.yaml").write_text(
        "model_list:\n"
        "  - model_name: demo\n"
        "    litellm_params:\n"
        "      model: openai/demo\n"
        f"      api_base: http://127.0.0.1:{mock_port}/v1\n"
        "      api_key: sk-mock\n"
        "general_settings:\n"
        f"  master_key: {KEY}\n"
        "litellm_settings:\n"
        "  num_retries: 0\n" + config_extra)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAST_LITELLM_", "PROBE_")) and k not in (
               "CONFIG_FILE_PATH", "LITELLM_CONFIG", "WORKER_CONFIG", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(BUILTINS_OFF)
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "FAST_LITELLM_PLUGINS": "plugins.probe",
                config_var: str(work / "config.yaml"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))})
    env.update(env_extra or {})
    port = free_port()
    log_path = work / "proxy.log"
    fh = open(log_path, "w")
    proc = start([sys.executable, "-m", "gunicorn", "app:app", "--preload", "-w", "2",
                  "-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{port}",
                  "--timeout", "120"], cwd=work, env=env, stdout=fh, stderr=fh)
    proxy = Proxy(proc, port, log_path)
    try:
        wait_http(proxy.base + "/health/readiness", 180, proc=proc)
        # both workers have logged their line once each is serving
        import time
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proxy.log.count("Application startup complete") < 2:
            time.sleep(0.3)
    except BaseException:
        kill_group(proc)
        raise AssertionError("proxy did not start:\n" + proxy.log[-5000:])
    return proxy


@pytest.fixture
def proxies(tmp_path, mock_port):
    started = []

    def _start(**kw):
        p = start_proxy(tmp_path, mock_port, **kw)
        started.append(p)
        return p

    yield _start
    for p in started:
        kill_group(p.proc)


def _normal_body(raw: bytes):
    body = json.loads(raw)
    for k in ("id", "created"):
        body.pop(k, None)
    return body


def _normal_stream(raw: bytes):
    events = []
    for line in raw.decode().splitlines():
        if not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            events.append("[DONE]")
            continue
        ev = json.loads(data)
        for k in ("id", "created"):
            ev.pop(k, None)
        events.append(ev)
    return events


def _metric(text: str, name: str, **labels) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_accelerated_proxy_matches_stock(proxies, tmp_path):
    mp = tmp_path / "prom"
    mp.mkdir()
    fast = proxies(env_extra={"PROMETHEUS_MULTIPROC_DIR": str(mp)})
    stock = proxies(app_text=APP_STOCK, config_var="CONFIG_FILE_PATH")

    # the start-up line: master + each worker, each after its own pid line
    assert fast.startup_lists() == ["['probe']"] * 3, fast.fl_lines()
    pids = {int(m.group(1)) for ln in fast.fl_lines() if (m := re.match(r"fast_litellm: pid (\d+), litellm 1\.108\.7$", ln))}
    assert len(pids) == 3 and fast.proc.pid in pids
    assert any("LITELLM_CONFIG" in ln and "CONFIG_FILE_PATH" in ln for ln in fast.fl_lines())
    assert not [ln for ln in fast.fl_lines() if "WARNING" in ln]
    assert stock.startup_lists() == []

    for stream in (False, True):
        s1, h1, b1 = fast.chat_full(stream)
        s2, h2, b2 = stock.chat_full(stream)
        assert s1 == s2 == 200
        norm = _normal_stream if stream else _normal_body
        assert norm(b1) == norm(b2)
        assert set(h1) - VOLATILE_HEADERS == set(h2) - VOLATILE_HEADERS
        for k in set(h1) - VOLATILE_HEADERS:
            if k.startswith("x-litellm") and k not in ("x-litellm-version",):
                continue
            assert h1[k] == h2[k], k
    plain = json.loads(fast.chat()[1])
    assert plain["choices"][0]["message"]["content"] == "Hello from the fast_litellm mock upstream."
    assert plain["usage"] == {"completion_tokens": 9, "prompt_tokens": 9, "total_tokens": 18}

    # bad input: the same status and body as stock
    for body in (b"{not json", b'{"model": "no-such-model", "messages": []}'):
        r1 = http(fast.base + "/v1/chat/completions", body,
                  {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        r2 = http(stock.base + "/v1/chat/completions", body,
                  {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        assert r1[0] == r2[0] and r1[0] >= 400

    for _ in range(10):
        assert fast.chat()[0] == 200
    # /metrics: LiteLLM serves none here, so ours; a multiprocess sum, whichever worker answers
    scrapes = [fast.metrics() for _ in range(6)]
    values = {_metric(t, "fast_litellm_calls_total", component="probe", path="native") for t in scrapes}
    assert len(values) == 1 and values.pop() >= 13
    assert _metric(scrapes[0], "fast_litellm_fallbacks_total", component="probe") == 0
    assert _metric(scrapes[0], "fast_litellm_component_active", component="probe") == 1


def test_import_order_trap_still_accelerated(proxies):
    p = proxies(app_text=APP_TRAP)
    assert p.startup_lists() == ["['probe']"] * 3
    warns = [ln for ln in p.fl_lines() if "imported before fast_litellm" in ln]
    assert len(warns) == 1 and "plugins.trap_pkg" in warns[0]
    assert p.chat()[0] == 200
    assert _metric(p.metrics(), "fast_litellm_calls_total", component="probe", path="native") > 0


def test_litellms_own_metrics_endpoint_carries_ours(proxies):
    # prometheus callback configured: LiteLLM mounts /metrics itself; our series are on it
    p = proxies(config_extra="  callbacks: [\"prometheus\"]\n")
    assert p.chat()[0] == 200
    text = p.metrics()
    assert "litellm_" in text  # LiteLLM's own series: it is LiteLLM's endpoint
    assert _metric(text, "fast_litellm_calls_total", component="probe", path="native") > 0
    assert not any("serving fast_litellm metrics" in ln for ln in p.fl_lines())


@pytest.mark.parametrize("flag,extra,expect", [
    ("false", {}, "[]"),
    ("canary:50", {}, "['probe']"),
    ("shadow", {"PROBE_MISMATCH": "1"}, "['probe']"),
    ("sometimes", {}, "['probe']"),
])
def test_flags_on_the_real_proxy(proxies, flag, extra, expect):
    env = {"FAST_LITELLM_PROBE": flag, **extra}
    p = proxies(env_extra=env)
    assert p.startup_lists() == [expect] * 3
    for _ in range(30):
        status, body = p.chat()
        assert status == 200
        assert json.loads(body)["choices"][0]["message"]["content"].startswith("Hello from")
    warns = [ln for ln in p.fl_lines() if "WARNING" in ln]
    if flag == "sometimes":
        assert any("FAST_LITELLM_PROBE='sometimes' is malformed" in w for w in warns)
    text = p.metrics()
    native = _metric(text, "fast_litellm_calls_total", component="probe", path="native") or 0
    python = _metric(text, "fast_litellm_calls_total", component="probe", path="python") or 0
    if flag == "false":
        assert native == 0 and python == 0
    elif flag.startswith("canary"):
        # per worker (no multiprocess dir): at least one scrape; both paths taken
        assert native > 0 and python > 0
    elif flag == "shadow":
        assert _metric(text, "fast_litellm_shadow_mismatches_total", component="probe") > 0
        assert any("shadow mismatch" in w for w in warns)
    else:
        assert native > 0 and python == 0


TOKEN_PAYLOADS = [
    {"model": "demo", "messages": [{"role": "user", "content": "Hello"}]},
    {"model": "demo", "prompt": "The quick brown fox jumps over the lazy dog. " * 400},
    {"model": "demo", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "日本語のテキスト 🙂👩‍👩‍👧 and ſome 'LL contractions\r\n\t"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": true}"},
        {"role": "user", "content": [{"type": "text", "text": "x" * 5000}, {"type": "text", "text": "y"}]}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "o200k: " + "ab1 " * 3000}]},
    {"model": "demo", "messages": "not a list"},
    {"model": "demo"},
]


def test_token_counting_on_the_real_proxy(proxies):
    """The built-in token_counter and batch_token_counting components in the real proxy:
    /utils/token_counter answers exactly as stock LiteLLM (status and body), on the C path."""
    on = {"FAST_LITELLM_TOKEN_COUNTER": "true", "FAST_LITELLM_BATCH_TOKEN_COUNTING": "true"}
    fast = proxies(env_extra=on)
    stock = proxies(app_text=APP_STOCK, config_var="CONFIG_FILE_PATH")
    assert fast.startup_lists() == ["['batch_token_counting', 'probe', 'token_counter']"] * 3
    assert not [ln for ln in fast.fl_lines() if "WARNING" in ln]
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for payload in TOKEN_PAYLOADS:
        body = json.dumps(payload).encode()
        got = http(fast.base + "/utils/token_counter", body, headers, timeout=60)
        want = http(stock.base + "/utils/token_counter", body, headers, timeout=60)
        assert got[0] == want[0], (payload, got, want)
        assert json.loads(got[1]) == json.loads(want[1]), payload
    assert json.loads(http(fast.base + "/utils/token_counter",
                           json.dumps(TOKEN_PAYLOADS[1]).encode(), headers)[1])["total_tokens"] > 1000
    # the C path served them (each worker counts its own: scrape until both answered)
    native = 0
    for _ in range(12):
        native = max(native, _metric(fast.metrics(), "fast_litellm_calls_total",
                                     component="token_counter", path="native") or 0)
    assert native > 0
    assert _metric(fast.metrics(), "fast_litellm_fallbacks_total", component="token_counter") == 0
    for _ in range(5):
        assert fast.chat()[0] == 200


def test_every_builtin_component_on_the_real_proxy(proxies):
    """Every built-in component on (the zero-config default), gunicorn --preload with two
    workers: the same answers as stock LiteLLM, and each component served natively."""
    from fast_litellm.components import BUILTIN

    fast = proxies(env_extra={f"FAST_LITELLM_{c.upper()}": "true" for c in BUILTIN})
    stock = proxies(app_text=APP_STOCK, config_var="CONFIG_FILE_PATH")
    assert fast.startup_lists() == [repr(sorted([*BUILTIN, "probe"]))] * 3, fast.fl_lines()
    assert not [ln for ln in fast.fl_lines() if "WARNING" in ln]
    for stream in (False, True):
        s1, h1, b1 = fast.chat_full(stream)
        s2, h2, b2 = stock.chat_full(stream)
        assert s1 == s2 == 200
        norm = _normal_stream if stream else _normal_body
        assert norm(b1) == norm(b2)
        assert set(h1) - VOLATILE_HEADERS == set(h2) - VOLATILE_HEADERS
    for body in (b"{not json", b'{"model": "no-such-model", "messages": []}'):
        r1 = http(fast.base + "/v1/chat/completions", body,
                  {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        r2 = http(stock.base + "/v1/chat/completions", body,
                  {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        assert r1[0] == r2[0] and r1[0] >= 400
        assert json.loads(r1[1]) == json.loads(r2[1])
    for _ in range(6):
        assert fast.chat()[0] == 200
    # each worker counts its own (single-process metrics): scrape until both answered
    native = 0
    for _ in range(12):
        native = max(native, _metric(fast.metrics(), "fast_litellm_calls_total",
                                     component="otel_seed", path="native") or 0)
    assert native > 0
    text = fast.metrics()
    # the master froze the proxy's start-up heap before forking; each worker inherits it
    assert (_metric(text, "fast_litellm_gc_frozen_objects", component="gc_freeze") or 0) > 100_000
    for comp in BUILTIN:
        assert _metric(text, "fast_litellm_component_active", component=comp) == 1, comp
        assert _metric(text, "fast_litellm_fallbacks_total", component=comp) == 0, comp
