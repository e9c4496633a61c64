#!/usr/bin/env python3
"""Turn a proxy_bench.py result into PNG plots and the tables of BENCHMARKS.md.

    python bench/report.py [RESULT.json]      (default: the newest full result)

Only figures present in the JSON are written; the tables sit between the markers
<!-- bench:begin --> and <!-- bench:end --> in BENCHMARKS.md, the rest of the file is prose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def newest() -> Path:
    # proxy runs are named <date>-<sha>.json; micro-, tokens-ab-, ratelimit-ab- and the
    # -quick / -partial runs are not full proxy results
    files = sorted(p for p in RESULTS.glob("*.json")
                   if p.name[:1].isdigit() and "-quick" not in p.name and "-partial" not in p.name)
    if not files:
        raise SystemExit("report: no result in bench/results (run make bench)")
    return max(files, key=lambda p: p.stat().st_mtime)


def fmt(stat, scale=1.0, digits=0):
    if not stat:
        return "–"
    f = f"{{:.{digits}f}}"
    iqr = f" [{f.format(stat['q1'] / scale)}–{f.format(stat['q3'] / scale)}]" if "q1" in stat else ""
    return (f"{f.format(stat['median'] / scale)}{iqr} "
            f"({f.format(stat['min'] / scale)}–{f.format(stat['max'] / scale)})")


def label(s) -> str:
    w = f", {s['workers']} workers" if s["workers"] > 1 else ""
    kind = {"small": "400 B body", "large": "8 KB body", "stream": "SSE stream"}[s["kind"]]
    return f"{s['profile']} ({kind}{w})"


def tables(res: dict, src: Path) -> str:
    m = res["meta"]
    rows = sorted(res["summary"], key=lambda s: (s["workers"], s["profile"] != "standard", s["profile"],
                                                 s["kind"], s["conc"], s["variant"] != "stock", s["variant"]))
    out = [
        f"Run: `{src.relative_to(ROOT)}`: {m['date']}, commit `{m['commit']}`, litellm {m['litellm']}, "
        f"fast-litellm {m['fast_litellm']}, Python {m['python']}, {m['cpu']} ({m['cores']} cores), "
        f"{m['rounds']} interleaved rounds × {m['duration_s']:g} s per window, {m['elapsed_s']} s in all.",
        "",
        f"Built-in components at this commit: {m.get('components') or 'none'}. "
        f"Peer: {m.get('peer', 'not run')}.",
        "",
        "Medians over rounds, with (min–max). CPU per request is the proxy's process-tree CPU from idle "
        "to idle over the upstream calls it made (nginx's counter). The ratio divides each window's "
        "CPU per request by that of the stock windows measured just before and just after it; "
        "it is given as median [interquartile range] (min–max); below 1 means less CPU than stock.",
        "",
        "| configuration | conc. | variant | CPU µs / request | ratio to stock | requests/s | p50 ms | p99 ms "
        "| added p50 ms | errors | worker PSS MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in rows:
        out.append(
            f"| {label(s)} | {s['conc']} | {s['variant']} | {fmt(s['cpu_us_per_req'])} | "
            f"{fmt(s['cpu_ratio_to_stock'], digits=3)} | {fmt(s['rps'], digits=1)} | "
            f"{fmt(s['p50_us'], 1000, 1)} | {fmt(s['p99_us'], 1000, 1)} | {fmt(s['added_p50_us'], 1000, 1)} | "
            f"{s['errors']}/{s['requests']} | {fmt(s['pss_kb'], 1024)} |")
    samples = [(s["variant"], s["error_sample"]) for s in rows if s.get("error_sample")]
    if samples:
        out += ["", "What failing variants answered (first error seen):", ""]
        for v, e in dict(samples).items():
            out.append(f"- `{v}`: `{e[:300]}`")
    out += ["", "Mock upstream called directly with the same load (nginx, one worker, CPU 1):", "",
            "| body / workload / concurrency | requests/s | p50 ms | speed-up over the slowest proxy variant |",
            "|---|---:|---:|---:|"]
    for key, d in res["mock_direct"].items():
        kind, _, conc = key.split("/")
        speed = [s["mock_speedup"] for s in res["summary"]
                 if s.get("mock_speedup") and s["kind"] == kind and f"c{s['conc']}" == conc]
        out.append(f"| {key} | {d['rps']:.0f} | {d['p50_us'] / 1000:.2f} | "
                   f"{min(speed):.0f}× |" if speed else f"| {key} | {d['rps']:.0f} | {d['p50_us'] / 1000:.2f} | – |")
    plot = src.with_suffix(".png")
    if plot.exists():
        out += ["", f"![CPU per request]({plot.relative_to(ROOT)})"]
    return "\n".join(out)


def plots(res: dict, src: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib missing (pip install -e '.[bench]'); no plot", file=sys.stderr)
        return
    rows = [s for s in res["summary"] if s["cpu_us_per_req"]]
    configs = sorted({(label(s), s["conc"]) for s in rows}, key=lambda c: (c[0], c[1]))
    variants = sorted({s["variant"] for s in rows}, key=lambda v: (v != "stock", v))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(max(8, 1.4 * len(configs)), 9), sharex=True)
    width = 0.8 / max(1, len(variants))
    for i, v in enumerate(variants):
        xs, ys, lo, hi = [], [], [], []
        rx, ry, rlo, rhi = [], [], [], []
        for j, c in enumerate(configs):
            s = next((s for s in rows if (label(s), s["conc"]) == c and s["variant"] == v), None)
            if s:
                st = s["cpu_us_per_req"]
                xs.append(j + i * width)
                ys.append(st["median"] / 1000)
                lo.append((st["median"] - st["min"]) / 1000)
                hi.append((st["max"] - st["median"]) / 1000)
                r = s.get("cpu_ratio_to_stock")
                if r and v != "stock":
                    rx.append(j + i * width)
                    ry.append(r["median"])
                    rlo.append(r["median"] - r.get("q1", r["min"]))
                    rhi.append(r.get("q3", r["max"]) - r["median"])
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=v)
        if rx:
            ax2.errorbar(rx, ry, yerr=[rlo, rhi], fmt="o", capsize=3, color=f"C{i}", label=v)
    ax2.axhline(1.0, color="black", linewidth=0.8)
    ax2.set_ylabel("CPU per request / stock\n(median, interquartile range)")
    ax2.set_xticks([j + 0.4 - width / 2 for j in range(len(configs))])
    ax2.set_xticklabels([f"{c[0]}, c={c[1]}" for c in configs], fontsize=7, rotation=25, ha="right")
    ax.set_ylabel("proxy CPU ms per request (median, min–max)")
    failed = sorted({s["variant"] for s in res["summary"] if not s["cpu_us_per_req"]})
    note = f" — no successful request: {', '.join(failed)}" if failed else ""
    ax.set_title(f"LiteLLM {res['meta']['litellm']} proxy, commit {res['meta']['commit']}{note}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(src.with_suffix(".png"), dpi=110)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    src = Path(argv[0]).resolve() if argv else newest()
    res = json.loads(src.read_text())
    plots(res, src)
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + BEGIN + "\n" + tables(res, src) + "\n" + END + tail)
    print(f"report: {DOC.name} tables from {src.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
