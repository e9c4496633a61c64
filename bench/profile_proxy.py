#!/usr/bin/env python3
"""Where the stock proxy's CPU goes: py-spy under load, grouped by LiteLLM subsystem.

    python bench/profile_proxy.py [--duration 20] [--profiles standard,limits,router,tokens]

For each configuration profile of bench/proxy_bench.py, the stock proxy (one worker,
pinned to CPU 0) is loaded by wrk at concurrency 8 while py-spy samples the worker
(GIL-holding samples only, `--gil`). Stacks are attributed to subsystems by the file of
their frames; the report gives the top functions by self and by total time, the share of
each subsystem (inclusive: a sample counts for every subsystem on its stack), and the CPU
per request that replacing the subsystem could remove at most (the share charged to it
times the measured CPU per request). Writes docs/PROFILE.md and bench/results/profile-*.txt.
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_bench as pb  # noqa: E402

DOC = pb.ROOT / "docs" / "PROFILE.md"
PYSPY = "py-spy"
FINDINGS = "<!-- findings: written by hand, kept when the tables above are regenerated -->"

# (subsystem, regex on the frame's file path). First match wins for "self" attribution.
SUBSYSTEMS = [
    ("imports at request time", r"importlib\._bootstrap|<frozen importlib"),
    ("rate limiter", r"litellm/proxy/hooks/parallel_request_limiter|litellm/proxy/hooks/.*rate_limit"),
    ("token counting", r"token_counter|tiktoken|litellm/litellm_core_utils/tokenizers"),
    ("auth", r"litellm/proxy/auth/"),
    ("router", r"litellm/router\.py|litellm/router_utils/|litellm/router_strategy/"),
    ("cost", r"cost_calculator|litellm/litellm_core_utils/llm_cost_calc"),
    ("model info / function_setup", r"get_model_info|function_setup|litellm/utils\.py"),
    ("logging & callbacks", r"litellm_logging|litellm/integrations/|logging_callback|litellm/_logging|"
                            r"proxy/hooks/|litellm/proxy/utils\.py|/logging/"),
    ("response conversion", r"llm_response_utils|convert_dict_to_response|streaming_handler|"
                            r"litellm/types/utils\.py"),
    ("upstream call (OpenAI SDK, httpx, aiohttp)", r"/openai/|/httpx/|/httpcore/|/aiohttp/|"
                                                  r"litellm/llms/|http_handler"),
    ("middlewares (ASGI)", r"litellm/proxy/middleware/|starlette/middleware|/starlette/|/fastapi/"),
    ("proxy request handling", r"litellm/proxy/"),
    ("litellm core (main, completion)", r"litellm/main\.py|litellm/litellm_core_utils/"),
    ("pydantic", r"/pydantic/|pydantic_core"),
    ("asyncio / uvicorn / uvloop", r"asyncio|uvicorn|uvloop|/h11/"),
    ("json / orjson", r"json"),
]
COMPILED = [(n, re.compile(p)) for n, p in SUBSYSTEMS]
# library layers that do work on behalf of their caller: a sample in them is attributed to the
# innermost frame of a named subsystem above them
GENERIC = {"other", "asyncio / uvicorn / uvloop", "pydantic", "json / orjson"}
BASE = re.compile(r"gunicorn/|uvicorn/|asyncio/|runpy|starlette/|fastapi/|_compat\.py|"
                  r"middleware|_exception_handler|anyio/")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def subsystem(path: str) -> str:
    for name, rx in COMPILED:
        if rx.search(path):
            return name
    return "other"


def parse(raw: str):
    stacks = []
    for line in raw.splitlines():
        line = line.strip()
        if not line or " " not in line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        frames = []
        for fr in stack.split(";"):
            m = FRAME.match(fr)
            frames.append((m.group("func"), m.group("file")) if m else (fr, ""))
        stacks.append((frames, n))
    return stacks


def attribute(frames) -> str:
    """The subsystem a sample is charged to: its innermost frame outside the generic layers."""
    for _, path in reversed(frames):
        s = subsystem(path)
        if s not in GENERIC:
            return s
    return "event loop, server, other"


def analyse(stacks):
    total = sum(n for _, n in stacks)
    self_fn, total_fn = collections.Counter(), collections.Counter()
    charged, sub_incl = collections.Counter(), collections.Counter()
    pyd = 0
    for frames, n in stacks:
        if not frames:
            continue
        leaf = frames[-1]
        self_fn[f"{leaf[0]} ({short(leaf[1])})"] += n
        charged[attribute(frames)] += n
        for key in {f"{f} ({short(p)})" for f, p in frames if not BASE.search(p) and "frozen" not in p}:
            total_fn[key] += n
        for s in {subsystem(p) for _, p in frames} - GENERIC:
            sub_incl[s] += n
        if any("pydantic" in p for _, p in frames):
            pyd += n
    return total, self_fn, total_fn, charged, sub_incl, pyd


def short(path: str) -> str:
    i = path.find("site-packages/")
    return path[i + len("site-packages/"):] if i >= 0 else path


def profile_one(profile: str, duration: float, mock, work: Path, script: Path, variant: str = "stock") -> dict:
    kind = "small"
    workload = "tokens" if profile == "tokens" else "chat"
    app = "stock" if variant == "stock" else "fast"
    proxy = pb.Proxy(variant, sys.executable, app, {}, profile, mock, kind, 1, True, work)
    try:
        proxy.ready()
        body = pb.body_for(workload)
        keys = 100 if profile == "limits" else 1
        prefix = "sk-client-" if keys > 1 else pb.KEY
        pb.run_wrk(proxy.url(), 8, 3.0, body, keys, script, prefix)  # warm-up
        worker = pb.tree(proxy.proc.pid)[-1]
        raw = work / f"{profile}.txt"
        spy = subprocess.Popen([PYSPY, "record", "--pid", str(worker), "--duration", str(int(duration)),
                                "--rate", "200", "--gil", "--full-filenames", "--format", "raw", "--output", str(raw), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        result = {}

        def load():
            c0 = pb.cpu_seconds(pb.tree(proxy.proc.pid))
            w = pb.run_wrk(proxy.url(), 8, duration, body, keys, script, prefix)
            c1 = pb.cpu_seconds(pb.tree(proxy.proc.pid))
            ok = w["requests"] - w["non2xx"]
            result.update(ok=ok, cpu_us=(c1 - c0) / ok * 1e6 if ok else None, rps=ok / (w["duration_us"] / 1e6))

        t = threading.Thread(target=load)
        t.start()
        t.join()
        spy.wait(60)
        text = raw.read_text() if raw.exists() else ""
        dest = pb.RESULTS / (f"profile-{profile}.txt" if variant == "stock" else f"profile-{variant}-{profile}.txt")
        pb.RESULTS.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        result["stacks"] = parse(text)
        result["raw"] = dest
        return result
    finally:
        proxy.stop()


def section(profile: str, res: dict) -> list[str]:
    total, self_fn, total_fn, charged, sub_incl, pyd = analyse(res["stacks"])
    cpu = res["cpu_us"]
    out = [f"## `{profile}`", "",
           f"{res['ok']} requests at concurrency 8, {res['rps']:.1f} requests/s, "
           f"**{cpu:.0f} µs of CPU per request** (proxy process tree, /proc); {total} GIL-holding samples "
           f"(`{res['raw'].relative_to(pb.ROOT)}`).", "",
           "| subsystem | charged share | at most removable, µs / request | inclusive share |",
           "|---|---:|---:|---:|"]
    for name, n in charged.most_common():
        incl = f"{100 * sub_incl[name] / total:.1f} %" if name in sub_incl else ""
        out.append(f"| {name} | {100 * n / total:.1f} % | {cpu * n / total:.0f} | {incl} |")
    out.append(f"| *pydantic, anywhere on the stack* | | {cpu * pyd / total:.0f} | {100 * pyd / total:.1f} % |")
    out += ["", "Top functions by self time:", "", "| function | self |", "|---|---:|"]
    out += [f"| `{k}` | {100 * n / total:.1f} % |" for k, n in self_fn.most_common(15)]
    out += ["", "Top functions by total time (server, event-loop, ASGI and middleware frames left out):",
            "", "| function | total |", "|---|---:|"]
    out += [f"| `{k}` | {100 * n / total:.1f} % |" for k, n in total_fn.most_common(25)]
    return out + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--profiles", default="standard,limits,router,tokens")
    ap.add_argument("--variant", default="stock", choices=["stock", "fast"],
                    help="profile stock LiteLLM (docs/PROFILE.md) or fast_litellm with every component "
                         "(docs/PROFILE-fast.md)")
    args = ap.parse_args(argv)
    global PYSPY
    PYSPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not PYSPY:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
        PYSPY = str(Path(sys.executable).parent / "py-spy")
    pb.ensure_debian_tools()
    meta = pb.machine()
    work = Path(tempfile.mkdtemp(prefix="fl-profile-"))
    script = work / "post.lua"
    script.write_text(pb.LUA)
    mock = pb.Mock(work)
    who = "stock LiteLLM proxy" if args.variant == "stock" else "LiteLLM proxy with fast_litellm (every component)"
    lines = [f"# Where the {who} spends its CPU", "",
             f"Generated by `python bench/profile_proxy.py --duration {args.duration:g}"
             f"{'' if args.variant == 'stock' else ' --variant ' + args.variant}` on "
             f"{_dt.date.today().isoformat()}: litellm {meta['litellm']}, Python {meta['python']}, "
             f"{meta['cpu']} ({meta['cores']} cores), commit `{meta['commit']}`.", "",
             f"Method: the {args.variant} proxy (gunicorn --preload, one UvicornWorker pinned to CPU 0; nginx mock and "
             "wrk on CPU 1, concurrency 8) under load; `py-spy record --gil --rate 200` on the worker. "
             "Each frame is named by a subsystem, matched by file path in the order of the table in "
             "`bench/profile_proxy.py`. A sample is *charged* to the innermost frame on its stack that "
             "belongs to a named subsystem (time in pydantic, json or asyncio is charged to the "
             "subsystem that called them); the *inclusive* share counts a sample for every subsystem on "
             "its stack. \"At most removable\" is the charged share times the CPU per request: what a "
             "replacement of that subsystem costing nothing would save, an upper bound. Samples are GIL-holding only, so time in C "
             "code that releases the GIL and in the kernel is under-counted; the CPU per request "
             "figure is not.", ""]
    try:
        for profile in args.profiles.split(","):
            print(f"profile: {profile}", file=sys.stderr, flush=True)
            lines += section(profile, profile_one(profile, args.duration, mock, work, script, args.variant))
    finally:
        mock.stop()
        shutil.rmtree(work, ignore_errors=True)
    doc = DOC if args.variant == "stock" else DOC.with_name("PROFILE-fast.md")
    doc.parent.mkdir(exist_ok=True)
    keep = ""
    if doc.exists() and FINDINGS in doc.read_text():
        keep = doc.read_text().split(FINDINGS, 1)[1]  # hand-written findings survive a re-run
    doc.write_text("\n".join(lines) + "\n" + FINDINGS + keep)
    print(f"profile: wrote {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
