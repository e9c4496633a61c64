"""Memory of 1,000,000 live rate-limit descriptors: LiteLLM's InMemoryCache (unbounded, so
that it keeps them) against fast_litellm's CounterCache, one process each.

Each descriptor is the limiter's three keys, ``{api_key:<key>}:window`` (the window start
as a decimal string), ``:requests`` and ``:tokens`` (ints), written microseconds apart on
a fake clock, with a 60 s TTL. Keys are hashed API keys (64 hex digits, what the proxy uses
for virtual keys) or short ones (``--short``: ``{api_key:0000001}``). Reported: resident
memory added per descriptor (``/proc/self/statm``, after a ``gc.collect()``), and for
CounterCache the C table's own count (bytes requested from malloc).

    .venv/bin/python bench/memory/counters_1m.py counter_cache|stock [--short] [--n 1000000]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["FAST_LITELLM_RATE_LIMITER"] = "false"  # the script builds its caches itself


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cache", choices=["counter_cache", "stock"])
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()

    from litellm.caching.in_memory_cache import InMemoryCache

    from fast_litellm.counter_cache import CounterCache

    clock = Clock()
    mem = InMemoryCache(max_size_in_memory=10**9, clock=clock)
    cache = CounterCache(mem, max_memory=0) if args.cache == "counter_cache" else mem
    if args.short:
        keys = [f"{{api_key:{i:07d}}}" for i in range(args.n)]
    else:
        keys = ["{api_key:%s}" % hashlib.sha256(b"sk-%d" % i).hexdigest() for i in range(args.n)]
    cache.set_cache("warm", 1, ttl=60)
    gc.collect()
    before = rss()
    c_before = getattr(cache, "memory", 0)
    for d in keys:
        cache.set_cache(d + ":window", "1700000000", ttl=60)
        clock.t += 0.000003
        cache.increment_cache(d + ":requests", 1, ttl=60)
        clock.t += 0.000003
        cache.increment_cache(d + ":tokens", 37, ttl=60)
    gc.collect()
    added = rss() - before
    out = {"cache": args.cache, "descriptors": args.n, "key_bytes": len(keys[0]),
           "rss_bytes_per_descriptor": round(added / args.n, 1)}
    if args.cache == "counter_cache":
        out["table_bytes_per_descriptor"] = round((cache.memory - c_before) / args.n, 1)
        out["table_mib"] = round(cache.memory / 2**20, 1)
    assert cache.get_cache(keys[-1] + ":tokens") == 37
    print(json.dumps(out))


if __name__ == "__main__":
    main()
