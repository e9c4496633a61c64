#!/usr/bin/env python3
"""End-to-end A/B benchmark of the LiteLLM proxy as users run it.

    python bench/proxy_bench.py [--rounds 5] [--duration 2] [--warmup 3] [--quick] [--no-peer]

* Upstream: nginx (Debian; installed when missing) serves canned chat.completion bodies
  (~400 B, ~8 KB) and an SSE stream, with `return 200` (no disk, no Python).
* Load: wrk (Debian) with a Lua script for POST bodies.
* The proxy under test: gunicorn --preload, UvicornWorker, one worker pinned to CPU 0;
  nginx and wrk pinned to CPU 1. A second profile runs two workers, unpinned.
* Variants run side by side, interleaved, with a stock window between any two others
  (S A S B S C, then S B S C S A, ...): stock LiteLLM (same venv, fast_litellm not
  imported), fast_litellm with every component, each component alone at the point of its
  profile where it has work, and the peer `fast-litellm` 0.1.10 in its own venv (one
  point: it fails every request). Every variant of a profile is started once; the ones not
  being measured are SIGSTOPped so they take no CPU.
* Headline: proxy CPU microseconds per request: user+sys of the proxy's process tree from
  /proc, read with the proxy idle before and after the window, over the upstream calls it
  made meanwhile (nginx's stub_status counter). Each window's ratio to stock is taken
  against the stock windows just before and after it. Also requests/s, latency p50/p99
  (wrk), latency added over calling the mock directly, errors, worker PSS.

Writes bench/results/<date>-<sha>.json; bench/report.py turns it into plots and the
tables of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PEER_VENV = BENCH / ".venv-peer"
PEER_SPEC = ["fast-litellm==0.1.10", "litellm[proxy]==1.108.7", "gunicorn", "uvicorn"]
KEY = "sk-bench-master"
TICK = os.sysconf("SC_CLK_TCK")
CONTENT_SMALL = "Hello from the benchmark upstream."


# ---------------------------------------------------------------- environment ----------

def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def ensure_debian_tools() -> None:
    missing = [pkg for exe, pkg in (("nginx", "nginx-light"), ("wrk", "wrk")) if not shutil.which(exe)
               and not os.path.exists(f"/usr/sbin/{exe}")]
    if missing:
        print(f"bench: apt-get install {' '.join(missing)}", file=sys.stderr)
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "install", "-y", "-qq", *missing], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
           stdout=subprocess.DEVNULL)


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def ensure_peer() -> tuple[str | None, str]:
    """The published peer in its own venv (its import name is also fast_litellm)."""
    py = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    if not stamp.exists():
        try:
            sh([sys.executable, "-m", "venv", str(PEER_VENV)])
            sh([str(py), "-m", "pip", "install", "-q", *PEER_SPEC], stdout=subprocess.DEVNULL,
               stderr=subprocess.PIPE, timeout=1200)
            stamp.write_text(" ".join(PEER_SPEC))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            err = getattr(exc, "stderr", b"") or b""
            return None, f"peer install failed: {err.decode(errors='replace')[-400:]}"
    out = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('fast-litellm'), m.version('litellm'))"],
                         capture_output=True, text=True)
    return str(py), out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "nogit"
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True).stdout.strip())
    from importlib.metadata import version
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "litellm": version("litellm"), "fast_litellm": version("fast-litellm"),
            "commit": sha + ("-dirty" if dirty else ""), "kernel": platform.release()}


# ---------------------------------------------------------------- the mock upstream ----

def _completion(content: str) -> str:
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": max(1, len(content) // 4),
                  "total_tokens": 12 + max(1, len(content) // 4)},
    }, separators=(",", ":"))


def _stream() -> str:
    words = (CONTENT_SMALL + " " + "and more words " * 6).split()
    out = []
    for i, w in enumerate(words):
        delta = {"content": (w if i == 0 else " " + w)}
        if i == 0:
            delta["role"] = "assistant"
        out.append("data: " + json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                                          "created": 1700000000, "model": "bench",
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                                         separators=(",", ":")) + "\n\n")
    out.append("data: " + json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                                      "created": 1700000000, "model": "bench",
                                      "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                                     separators=(",", ":")) + "\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out)


def bodies() -> dict[str, str]:
    large_text = ("The quick brown fox jumps over the lazy dog. " * 170)[:7600]
    return {"small": _completion(CONTENT_SMALL), "large": _completion(large_text), "stream": _stream()}


def _nginx_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


class Mock:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        b = bodies()
        self.sizes = {k: len(v.encode()) for k, v in b.items()}
        conf = f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_buffer_size 64k;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    # requests served so far: the exact number of upstream calls a proxy made in a window
    location = /nginx_status {{ stub_status; }}
    location /small/ {{ default_type application/json; return 200 {_nginx_str(b['small'])}; }}
    # too long for a config string: a file, reached by an internal redirect (POST -> GET)
    location /large/ {{ error_page 405 =200 /large.json; return 405; }}
    location = /large.json {{ internal; default_type application/json; root {work}; }}
    location /stream/ {{ error_page 405 =200 /stream.sse; return 405; }}
    location = /stream.sse {{ internal; default_type text/event-stream; root {work}; }}
  }}
}}
"""
        work.chmod(0o755)  # nginx workers run unprivileged: they read the bodies below
        (work / "large.json").write_text(b["large"])
        (work / "stream.sse").write_text(b["stream"])
        (work / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(["taskset", "-c", "1", nginx_bin(), "-c", str(work / "nginx.conf"),
                                      "-p", str(work), "-g", "daemon off;"], start_new_session=True)
        wait_http(f"http://127.0.0.1:{self.port}/small/v1/chat/completions", 20, method="POST")

    def base(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/v1"

    def served(self) -> int:
        """nginx's request counter (stub_status), this status request included."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/nginx_status", timeout=5) as r:
            lines = r.read().decode().splitlines()
        return int(lines[2].split()[2])  # " accepts handled requests"

    def stop(self) -> None:
        kill_tree(self.proc)


# ---------------------------------------------------------------- processes ------------

def wait_http(url: str, timeout: float, method: str = "GET", proc=None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before {url} answered")
        try:
            req = urllib.request.Request(url, data=b"{}" if method == "POST" else None, method=method)
            with urllib.request.urlopen(req, timeout=3) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer 200 in {timeout}s ({last})")


def tree(pid: int) -> list[int]:
    out = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out.extend(tree(int(k)))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def signal_tree(pid: int, sig: int) -> None:
    for p in tree(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def kill_tree(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- profiles -------------

CUSTOM_AUTH = '''
from litellm.proxy._types import UserAPIKeyAuth

async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    # Each client key carries rpm, tpm and max_parallel_requests, as a virtual key would,
    # high enough that the benchmark measures the limiter's cost, not its denials.
    return UserAPIKeyAuth(api_key=api_key, rpm_limit=10_000_000, tpm_limit=10_000_000_000,
                          max_parallel_requests=100_000)
'''


def config_for(profile: str, mock: Mock, kind: str) -> str:
    base = mock.base(kind)
    head = "model_list:\n"
    if profile == "router":
        deps = "".join(
            "  - model_name: demo\n"
            "    litellm_params:\n"
            f"      model: openai/bench-{i}\n"
            f"      api_base: {base}\n"
            f"      api_key: sk-upstream-{i}\n"
            f"      rpm: {1_000_000 + i}\n"
            f"      tpm: {100_000_000 + i}\n"
            for i in range(20))
        tail = "router_settings:\n  routing_strategy: usage-based-routing-v2\n"
    else:
        deps = ("  - model_name: demo\n"
                "    litellm_params:\n"
                "      model: openai/bench\n"
                f"      api_base: {base}\n"
                "      api_key: sk-upstream\n")
        tail = ""
        if profile == "tokens":
            # LiteLLM 1.108.7 counts prompt tokens on the request path for the Router's
            # context-window pre-call check, when a deployment declares max_input_tokens.
            deps += "    model_info:\n      max_input_tokens: 128000\n"
            tail = "router_settings:\n  enable_pre_call_checks: true\n"
    gs = f"general_settings:\n  master_key: {KEY}\n"
    if profile == "limits":
        gs += "  custom_auth: custom_auth.user_api_key_auth\n"
    return head + deps + gs + "litellm_settings:\n  num_retries: 0\n  callbacks: []\n" + tail


APP = {
    "stock": "from litellm.proxy.proxy_server import app  # noqa: F401\n",
    "fast": "import fast_litellm  # noqa: F401\nfrom litellm.proxy.proxy_server import app  # noqa: F401\n",
}


class Proxy:
    def __init__(self, variant: str, python: str, app_kind: str, env_extra: dict, profile: str,
                 mock: Mock, kind: str, workers: int, pin: bool, work: Path) -> None:
        self.variant, self.workers = variant, workers
        d = work / f"{profile}-{kind}-w{workers}-{variant.replace(':', '_')}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "app.py").write_text(APP[app_kind])
        (d / "config.yaml").write_text(config_for(profile, mock, kind))
        (d / "custom_auth.py").write_text(CUSTOM_AUTH)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_LITELLM_")}
        env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "CONFIG_FILE_PATH": str(d / "config.yaml"),
                    "LITELLM_LOG": "ERROR", "PYTHONPATH": str(d)})
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(env_extra)
        self.log = open(d / "proxy.log", "w")
        self.proc = subprocess.Popen(
            [python, "-m", "gunicorn", "app:app", "--preload", "-w", str(workers),
             "-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{self.port}", "--timeout", "300"],
            cwd=d, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pin = pin
        self.dir = d

    def ready(self, timeout: float = 240) -> None:
        wait_http(f"http://127.0.0.1:{self.port}/health/readiness", timeout, proc=self.proc)
        deadline = time.monotonic() + 60
        while len(tree(self.proc.pid)) < 1 + self.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pin:
            for p in tree(self.proc.pid):
                subprocess.run(["taskset", "-a", "-cp", "0", str(p)], capture_output=True)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def startup_line(self) -> str | None:
        for ln in (self.dir / "proxy.log").read_text(errors="replace").splitlines():
            if ln.startswith("fast_litellm: active components = "):
                return ln
        return None

    def pss(self) -> int:
        pids = tree(self.proc.pid)
        return sum(pss_kb(p) for p in pids[1:]) if len(pids) > 1 else pss_kb(pids[0])

    def pause(self) -> None:
        signal_tree(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        signal_tree(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        kill_tree(self.proc)
        self.log.close()


# ---------------------------------------------------------------- load -----------------

LUA = r'''
local keys = {}
local nkeys = tonumber(os.getenv("BENCH_KEYS") or "1")
for i = 1, nkeys do keys[i] = os.getenv("BENCH_KEY_PREFIX") .. (nkeys > 1 and tostring(i) or "") end
local body = os.getenv("BENCH_BODY")
local n = 0
request = function()
  n = n + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. keys[(n % nkeys) + 1]
  return wrk.format("POST", nil, headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
'''

MESSAGES_SHORT = [{"role": "user", "content": "Hello, how are you today?"}]
MESSAGES_LONG = [{"role": "system", "content": "You are a careful assistant. " * 8}] + [
    {"role": "user" if i % 2 == 0 else "assistant",
     "content": f"Turn {i}: " + "please summarise the attached paragraph about latency and throughput. " * 4}
    for i in range(20)]


def body_for(workload: str) -> str:
    msgs = MESSAGES_LONG if workload == "tokens" else MESSAGES_SHORT
    body = {"model": "demo", "messages": msgs}
    if workload == "stream":
        body["stream"] = True
    return json.dumps(body)


def run_wrk(url: str, conc: int, duration: float, body: str, keys: int, script: Path,
            key_prefix: str = KEY) -> dict:
    env = dict(os.environ, BENCH_BODY=body, BENCH_KEYS=str(keys), BENCH_KEY_PREFIX=key_prefix)
    threads = 1 if conc < 8 else 2
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t", str(threads), "-c", str(conc),
                          "-d", f"{max(1, round(duration))}s", "--timeout", "30s", "-s", str(script), url],
                         capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")


def quiesce(pid: int, still: float = 0.2, timeout: float = 15.0) -> float:
    """Wait until the proxy's process tree uses no CPU for ``still`` seconds (it has finished
    the requests wrk abandoned when it stopped, and their logging); its CPU seconds then."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(tree(pid))
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = cpu_seconds(tree(pid))
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= still:
            break
    return last


def measure(proxy: Proxy, mock: Mock, workload: str, conc: int, duration: float, script: Path,
            warmup: float = 1.0) -> dict:
    """One window. CPU per request = the proxy tree's CPU from idle to idle, divided by the
    upstream calls it made in between (nginx's counter): wrk stops with requests in flight,
    which the proxy still finishes (and the warm-up's before the window), so wrk's own count
    would charge a varying number of requests' CPU to the window."""
    keys = 100 if proxy.dir.name.startswith("limits") else 1
    prefix = "sk-client-" if keys > 1 else KEY
    body = body_for(workload)
    if warmup > 0:
        run_wrk(proxy.url(), conc, warmup, body, keys, script, prefix)
    c0 = quiesce(proxy.proc.pid)
    u0 = mock.served()
    w = run_wrk(proxy.url(), conc, duration, body, keys, script, prefix)
    c1 = quiesce(proxy.proc.pid)
    upstream = mock.served() - u0 - 1  # less the second status request
    errors = w["connect"] + w["read"] + w["write"] + w["timeout"]
    ok = max(0, w["requests"] - w["non2xx"])
    sample = None
    if w["non2xx"]:  # show what a failing variant answers
        req = urllib.request.Request(proxy.url(), data=body.encode(), headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {prefix}{'1' if keys > 1 else ''}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                sample = f"{resp.status} {resp.read(300)!r}"
        except urllib.error.HTTPError as err:
            sample = f"{err.code} {err.read(300)!r}"
        except Exception as exc:  # noqa: BLE001
            sample = repr(exc)
    secs = w["duration_us"] / 1e6
    return {"requests": w["requests"], "ok": ok, "non2xx": w["non2xx"], "errors": errors, "upstream": upstream,
            "rps": ok / secs if secs else 0.0,
            "cpu_us_per_req": (c1 - c0) / upstream * 1e6 if ok and upstream > 0 else None,
            "cpu_us_per_ok_wrk": (c1 - c0) / ok * 1e6 if ok else None,
            "p50_us": w["p50"], "p90_us": w["p90"], "p99_us": w["p99"], "pss_kb": proxy.pss(),
            "error_sample": sample}


# ---------------------------------------------------------------- the plan -------------

def plan(quick: bool) -> list[dict]:
    """(profile, upstream body kind, workload, workers, pinned, concurrency levels, variants).

    ``stock`` and ``fast`` run at every point. A component alone (``only:<name>``) runs at
    the point of the profile where it has work to do, and the peer at one point (it fails
    every request): each extra window costs a share of the 15-minute budget."""
    if quick:
        return [{"profile": "standard", "kind": "small", "workload": "chat", "workers": 1, "pin": True,
                 "conc": [8], "extra": {8: ["peer-0.1.10"]}}]
    return [
        {"profile": "standard", "kind": "small", "workload": "chat", "workers": 1, "pin": True, "conc": [1, 8, 32],
         "extra": {8: ["only:otel_seed", "only:rate_limiter", "peer-0.1.10"]}},
        {"profile": "standard", "kind": "large", "workload": "chat", "workers": 1, "pin": True, "conc": [8]},
        {"profile": "standard", "kind": "stream", "workload": "stream", "workers": 1, "pin": True, "conc": [8]},
        {"profile": "limits", "kind": "small", "workload": "chat", "workers": 1, "pin": True, "conc": [8],
         "extra": {8: ["only:rate_limiter"]}},
        {"profile": "router", "kind": "small", "workload": "chat", "workers": 1, "pin": True, "conc": [8],
         "extra": {8: ["only:routing"]}},
        {"profile": "tokens", "kind": "small", "workload": "tokens", "workers": 1, "pin": True, "conc": [8],
         "extra": {8: ["only:token_counter", "only:batch_token_counting"]}},
        {"profile": "standard", "kind": "small", "workload": "chat", "workers": 2, "pin": False, "conc": [8],
         "extra": {8: ["only:gc_freeze"]}},
    ]


def step_variants(step: dict, conc: int | None = None) -> set[str]:
    """The variants measured at one point of a step (every point when conc is None)."""
    extra = step.get("extra", {})
    names = {"stock", "fast"}
    for c, vs in extra.items():
        if conc is None or c == conc:
            names.update(vs)
    return names


def variants(include_peer: bool) -> tuple[list[tuple[str, str, str, dict]], dict]:
    """(name, python, app kind, env) for every variant; and notes."""
    sys.path.insert(0, str(ROOT / "src"))
    from fast_litellm.components import BUILTIN

    out = [("stock", sys.executable, "stock", {}), ("fast", sys.executable, "fast", {})]
    for comp in BUILTIN:
        env = {f"FAST_LITELLM_{c.upper()}": "false" for c in BUILTIN if c != comp}
        out.append((f"only:{comp}", sys.executable, "fast", env))
    notes = {"components": list(BUILTIN)}
    if include_peer:
        py, info = ensure_peer()
        notes["peer"] = info
        if py:
            out.append(("peer-0.1.10", py, "fast", {}))
    return out, notes


def bracket_ratio(r: dict, stock: list[dict]) -> float | None:
    """r's CPU per request over the mean of the stock windows measured just before and just
    after it at the same point (one of them at the ends of the run)."""
    before = [s for s in stock if s["seq"] < r["seq"] and s.get("cpu_us_per_req")]
    after = [s for s in stock if s["seq"] > r["seq"] and s.get("cpu_us_per_req")]
    near = ([before[-1]] if before else []) + ([after[0]] if after else [])
    if not near or not r.get("cpu_us_per_req"):
        return None
    return r["cpu_us_per_req"] / (sum(s["cpu_us_per_req"] for s in near) / len(near))


def summarise(runs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["profile"], r["kind"], r["workers"], r["conc"], r["variant"]), []).append(r)
    out = []
    for key, rs in groups.items():
        def stat(field):
            vals = [r[field] for r in rs if r.get(field) is not None]
            return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)} if vals else None
        stock = sorted(groups.get(key[:4] + ("stock",), []), key=lambda s: s["seq"])
        ratios = [x for x in (bracket_ratio(r, stock) for r in rs) if x is not None] if key[4] != "stock" else \
            [1.0 for r in rs if r.get("cpu_us_per_req")]
        out.append({"profile": key[0], "kind": key[1], "workers": key[2], "conc": key[3], "variant": key[4],
                    "rounds": len(rs), "cpu_us_per_req": stat("cpu_us_per_req"), "rps": stat("rps"),
                    "p50_us": stat("p50_us"), "p99_us": stat("p99_us"), "added_p50_us": stat("added_p50_us"),
                    "pss_kb": stat("pss_kb"), "errors": sum(r["errors"] + r["non2xx"] for r in rs),
                    "requests": sum(r["requests"] for r in rs),
                    "error_sample": next((r["error_sample"] for r in rs if r.get("error_sample")), None),
                    "cpu_ratio_to_stock": ({"median": statistics.median(ratios), "min": min(ratios),
                                            "max": max(ratios), "n": len(ratios),
                                            "q1": _quantile(ratios, 0.25), "q3": _quantile(ratios, 0.75)}
                                           if ratios else None)})
    return out


