"""One A/B helper for the in-process differential tests of a component's fast paths."""

from __future__ import annotations

import fast_litellm


def both(run, counters: dict):
    """run() with every patch reverted, then applied: (LiteLLM's, ours, served, delegated),
    the last two read from a component's ``{"served": n, "delegated": n}`` counters during
    ours."""
    fast_litellm.revert()
    try:
        want = run()
    finally:
        fast_litellm.apply()
    before = dict(counters)
    got = run()
    return want, got, counters["served"] - before["served"], counters["delegated"] - before["delegated"]
