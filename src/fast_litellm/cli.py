"""``fast-litellm``: run the accelerated proxy, a demo, and diagnose a deployment.

    fast-litellm proxy --config FILE [--host H] [--port 4000] [--workers N]
    fast-litellm proxy --demo [--master-key sk-demo] [--port 4000]
    fast-litellm doctor [MODULE[:ATTR]]
    fast-litellm status
    fast-litellm bench [--quick] [--rounds N] [--no-peer]   (from a source checkout)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

DEMO_CONFIG = """\
# Written by `fast-litellm proxy --demo`: one model, `demo`, served by the bundled mock upstream.
model_list:
  - model_name: demo
    litellm_params:
      model: openai/demo
      api_base: http://127.0.0.1:{port}/v1
      api_key: sk-mock-upstream
general_settings:
  master_key: {master_key}
litellm_settings:
  num_retries: 0
"""


def gunicorn_argv(host: str, port: int, workers: int, extra: list[str] | None = None) -> list[str]:
    """The deployment guide's command: gunicorn --preload with UvicornWorker."""
    return [
        sys.executable, "-m", "gunicorn", "fast_litellm.app:app",
        "--preload",
        "-w", str(workers),
        "-k", "uvicorn.workers.UvicornWorker",
        "-b", f"{host}:{port}",
        "--timeout", "120",
        *(extra or []),
    ]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    return False


def _start_mock(workdir: str) -> tuple[subprocess.Popen, int]:
    ready = os.path.join(workdir, "mock.port")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fast_litellm.mock_upstream", "--port", "0", "--ready-file", ready],
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(ready):
            with open(ready) as fh:
                return proc, int(fh.read())
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("fast-litellm: the mock upstream did not start")