def _quantile(vals: list[float], q: float) -> float:
    v = sorted(vals)
    if len(v) == 1:
        return v[0]
    return statistics.quantiles(v, n=4, method="inclusive")[{0.25: 0, 0.75: 2}[q]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds measured per window")
    ap.add_argument("--warmup", type=float, default=3.0,
                    help="seconds of load on each proxy before its first window at a point")
    ap.add_argument("--window-warmup", type=float, default=0.0,
                    help="seconds of load before every window (0: none; windows are measured idle to idle)")
    ap.add_argument("--quick", action="store_true", help="one profile, one concurrency (smoke run)")
    ap.add_argument("--no-peer", action="store_true", help="skip the published peer fast-litellm 0.1.10")
    ap.add_argument("--out", help="result file (default bench/results/<date>-<sha>.json)")
    ap.add_argument("--profile", action="append",
                    help="run only the plan steps of this profile (repeatable): standard, limits, router, tokens")
    ap.add_argument("--variant", action="append",
                    help="run only this variant (repeatable): stock, fast, only:<component>, peer-0.1.10")
    args = ap.parse_args(argv)

    ensure_debian_tools()
    t_start = time.monotonic()
    meta = machine()
    vs, notes = variants(not args.no_peer and (not args.variant or "peer-0.1.10" in args.variant))
    if args.variant:
        unknown = set(args.variant) - {v[0] for v in vs}
        if unknown:
            ap.error(f"unknown variant(s): {sorted(unknown)}")
        vs = [v for v in vs if v[0] in args.variant]
    work = Path(tempfile.mkdtemp(prefix="fl-bench-"))
    script = work / "post.lua"
    script.write_text(LUA)
    mock = Mock(work)
    runs: list[dict] = []
    mock_direct: dict = {}
    startup: dict = {}
    try:
        steps = [st for st in plan(args.quick) if not args.profile or st["profile"] in args.profile]
        if not steps:
            ap.error(f"no plan step for profile(s) {args.profile}")
        for step in steps:
            label = f"{step['profile']}/{step['kind']}/w{step['workers']}"
            for conc in step["conc"]:
                key = f"{step['kind']}/{step['workload']}/c{conc}"
                if key not in mock_direct:
                    m = run_wrk(mock.base(step["kind"]) + "/chat/completions", conc, 3.0,
                                body_for(step["workload"]), 1, script)
                    mock_direct[key] = {"rps": m["requests"] / (m["duration_us"] / 1e6), "p50_us": m["p50"],
                                        "p99_us": m["p99"], "non2xx": m["non2xx"]}
            step_vs = [v for v in vs if v[0] in step_variants(step)]
            print(f"bench: starting {len(step_vs)} proxies for {label}", file=sys.stderr, flush=True)
            proxies = [Proxy(name, py, app, env, step["profile"], mock, step["kind"], step["workers"],
                             step["pin"], work) for name, py, app, env in step_vs]
            try:
                for p in proxies:
                    p.ready()
                    startup[f"{label}/{p.variant}"] = p.startup_line()
                    p.pause()
                for rnd in range(args.rounds):
                    for conc in step["conc"]:
                        # stock, then every other variant with stock between them (rotated
                        # each round): each window's ratio is taken against the stock windows
                        # just before and after it (this machine's speed drifts by tens of
                        # per cent within a minute)
                        stock = [p for p in proxies if p.variant == "stock"]
                        others = [p for p in proxies if p.variant != "stock" and p.variant in step_variants(step, conc)]
                        others = others[rnd % len(others):] + others[:rnd % len(others)] if others else []
                        order = [x for o in others for x in stock + [o]] or stock
                        for p in order:
                            p.resume()
                            r = measure(p, mock, step["workload"], conc, args.duration, script,
                                        args.warmup if rnd == 0 else args.window_warmup)
                            p.pause()
                            direct = mock_direct[f"{step['kind']}/{step['workload']}/c{conc}"]
                            r.update({"profile": step["profile"], "kind": step["kind"], "workers": step["workers"],
                                      "conc": conc, "variant": p.variant, "round": rnd, "seq": len(runs),
                                      "added_p50_us": r["p50_us"] - direct["p50_us"]})
                            runs.append(r)
                            cpu = r["cpu_us_per_req"]
                            print(f"bench: {label} c={conc} round {rnd} {p.variant:>12}: "
                                  f"{cpu if cpu is None else round(cpu)} us/req, {r['rps']:.1f} req/s, "
                                  f"p50 {r['p50_us'] / 1000:.1f} ms, errors {r['errors'] + r['non2xx']}",
                                  file=sys.stderr, flush=True)
            finally:
                for p in proxies:
                    p.stop()
    finally:
        mock.stop()
        shutil.rmtree(work, ignore_errors=True)

    bad = sorted({f"{r['profile']}/{r['kind']}/w{r['workers']}/c{r['conc']}" for r in runs
                  if r["variant"] == "stock" and (r["errors"] or r["non2xx"])})
    if bad:
        print(f"bench: WARNING: the stock baseline had errors in {bad}: those points are not valid",
              file=sys.stderr)
    summary = summarise(runs)
    for s in summary:
        d = mock_direct.get(f"{s['kind']}/{'stream' if s['kind'] == 'stream' else ('tokens' if s['profile'] == 'tokens' else 'chat')}/c{s['conc']}")
        if d and s["rps"] and s["rps"]["median"] > 0:
            s["mock_speedup"] = d["rps"] / s["rps"]["median"]
    result = {"meta": {**meta, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       "rounds": args.rounds, "duration_s": args.duration, "quick": args.quick,
                       "profiles": args.profile, "variants": args.variant,
                       "elapsed_s": round(time.monotonic() - t_start), **notes, "stock_errors": bad,
                       "mock_body_bytes": mock.sizes, "startup_lines": startup},
              "mock_direct": mock_direct, "runs": runs, "summary": summary}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / (
        f"{_dt.date.today().isoformat()}-{meta['commit']}{'-quick' if args.quick else ''}"
        f"{'-partial' if args.profile or args.variant else ''}.json")
    out.write_text(json.dumps(result, indent=1))
    print(f"bench: wrote {out} ({result['meta']['elapsed_s']} s)", file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
