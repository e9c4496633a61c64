"""Shared helpers for the component micro-benchmarks (see README.md).

Every benchmark is registered with a *setup* function that returns a zero-argument callable.
pyperf runs each benchmark in its own worker processes, and a worker only runs one of them,
so setups are lazy: a worker builds the inputs of its own benchmark and nothing else. The
setup runs once per worker (cached), outside the timed region.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable

# Always use the cost map shipped inside the installed litellm: no network, reproducible.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import pyperf  # noqa: E402

# Importing litellm (and the proxy, for the rate limiter) takes seconds in every pyperf worker
# process, so the defaults trade pyperf's 20 processes x 3 values for 6 x 5. pyperf's `--fast`
# gives 3 x 3; run.py --fast goes further (see README.md).
PROCESSES = 6
VALUES = 5

Setup = Callable[[], Callable[[], object]]
_ready: dict[str, Callable[[], object]] = {}


def quiet_litellm() -> None:
    """Keep LiteLLM's INFO/DEBUG chatter out of the worker output (it costs time too)."""
    import litellm

    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _timed(loops: int, name: str, setup: Setup) -> float:
    fn = _ready.get(name)
    if fn is None:
        fn = _ready[name] = setup()
        fn()  # one untimed call: first-call imports and caches happen here
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return time.perf_counter() - t0


def run(register: Callable[[Callable[..., None]], None], description: str) -> None:
    """Register the script's benchmarks and run them with pyperf, or with `--smoke` run each one
    in this process for a few calls (a correctness check; its timings are not pyperf figures)."""
    if "--smoke" in sys.argv:
        return _smoke(register)
    runner = pyperf.Runner(processes=PROCESSES, values=VALUES)
    runner.metadata["description"] = description

    def add(name: str, setup: Setup, **metadata: int | str) -> None:
        runner.bench_time_func(name, _timed, name, setup, metadata=metadata or None)

    register(add)


def _smoke(register: Callable[[Callable[..., None]], None]) -> None:
    only = [a for a in sys.argv[1:] if a != "--smoke"]

    def add(name: str, setup: Setup, **metadata: int | str) -> None:
        if only and not any(o in name for o in only):
            return
        fn = setup()
        fn()
        calls, t0 = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - t0 < 0.2:
            fn()
            calls += 1
        print(f"smoke {name}: {(time.perf_counter() - t0) / calls * 1e6:,.1f} us/call over {calls} calls", flush=True)

    register(add)


_loop: asyncio.AbstractEventLoop | None = None


def event_loop() -> asyncio.AbstractEventLoop:
    """One persistent event loop per worker; every timed call runs one coroutine to completion
    on it, as one task, like one proxy request does."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def loop_overhead_setup() -> Callable[[], object]:
    """`loop.run_until_complete(<coroutine that returns at once>)`: the fixed cost every async
    benchmark pays around the LiteLLM coroutine it times."""
    loop = event_loop()

    async def noop() -> None:
        return None

    return lambda: loop.run_until_complete(noop())


# ---- interleaved A/B runs (bench_*_ab.py) -----------------------------------------------

def per_call(fn: Callable[[], object], seconds: float, min_calls: int = 3) -> float:
    """Seconds per call of fn: one warm-up call, then calls for at least `seconds` (and at
    least `min_calls`)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= min_calls:
            return el / n


def spread(values) -> dict:
    """Median with min-max, the form every A/B result is reported in."""
    import statistics

    return {"median": statistics.median(values), "min": min(values), "max": max(values)}