def cmd_proxy(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    workdir = tempfile.mkdtemp(prefix="fast-litellm-")
    if args.demo:
        env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the demo needs no network
        mock, mock_port = _start_mock(workdir)
        children.append(mock)
        config = os.path.join(workdir, "demo-config.yaml")
        with open(config, "w") as fh:
            fh.write(DEMO_CONFIG.format(port=mock_port, master_key=args.master_key))
        workers = args.workers or 2
    else:
        if not args.config:
            print("fast-litellm proxy: --config FILE or --demo is required", file=sys.stderr)
            return 2
        config = os.path.abspath(args.config)
        if not os.path.isfile(config):
            print(f"fast-litellm proxy: no such config file: {config}", file=sys.stderr)
            return 2
        workers = args.workers or 2 * (os.cpu_count() or 1)
    env["CONFIG_FILE_PATH"] = config
    env.pop("WORKER_CONFIG", None)
    argv = gunicorn_argv(args.host, args.port, workers)
    print("fast-litellm: " + " ".join(argv[1:]), file=sys.stderr, flush=True)
    server = subprocess.Popen(argv, env=env)
    children.append(server)

    def stop(signum, _frame):
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM if signum != signal.SIGINT else signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        base = f"http://{host}:{args.port}"
        if args.demo:
            if _wait_ready(base + "/health/readiness", server, 180):
                print(
                    "\nfast-litellm: the demo proxy is ready. Try:\n\n"
                    f"  curl {base}/v1/chat/completions \\\n"
                    f"    -H 'Authorization: Bearer {args.master_key}' \\\n"
                    "    -H 'Content-Type: application/json' \\\n"
                    "    -d '{\"model\": \"demo\", \"messages\": "
                    "[{\"role\": \"user\", \"content\": \"Hello\"}]}'\n",
                    flush=True,
                )
        return server.wait()
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()


def doctor_report(target: str, cwd: str | None = None, env: dict | None = None) -> tuple[int, list[str]]:
    """Import ``target`` as gunicorn would, in a fresh interpreter; (exit code, report lines).

    Exit codes: 0 accelerated with the right import order; 1 accelerated, but litellm was
    imported before fast_litellm (the trap, closed by patching every import site);
    2 not accelerated (fast_litellm not imported, no active component, or import error).
    """
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Run the probe by path, not with -m: -m would import the fast_litellm package first.
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_doctor_probe.py")
    code_line = (f"import sys; sys.argv[1:] = [{target!r}]; p = {probe!r}; "
                 "g = {'__name__': '__main__', '__file__': p}; "
                 "exec(compile(open(p).read(), p, 'exec'), g)")
    proc = subprocess.run(
        [sys.executable, "-c", code_line],
        cwd=cwd, env=run_env, capture_output=True, text=True, timeout=300,
    )
    report = None
    for line in proc.stdout.splitlines():
        if line.startswith("FAST_LITELLM_DOCTOR "):
            report = json.loads(line[len("FAST_LITELLM_DOCTOR "):])
    out: list[str] = [f"fast-litellm doctor: {target}"]
    if report is None:
        out.append("  could not import it:")
        out.extend("    " + ln for ln in (proc.stderr or proc.stdout).splitlines()[-15:])
        return 2, out
    if "error" in report:
        out.append(f"  import failed: {report['error']}")
        return 2, out
    order = [e["module"] for e in report["events"]]
    by = {e["module"]: e["by"] for e in report["events"]}
    code = 0
    if "fast_litellm" not in order:
        out.append("  fast_litellm is never imported: the proxy runs unaccelerated.")
        out.append("  Fix: make the app module's first line `import fast_litellm`.")
        return 2, out
    lit = by.get("litellm")
    where = f"{lit['file']}:{lit['line']} (module {lit['module']})" if lit else "unknown"
    if "litellm" in order and order.index("litellm") < order.index("fast_litellm"):
        code = 1
        out.append(f"  IMPORT ORDER TRAP: litellm was imported before fast_litellm, by {where}.")
        out.append("  fast_litellm patched every import site already loaded, but fix the order:")
        out.append("  import fast_litellm before anything that imports litellm (often a package "
                   "__init__.py).")
    else:
        out.append("  import order: fast_litellm before litellm (good)")
        if lit:
            out.append(f"  litellm first imported by {where}")
    active = report.get("active", [])
    out.append(f"  fast_litellm: active components = {active!r}")
    for name, st in sorted(report.get("status", {}).items()):
        flag = st.get("flag") or "default"
        extra = f" ({st['reason']})" if st.get("reason") else ""
        out.append(f"    {name}: state={st['state']} mode={st['mode']} flag={flag}{extra}")
    if not active:
        out.append("  no component is active: the proxy runs unaccelerated.")
        code = 2
    return code, out


def cmd_doctor(args: argparse.Namespace) -> int:
    code, lines = doctor_report(args.module)
    print("\n".join(lines))
    return code


def cmd_status(_args: argparse.Namespace) -> int:
    import fast_litellm

    print(json.dumps(fast_litellm.status(), indent=2, sort_keys=True))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the end-to-end benchmark of a source checkout (bench/ is not installed)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.getcwd(), os.path.abspath(os.path.join(here, "..", ".."))):
        script = os.path.join(root, "bench", "proxy_bench.py")
        if os.path.isfile(script):
            rc = subprocess.call([sys.executable, script, *args.bench_args])
            if rc == 0:
                rc = subprocess.call([sys.executable, os.path.join(root, "bench", "report.py")])
            return rc
    print("fast-litellm bench: needs a source checkout of fast-litellm (bench/proxy_bench.py); "
          "run it from the checkout's root", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fast-litellm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("proxy", help="run the accelerated LiteLLM proxy (gunicorn --preload)")
    p.add_argument("--config", help="LiteLLM proxy config.yaml")
    p.add_argument("--demo", action="store_true",
                   help="no config, no provider key: a bundled mock upstream serves model 'demo'")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=4000)
    p.add_argument("--workers", type=int, default=0,
                   help="gunicorn workers (default: 2 per CPU; 2 with --demo)")
    p.add_argument("--master-key", default="sk-demo", help="demo master key (default sk-demo)")
    p.set_defaults(func=cmd_proxy)
    d = sub.add_parser("doctor", help="check import order and active components of an app module")
    d.add_argument("module", nargs="?", default="fast_litellm.app:app",
                   help="the gunicorn app, MODULE[:ATTR] (default fast_litellm.app:app)")
    d.set_defaults(func=cmd_doctor)
    b = sub.add_parser("bench", help="end-to-end A/B proxy benchmark (source checkout); "
                                     "arguments go to bench/proxy_bench.py")
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    s = sub.add_parser("status", help="components and flags as this environment resolves them")
    s.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
