"""Run the component micro-benchmarks with pyperf and print a Markdown summary.

    .venv/bin/python bench/micro/run.py [--fast] [--only tokens|routing|ratelimit ...]

Writes bench/results/micro-<name>.json (pyperf JSON, one suite per script),
micro-tokens-check.txt (inputs and token counts), micro-ratelimit-memory.json (tracemalloc step)
and micro-summary.md, which covers every result file present (--only reruns some of them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyperf

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
SCRIPTS = {"tokens": "bench_tokens.py", "routing": "bench_routing.py", "ratelimit": "bench_ratelimit.py"}
# --fast: one worker process (plus pyperf's calibration process) and 3 values per benchmark.
# pyperf's own --fast still spawns 3 workers, and each worker re-imports litellm (seconds).
FAST_ARGS = ["--processes", "1", "--values", "3"]


def mb_per_s(input_bytes: int, mean_seconds: float) -> float:
    """Throughput in MB/s (10**6 bytes per second) from pyperf's mean seconds per call."""
    return input_bytes / mean_seconds / 1e6


def run_pyperf(name: str, extra: list[str], env: dict[str, str]) -> Path:
    out = RESULTS / f"micro-{name}.json"
    tmp = RESULTS / f"micro-{name}.json.tmp"  # pyperf refuses to overwrite; publish only on success
    tmp.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / SCRIPTS[name]), "--quiet", "-o", str(tmp), *extra]
    print(f"## {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, env=env)
    os.replace(tmp, out)
    return out


def table(path: Path) -> list[str]:
    suite = pyperf.BenchmarkSuite.load(str(path))
    start, end = suite.get_dates() or (None, None)
    rows = [f"`{path.name}`, run {start:%Y-%m-%d %H:%M} to {end:%H:%M} (local time)." if start else f"`{path.name}`", ""]
    rows += ["| benchmark | mean ± std (µs) | MB/s | values |", "|---|---:|---:|---:|"]
    for bench in suite.get_benchmarks():
        mean, std = bench.mean(), (bench.stdev() if bench.get_nvalue() > 1 else 0.0)
        noisy = " (!)" if std > 0.1 * mean else ""
        input_bytes = bench.get_metadata().get("input_bytes")
        rate = f"{mb_per_s(input_bytes, mean):.1f}" if input_bytes else ""
        rows.append(f"| {bench.get_name()} | {mean * 1e6:,.1f} ± {std * 1e6:,.1f}{noisy} | {rate} | {bench.get_nvalue()} |")
    return rows


def memory_tables(report: dict) -> list[str]:
    rows = [
        f"Memory per descriptor (`micro-ratelimit-memory.json`, {report.get('date', '?')}"
        f"{', --fast' if report.get('fast') else ''}; "
        "tracemalloc, one request per key, not pyperf):",
        "",
        "| descriptors/key | keys | cache | entries | entries/descriptor | retained bytes | bytes/descriptor |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for m in report["memory"]:
        rows.append(
            f"| {m['descriptors_per_key']} | {m['keys']:,} | {m['cache']} | {m['cache_entries']:,} | "
            f"{m['entries_per_descriptor']} | {m['retained_bytes']:,} | {m['bytes_per_descriptor']} |"
        )
    rows += ["", "Enforcement probe (rpm_limit=3 per key, 10 requests per key, round-robin, proxy default cache):", "",
             "| descriptors/key | keys | requests | 429s | 429s expected | cache entries |", "|---:|---:|---:|---:|---:|---:|"]
    for e in report["enforcement"]:
        rows.append(
            f"| {e['descriptors_per_key']} | {e['keys']} | {e['requests']} | {e['rejected_429']} | "
            f"{e['expected_429']} | {e['cache_entries']} |"
        )
    return rows


def run(name: str, fast: bool, env: dict[str, str]) -> None:
    extra = list(FAST_ARGS) if fast else []
    script = str(HERE / SCRIPTS[name])
    if name == "tokens":
        check = subprocess.run([sys.executable, script, "--check"], env=env, check=True, capture_output=True, text=True)
        (RESULTS / "micro-tokens-check.txt").write_text(check.stdout)
        if rust_status(check.stdout) != "ok":  # pyperf workers get a clean environment unless told to inherit
            env = {**env, "MICRO_SKIP_RUST_TOKENIZER": "1"}
            extra += ["--inherit-environ", "MICRO_SKIP_RUST_TOKENIZER"]
    run_pyperf(name, extra, env)
    if name == "ratelimit":
        cmd = [sys.executable, script, "--memory", *(["--fast"] if fast else [])]
        print(f"## ratelimit memory: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        report = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
        report = {"date": datetime.now().isoformat(timespec="minutes"), "fast": fast, **report}
        (RESULTS / "micro-ratelimit-memory.json").write_text(json.dumps(report, indent=2) + "\n")


def rust_status(check_output: str) -> str:
    prefix = "litellm-rust Tokenizer:"
    return next((line[len(prefix):].strip() for line in check_output.splitlines() if line.startswith(prefix)), "?")


def summary() -> str:
    """The summary of every result file present, whichever run wrote it (each table names its file and date)."""
    lines = [f"# Micro-benchmarks (python {sys.version.split()[0]})", "",
             "Mean ± std of pyperf values; `(!)`: std above 10% of the mean. A `values` count of 3 is a "
             "`--fast` run (quick, noisy).", ""]
    for name in SCRIPTS:
        path = RESULTS / f"micro-{name}.json"
        if not path.exists():
            continue
        lines += [f"## {name}", ""]
        check = RESULTS / "micro-tokens-check.txt"
        if name == "tokens" and check.exists():
            text = check.read_text()
            lines += ["Inputs and counts (`bench_tokens.py --check`):", "", "```", text.strip(), "```", ""]
            if rust_status(text) != "ok":
                lines += [f"LiteLLM's Rust Tokenizer was not benchmarked: {rust_status(text)}", ""]
        lines += table(path) + [""]
        memory = RESULTS / "micro-ratelimit-memory.json"
        if name == "ratelimit" and memory.exists():
            lines += memory_tables(json.loads(memory.read_text())) + [""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="quick, noisy pass: " + " ".join(FAST_ARGS))
    parser.add_argument("--only", action="append", choices=sorted(SCRIPTS), help="run only these (repeatable)")
    parser.add_argument("--summary-only", action="store_true", help="rebuild the summary from bench/results")
    args = parser.parse_args()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        for name in args.only or list(SCRIPTS):
            run(name, args.fast, env)
    text = summary()
    (RESULTS / "micro-summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
