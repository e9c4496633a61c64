#!/usr/bin/env python3
"""Compare two proxy_bench.py runs: does each variant's ratio to stock land inside the other
run's spread, and do the two runs order the variants of a point the same way? Two variants
are ordered in a run when the interquartile ranges of their ratios to stock are disjoint;
otherwise they are within that run's noise of each other.

    python bench/compare.py RUN1.json RUN2.json      (prints a Markdown table)
"""

import json
import sys


def load(path):
    res = json.load(open(path))
    return res, {((s["profile"], s["kind"], s["workers"], s["conc"]), s["variant"]): s for s in res["summary"]}


def _ordered(r1, r2):
    """-1 / 1 when two ratio summaries are apart (interquartile ranges disjoint), else 0 (a tie)."""
    lo1, hi1 = r1.get("q1", r1["min"]), r1.get("q3", r1["max"])
    lo2, hi2 = r2.get("q1", r2["min"]), r2.get("q3", r2["max"])
    return -1 if hi1 < lo2 else 1 if hi2 < lo1 else 0


def main(argv=None) -> int:
    a_path, b_path = (argv or sys.argv[1:])[:2]
    (ra, a), (rb, b) = load(a_path), load(b_path)
    print(f"Runs `{a_path}` (commit {ra['meta']['commit']}) and `{b_path}` (commit {rb['meta']['commit']}).\n")
    print("| configuration | variant | ratio run 1, median [IQR] (min–max) | ratio run 2 | "
          "min–max ranges overlap | each median inside the other's min–max | stock µs/request run 1 / run 2 |")
    print("|---|---|---:|---:|:---:|:---:|---:|")
    points = sorted({k for k, _ in a} & {k for k, _ in b})
    inside = overlap = total = 0
    agree = disagree = ties = 0
    for p in points:
        ratios = {}
        for v in sorted({v for k, v in a if k == p}):
            r1, r2 = a[(p, v)].get("cpu_ratio_to_stock"), b.get((p, v), {}).get("cpu_ratio_to_stock")
            if v == "stock":
                ratios[v] = (r1, r2)
                continue
            if not r1 or not r2:
                print(f"| {'/'.join(map(str, p))} | {v} | – (no successful request) | – | – | – | |")
                continue
            ratios[v] = (r1, r2)
            ok = r1["min"] <= r2["median"] <= r1["max"] and r2["min"] <= r1["median"] <= r2["max"]
            inside += ok
            ov = not (r1["max"] < r2["min"] or r2["max"] < r1["min"])
            overlap += ov
            total += 1
            s1, s2 = a[(p, "stock")]["cpu_us_per_req"]["median"], b[(p, "stock")]["cpu_us_per_req"]["median"]
            iqr = lambda r: f" [{r['q1']:.3f}–{r['q3']:.3f}]" if "q1" in r else ""  # noqa: E731
            print(f"| {'/'.join(map(str, p))} | {v} | {r1['median']:.3f}{iqr(r1)} ({r1['min']:.2f}–{r1['max']:.2f}) | "
                  f"{r2['median']:.3f}{iqr(r2)} ({r2['min']:.2f}–{r2['max']:.2f}) | {'yes' if ov else '**no**'} | "
                  f"{'yes' if ok else '**no**'} | "
                  f"{s1:.0f} / {s2:.0f} |")
        names = sorted(v for v in ratios if ratios[v][0] and ratios[v][1])
        for i, x in enumerate(names):
            for y in names[i + 1:]:
                o1 = _ordered(ratios[x][0], ratios[y][0])
                o2 = _ordered(ratios[x][1], ratios[y][1])
                if o1 and o2:
                    agree += o1 == o2
                    disagree += o1 != o2
                else:
                    ties += 1
    print(f"\nMin–max ranges of the two runs overlap for {overlap} of {total} variant ratios; each run's "
          f"median is inside the other's min–max for {inside} of {total}. "
          f"Pairs of variants at a point: ordered the same way in both runs {agree}, in opposite "
          f"ways {disagree}, within the noise (interquartile ranges overlap) in at least one run {ties}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
