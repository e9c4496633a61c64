"""otel_seed: LiteLLM's _seed_request_destinations, with its failing import remembered.

The reference is LiteLLM's own function (kept by the patch as __fast_litellm_original__):
same return value, same log records (logger, level, message) on every
call, and the import attempted once per recheck interval instead of once per call.
"""

from __future__ import annotations

import sys
import types


from _sub import run

PROBE = """
import builtins, logging, time
import fast_litellm
from litellm.proxy.auth import user_api_key_auth as m
from litellm.proxy._types import UserAPIKeyAuth

patched = m._seed_request_destinations
original = getattr(patched, "__fast_litellm_original__", None)
records = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("OTel V2"):
            records.append((record.name, record.levelname, record.getMessage()))
logger = logging.getLogger("LiteLLM Proxy")
logger.addHandler(Keep())
logger.setLevel(logging.DEBUG)
attempts = {"n": 0}
real_import = builtins.__import__
def counting(name, *a, **k):
    if name == "litellm.integrations.otel.logger":
        attempts["n"] += 1
    return real_import(name, *a, **k)
builtins.__import__ = counting
user = UserAPIKeyAuth(api_key="sk-x", team_id="t1")
out = {"active": fast_litellm.active_components(), "patched": original is not None}
if original is not None:
    out["stock"] = [original(user, None) for _ in range(50)]
    stock_records, stock_attempts = list(records), attempts["n"]
    records.clear(); attempts["n"] = 0
    out["ours"] = [patched(user, None) for _ in range(50)]
    out["same_records"] = records == stock_records
    out["records"] = records[:2]
    out["attempts"] = [stock_attempts, attempts["n"]]
    t0 = time.perf_counter()
    for _ in range(2000):
        patched(user, None)
    out["us_ours"] = (time.perf_counter() - t0) / 2000 * 1e6
emit(out)
"""


def test_same_calls_same_logs_one_import_attempt():
    res, _ = run(PROBE, {"FAST_LITELLM_OTEL_SEED": "true"}, plugins=None)
    assert "otel_seed" in res["active"] and res["patched"], res
    assert res["stock"] == res["ours"] == [None] * 50
    assert res["same_records"], res
    assert res["records"][0] == ["LiteLLM Proxy", "DEBUG",
                                 "OTel V2: tenant destination resolution failed: "
                                 "No module named 'opentelemetry.sdk'"]
    # LiteLLM re-runs the failing import 50 times; the component once per interval
    assert res["attempts"] == [50, 1], res


def test_recheck_interval_zero_retries_every_call():
    res, _ = run(PROBE, {"FAST_LITELLM_OTEL_SEED": "true", "FAST_LITELLM_OTEL_SEED_RECHECK": "0"},
                 plugins=None)
    assert res["same_records"] and res["attempts"] == [50, 50], res


def test_flag_off_leaves_litellms_function():
    res, _ = run(PROBE, {"FAST_LITELLM_OTEL_SEED": "false"}, plugins=None)
    assert "otel_seed" not in res["active"] and not res["patched"], res


def test_when_the_imports_succeed_litellms_function_runs(monkeypatch):
    """opentelemetry-sdk present (its three LiteLLM modules importable): every call is
    LiteLLM's own function, which hands the resolved destinations on."""
    import fast_litellm  # noqa: F401
    from litellm.proxy.auth import user_api_key_auth as m

    from fast_litellm.components.otel_seed import _make

    original = getattr(m._seed_request_destinations, "__fast_litellm_original__",
                       m._seed_request_destinations)
    seen = []
    fakes = {
        "litellm.integrations.otel.logger": {"fan_out_provider": lambda: "provider"},
        "litellm.integrations.otel.plumbing.context": {"set_request_destinations": seen.append},
        "litellm.integrations.otel.plumbing.providers": {
            "deliverable_destinations": lambda dests, provider: (tuple(dests), provider)},
    }
    for name, attrs in fakes.items():
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, mod)
    from litellm.proxy._types import UserAPIKeyAuth

    user = UserAPIKeyAuth(api_key="sk-x")
    ours = _make(original)
    assert original(user, None) is None and ours(user, None) is None
    assert len(seen) == 2 and seen[0] == seen[1]  # LiteLLM's body ran both times
