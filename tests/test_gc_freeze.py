"""gc_freeze: the proxy's start-up heap moves out of the cyclic GC once the proxy is loaded."""

from __future__ import annotations

from _sub import run

SNIPPET = """
import gc, sys
{first}
import fast_litellm
import litellm.proxy.proxy_server
st = fast_litellm.status()["gc_freeze"]
emit({{"frozen": gc.get_freeze_count(), "state": st["state"], "native": st["native_calls"],
       "active": st["active"]}})
"""


def _run(first: str = "", env: dict | None = None):
    out, err = run(SNIPPET.format(first=first), extra_env=env, plugins=None, timeout=300)
    return out, err


def test_frozen_once_the_proxy_is_loaded():
    out, _ = _run()
    assert out["state"] == "active" and out["active"]
    assert out["native"] == 1
    assert out["frozen"] > 100_000, out  # LiteLLM's proxy heap: hundreds of thousands of objects


def test_flag_off_freezes_nothing():
    out, _ = _run(env={"FAST_LITELLM_GC_FREEZE": "false"})
    assert out["frozen"] == 0 and not out["active"], out


def test_proxy_imported_first_is_frozen_at_fast_litellm_import():
    out, err = _run(first="import litellm.proxy.proxy_server")
    assert out["frozen"] > 100_000 and out["native"] == 1, out
    assert "litellm was imported before fast_litellm" in err  # the trap is still reported


def test_canary_zero_freezes_nothing():
    out, _ = _run(env={"FAST_LITELLM_GC_FREEZE": "canary:0"})
    assert out["frozen"] == 0 and out["native"] == 0, out


def test_shadow_is_refused_with_a_warning_and_the_default_kept():
    out, err = _run(env={"FAST_LITELLM_GC_FREEZE": "shadow"})
    assert "FAST_LITELLM_GC_FREEZE=shadow is not supported by gc_freeze" in err
    assert out["frozen"] > 100_000 and out["native"] == 1, out
