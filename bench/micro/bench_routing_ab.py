"""routing A/B: ``Router.async_get_available_deployment`` with the ``routing`` component on and
off, in one process, warm state.

Per strategy (all six: simple-shuffle, least-busy, usage-based v2, latency-based,
cost-based, usage-based v1) and size (2, 20, 200, 1,000
deployments behind one model name, bench_routing.py's model list): one Router, warmed by the
strategy handler's own success event for every deployment (latency lists, TTFT, tpm/rpm
counters, cost map: every deployment has state, as in a proxy that has served traffic). Variants
interleaved (unpatched, patched, unpatched, ...) for ``--rounds`` rounds; each times about
``--seconds`` of picks. Reported: µs per pick, median [min-max] over rounds, and the speedup
computed round by round (median [min-max]).

    .venv/bin/python bench/micro/bench_routing_ab.py [--rounds 5] [--seconds 0.3] [--json out]
        [--strategy S ...] [--size N ...] [--groups G]

With ``--groups G`` the Router holds G model groups of N deployments each and the picks ask
for them in turn (a proxy serving several models: the answers kept per group must survive
the others' picks).

Unpatched is the same process after ``fast_litellm.revert()``; ``fast_litellm.apply()`` puts
the patches back. Before timing, each router picks 20 times per variant from the same seed and
the picks and ``random`` state must agree.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (LITELLM_LOCAL_MODEL_COST_MAP before litellm)

import fast_litellm  # noqa: E402  (before litellm: patches on import)
import litellm  # noqa: E402,F401

from bench_routing import MESSAGES, SEED, model_list  # noqa: E402

SIZES = (2, 20, 200, 1000)
STRATEGIES = {
    "simple-shuffle": None,
    "least-busy": "leastbusy_logger",
    "usage-based-routing-v2": "lowesttpm_logger_v2",
    "latency-based-routing": "lowestlatency_logger",
    "cost-based-routing": "lowestcost_logger",
    "usage-based-routing": "lowesttpm_logger",
}



def warm(router, attr: str, loop) -> None:
    from litellm import ModelResponse
    from litellm.types.utils import Usage

    if attr is None:
        return  # simple-shuffle keeps no per-deployment state
    logger = getattr(router, attr)
    rng = random.Random(SEED)
    now = datetime.datetime.now()
    for k, d in enumerate(router.model_list):
        for j in range(3):
            kwargs = {"litellm_params": {"metadata": {"model_group": d["model_name"]}, "model_info": {"id": d["model_info"]["id"]}},
                      "stream": j == 0, "completion_start_time": now + datetime.timedelta(seconds=rng.random())}
            total = rng.randrange(20, 400)
            resp = ModelResponse(usage=Usage(prompt_tokens=10, completion_tokens=rng.randrange(1, 200),
                                             total_tokens=total))
            if attr == "lowesttpm_logger_v2":
                # v2 reads its usage from the proxy's logging payload only (without it the
                # success event raises and v2 would run with no usage state)
                kwargs["standard_logging_object"] = {
                    "model_group": d["model_name"], "model_id": d["model_info"]["id"], "total_tokens": total,
                    "hidden_params": {"litellm_model_name": d["litellm_params"]["model"]}}
            end = now + datetime.timedelta(seconds=rng.uniform(0.2, 4.0))
            loop.run_until_complete(logger.async_log_success_event(kwargs, resp, now, end))


def grouped(n: int, groups: int) -> tuple[list[str], list[dict]]:
    """The model names and the model list: one group "m" of n deployments (bench_routing.py's
    list), or `groups` groups "m0", "m1", ... of n each (each its own seeded list)."""
    if groups == 1:
        return ["m"], model_list(n)
    names = [f"m{g}" for g in range(groups)]
    models = []
    for g, name in enumerate(names):
        for d in model_list(n, seed=SEED + g):
            models.append(dict(d, model_name=name, model_info={"id": f"{name}-{d['model_info']['id']}"}))
    return names, models


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--json")
    ap.add_argument("--strategy", action="append", help="only these (repeatable)")
    ap.add_argument("--size", action="append", type=int, help="only these sizes (repeatable)")
    ap.add_argument("--groups", type=int, default=1,
                    help="model groups of SIZE deployments each, picked from in turn (default 1)")
    args = ap.parse_args()
    from litellm import Router

    _common.quiet_litellm()
    loop = _common.event_loop()
    assert fast_litellm.status()["routing"]["active"], fast_litellm.status()["routing"]

    cases = {}
    for strategy, attr in STRATEGIES.items():
        if args.strategy and strategy not in args.strategy:
            continue
        for n in args.size or SIZES:
            names = grouped(n, args.groups)
            router = Router(model_list=names[1], routing_strategy=strategy)
            warm(router, attr, loop)

            def pick(router=router, names=names[0], turn=[0]):
                turn[0] += 1
                return loop.run_until_complete(router.async_get_available_deployment(
                    model=names[turn[0] % len(names)], messages=MESSAGES, request_kwargs={}))

            # same picks, same random state, both ways -- within one minute of the clock: the
            # usage-based strategies read counters keyed by the current minute (warm()'s are
            # gone in the next one), so a pair straddling a minute is taken again
            for _attempt in range(3):
                minute = datetime.datetime.now().strftime("%H-%M")
                seqs = []
                for toggle in (fast_litellm.revert, fast_litellm.apply):
                    toggle()
                    random.seed(SEED)
                    pick.__defaults__[2][0] = 0
                    seqs.append(([pick()["model_info"]["id"] for _ in range(20)], random.getstate()))
                if datetime.datetime.now().strftime("%H-%M") == minute:
                    break
            assert seqs[0] == seqs[1], (strategy, n)
            cases[(strategy, n)] = pick

    times = {k: {"litellm": [], "fast_litellm": []} for k in cases}
    for _ in range(args.rounds):
        for k, fn in cases.items():
            for v, toggle in (("litellm", fast_litellm.revert), ("fast_litellm", fast_litellm.apply)):
                toggle()
                times[k][v].append(_common.per_call(fn, args.seconds))
    fast_litellm.apply()

    out = {"rounds": args.rounds, "seconds": args.seconds, "groups": args.groups, "rows": []}
    print(f"{'strategy':24s} {'n':>5s}  {'litellm us':>26s}  {'fast_litellm us':>24s}  speedup")
    for (strategy, n), t in times.items():
        ratios = [a / b for a, b in zip(t["litellm"], t["fast_litellm"])]
        row = {"strategy": strategy, "n": n, "litellm_us": _common.spread([x * 1e6 for x in t["litellm"]]),
               "fast_litellm_us": _common.spread([x * 1e6 for x in t["fast_litellm"]]), "speedup": _common.spread(ratios)}
        out["rows"].append(row)
        a, b, s = row["litellm_us"], row["fast_litellm_us"], row["speedup"]
        print(f"{strategy:24s} {n:>5d}  {a['median']:>10,.1f} [{a['min']:,.1f}-{a['max']:,.1f}]"
              f"  {b['median']:>9,.1f} [{b['min']:,.1f}-{b['max']:,.1f}]"
              f"  x{s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
