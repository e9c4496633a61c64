"""Router pick cost: `await Router.async_get_available_deployment(model="m", ...)` with N
deployments behind one model name, per routing strategy.

    .venv/bin/python bench/micro/bench_routing.py [pyperf options, e.g. --fast -o out.json]

State is cold: no request has completed, so the strategies that read per-deployment latency or
usage (least-busy, latency-based, usage-based*) see empty stats. No Redis: the router's
in-memory cache only. The deployments are never called.
"""

from __future__ import annotations

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SIZES = (2, 20, 200, 1000)
STRATEGIES = (
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "usage-based-routing-v2",
    "cost-based-routing",
    "usage-based-routing",  # still accepted by 1.108.7; has no async path, the router calls the sync one
)
SEED = 1234
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo")  # all priced in the bundled cost map
MESSAGES = [{"role": "user", "content": "Summarise the attached meeting notes in three bullet points."}]


def model_list(n: int, seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    deployments = []
    for i in range(n):
        params = {
            "model": f"openai/{MODELS[i % len(MODELS)]}",
            "api_base": f"http://127.0.0.1:{20000 + i}/v1",  # nothing listens; never called
            "api_key": f"sk-bench-{i}",
            "rpm": rng.choice([60, 600, 3000, 10000]),
            "tpm": rng.choice([10_000, 100_000, 1_000_000]),
        }
        if rng.random() < 0.7:
            params["weight"] = rng.choice([1, 2, 5])
        deployments.append({"model_name": "m", "litellm_params": params, "model_info": {"id": f"dep-{i}"}})
    return deployments


def _pick(strategy: str, n: int):
    def setup():
        from litellm import Router

        _common.quiet_litellm()
        random.seed(SEED)  # simple-shuffle draws from the global RNG
        loop = _common.event_loop()
        router = Router(model_list=model_list(n), routing_strategy=strategy)

        def pick():
            # request_kwargs is fresh per call: the router writes routing metadata into it.
            return loop.run_until_complete(
                router.async_get_available_deployment(model="m", messages=MESSAGES, request_kwargs={})
            )

        return pick

    return setup


def register(add) -> None:
    add("asyncio run_until_complete(noop) [loop overhead]", _common.loop_overhead_setup)
    for strategy in STRATEGIES:
        for n in SIZES:
            add(f"route {strategy} n={n}", _pick(strategy, n), deployments=n)


def main() -> None:
    _common.run(register, "LiteLLM Router.async_get_available_deployment")


if __name__ == "__main__":
    main()
