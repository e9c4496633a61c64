#!/usr/bin/env python3
"""Compare two proxy_bench.py runs: does each variant's ratio to stock land inside the other
run's spread, and is the ordering of variants by CPU per request the same?

    python bench/compare.py RUN1.json RUN2.json      (prints a Markdown table)
"""

import json
import sys


def load(path):
    res = json.load(open(path))
    return res, {((s["profile"], s["kind"], s["workers"], s["conc"]), s["variant"]): s for s in res["summary"]}


def main(argv=None) -> int:
    a_path, b_path = (argv or sys.argv[1:])[:2]
    (ra, a), (rb, b) = load(a_path), load(b_path)
    print(f"Runs `{a_path}` (commit {ra['meta']['commit']}) and `{b_path}` (commit {rb['meta']['commit']}).\n")
    print("| configuration | variant | ratio run 1, median (min–max) | ratio run 2 | spreads overlap | "
          "stock µs/request run 1 / run 2 | same ordering |")
    print("|---|---|---:|---:|:---:|---:|:---:|")
    points = sorted({k for k, _ in a} & {k for k, _ in b})
    overlaps = orders = total = 0
    for p in points:
        def order(d):
            vs = [(s["cpu_us_per_req"]["median"], v) for (k, v), s in d.items() if k == p and s["cpu_us_per_req"]]
            return [v for _, v in sorted(vs)]
        same = order(a) == order(b)
        orders += same
        for v in sorted({v for k, v in a if k == p and v != "stock"}):
            r1, r2 = a[(p, v)].get("cpu_ratio_to_stock"), b.get((p, v), {}).get("cpu_ratio_to_stock")
            if not r1 or not r2:
                print(f"| {'/'.join(map(str, p))} | {v} | – (no successful request) | – | – | | {'yes' if same else 'no'} |")
                continue
            ov = not (r1["max"] < r2["min"] or r2["max"] < r1["min"])
            overlaps += ov
            total += 1
            s1, s2 = a[(p, "stock")]["cpu_us_per_req"]["median"], b[(p, "stock")]["cpu_us_per_req"]["median"]
            print(f"| {'/'.join(map(str, p))} | {v} | {r1['median']:.3f} ({r1['min']:.2f}–{r1['max']:.2f}) | "
                  f"{r2['median']:.3f} ({r2['min']:.2f}–{r2['max']:.2f}) | {'yes' if ov else '**no**'} | "
                  f"{s1:.0f} / {s2:.0f} | {'yes' if same else 'no'} |")
    print(f"\nSpreads overlap for {overlaps} of {total} variant ratios; the ordering by CPU per request "
          f"is the same at {orders} of {len(points)} points.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
