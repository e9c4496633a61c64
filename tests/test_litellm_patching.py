"""The patch framework on real LiteLLM 1.108.7, each case in a fresh interpreter.

The probe plugin (tests/plugins/probe.py) patches get_llm_provider, which LiteLLM copies
into a dozen modules with ``from ... import``.
"""


import pytest

from _sub import fl_lines, run

MODELS = ["gpt-4o", "gpt-3.5-turbo", "openai/demo", "anthropic/claude-3-5-sonnet-20240620",
          "claude-3-opus-20240229", "azure/my-deployment", "bedrock/anthropic.claude-v2",
          "groq/llama3-8b-8192", "ollama/llama3", "text-embedding-3-small", "command-r",
          "gemini/gemini-1.5-pro", "mistral/mistral-large", "definitely-not-a-model",
          "", "openai/", "/", "huggingface/x/y"]

REPORT = """
import sys, types
import litellm
from litellm.litellm_core_utils import get_llm_provider_logic as g
import litellm.main, litellm.router  # modules that copied get_llm_provider
orig = getattr(g.get_llm_provider, "__fast_litellm_original__", g.get_llm_provider)
def call(f, m):
    try:
        return ["ok", list(f(m))]
    except Exception as e:
        return ["err", type(e).__module__ + "." + type(e).__qualname__, str(e)]
sites = {}
for name, mod in list(sys.modules.items()):
    d = getattr(mod, "__dict__", None)
    if isinstance(d, dict) and not name.startswith("fast_litellm") and name != "__main__":
        for k, v in list(d.items()):
            if type(v) is types.FunctionType and v.__name__ == "get_llm_provider":
                sites[name + ":" + k] = hasattr(v, "__fast_litellm_patch__")
import fast_litellm
emit({"active": fast_litellm.active_components(),
      "patched": [call(g.get_llm_provider, m) for m in MODELS],
      "original": [call(orig, m) for m in MODELS],
      "sites": sites, "status": fast_litellm.status()})
"""


def report(order_first, extra_env=None):
    code = f"MODELS = {MODELS!r}\n" + order_first + REPORT
    return run(code, extra_env)


def test_import_order_both_ways_same_components_and_behaviour():
    good, err_good = report("import fast_litellm\nimport litellm\n")
    trap, err_trap = report("import litellm\nimport fast_litellm\n")
    assert good["active"] == trap["active"] == ["probe"]
    assert good["patched"] == trap["patched"]
    # every import site of the function holds the replacement, in both orders
    assert len(good["sites"]) >= 5 and all(good["sites"].values()), good["sites"]
    assert len(trap["sites"]) >= 5 and all(trap["sites"].values()), trap["sites"]
    assert not [ln for ln in fl_lines(err_good) if "WARNING" in ln]
    warn = [ln for ln in fl_lines(err_trap) if "imported before fast_litellm" in ln]
    assert len(warn) == 1 and "WARNING" in warn[0]
    assert good["status"]["probe"]["native_calls"] >= len(MODELS)


def test_trap_warning_names_the_importing_module():
    res, err = run("import plugins.trap_pkg\nimport fast_litellm\n"
                   "emit(fast_litellm.litellm_importer)")
    assert res == "plugins.trap_pkg"
    assert any("imported before fast_litellm" in ln and "plugins.trap_pkg" in ln
               for ln in fl_lines(err))


def test_patched_equals_original_results_and_exceptions():
    res, _ = report("import fast_litellm\n")
    assert res["patched"] == res["original"]
    assert any(r[0] == "err" for r in res["original"])  # the corpus covers LiteLLM's errors
    assert res["status"]["probe"]["fallbacks"] == 0  # BadRequestError passed through


def test_native_failure_gives_litellms_answer():
    res, err = report("import fast_litellm\n", {"PROBE_FAIL": "1",
                                                 "FAST_LITELLM_BREAKER_THRESHOLD": "1000"})
    assert res["patched"] == res["original"]
    st = res["status"]["probe"]
    assert st["fallbacks"] >= len(MODELS) and st["native_calls"] == 0
    assert len([ln for ln in fl_lines(err) if "probe: simulated native failure" in ln]) == 1


def test_breaker_trips_in_real_process():
    res, err = report("import fast_litellm\n", {"PROBE_FAIL": "1",
                                                 "FAST_LITELLM_BREAKER_THRESHOLD": "3"})
    assert res["patched"] == res["original"]
    st = res["status"]["probe"]
    assert st["breaker_trips"] == 1 and st["fallbacks"] == 3 and st["breaker_open"]
    assert any("circuit breaker" in ln for ln in fl_lines(err))


def test_guard_refuses_with_one_warning():
    res, err = report("import fast_litellm\n", {"PROBE_FINGERPRINT": "0123456789abcdef"})
    assert res["active"] == []
    assert not any(res["sites"].values())
    warns = [ln for ln in fl_lines(err) if "WARNING" in ln]
    assert len(warns) == 1
    assert "get_llm_provider_logic:get_llm_provider" in warns[0] and "0123456789abcdef" in warns[0]


@pytest.mark.parametrize("value,active", [("false", []), ("off", []), ("0", []),
                                          ("true", ["probe"]), ("canary:0", []),
                                          ("canary:100", ["probe"]), ("shadow", ["probe"])])
def test_flag_values(value, active):
    res, err = report("import fast_litellm\n", {"FAST_LITELLM_PROBE": value})
    assert res["active"] == active
    assert res["patched"] == res["original"]
    assert res["status"]["probe"]["flag"] == ("FAST_LITELLM_PROBE")


def test_malformed_flag_warns_and_keeps_default():
    res, err = report("import fast_litellm\n", {"FAST_LITELLM_PROBE": "sometimes"})
    assert res["active"] == ["probe"]
    warns = [ln for ln in fl_lines(err) if "WARNING" in ln]
    assert len(warns) == 1 and "FAST_LITELLM_PROBE='sometimes'" in warns[0]
    assert "canary:N" in warns[0]


def test_shadow_mismatch_counted_and_served_litellm():
    res, err = report("import fast_litellm\n", {"FAST_LITELLM_PROBE": "shadow",
                                                 "PROBE_MISMATCH": "1"})
    assert res["patched"] == res["original"]
    st = res["status"]["probe"]
    ok = sum(1 for r in res["original"] if r[0] == "ok")
    assert st["shadow_mismatches"] == ok and st["mode"] == "shadow"
    assert len([ln for ln in fl_lines(err) if "shadow mismatch" in ln]) == 1


def test_canary_half():
    res, _ = run("""
        import fast_litellm, litellm
        from litellm.litellm_core_utils.get_llm_provider_logic import get_llm_provider
        for _ in range(2000):
            get_llm_provider("gpt-4o")
        emit(fast_litellm.status()["probe"])
    """, {"FAST_LITELLM_PROBE": "canary:50"})
    assert res["mode"] == "canary:50"
    assert res["native_calls"] + res["python_calls"] == 2000
    assert 800 < res["native_calls"] < 1200


def test_revert_restores_every_site_and_apply_again():
    res, _ = run("""
        import sys, types, fast_litellm, litellm, litellm.main, litellm.router
        from litellm.litellm_core_utils import get_llm_provider_logic as g
        def wrapped_sites():
            n = 0
            for name, mod in list(sys.modules.items()):
                d = getattr(mod, "__dict__", None)
                if isinstance(d, dict):
                    n += sum(1 for v in list(d.values())
                             if isinstance(v, types.FunctionType) and "__fast_litellm_patch__" in v.__dict__)
            return n
        before = wrapped_sites()
        fast_litellm.revert()
        after = wrapped_sites()
        orig_ok = litellm.main.get_llm_provider is g.get_llm_provider
        fast_litellm.apply()
        emit([before, after, orig_ok, wrapped_sites(), fast_litellm.active_components()])
    """)
    before, after, orig_ok, again, active = res
    assert before >= 5 and after == 0 and orig_ok and again == before and active == ["probe"]


def test_survives_reload_and_late_imports():
    res, _ = run("""
        import importlib, sys, fast_litellm, litellm
        from litellm.litellm_core_utils import get_llm_provider_logic as g
        importlib.reload(litellm)
        a = hasattr(litellm.get_llm_provider, "__fast_litellm_patch__")
        importlib.reload(g)
        b = hasattr(g.get_llm_provider, "__fast_litellm_patch__")
        import pathlib
        root = pathlib.Path(litellm.__file__).parent
        line = "from litellm.litellm_core_utils.get_llm_provider_logic import get_llm_provider\\n"
        cands = sorted("litellm." + ".".join(p.relative_to(root).with_suffix("").parts)
                       for p in root.rglob("*.py") if line in p.read_text(errors="ignore"))
        late = [c for c in cands if c not in sys.modules]
        v = importlib.import_module(late[0])  # copies get_llm_provider at import
        late = bool(late)
        c = hasattr(v.get_llm_provider, "__fast_litellm_patch__")
        emit([a, b, late, c, g.get_llm_provider("gpt-4o")[1]])
    """)
    assert res == [True, True, True, True, "openai"]


def test_disable_switch():
    res, err = report("import fast_litellm\n", {"FAST_LITELLM_DISABLE": "1"})
    assert res["active"] == [] and not any(res["sites"].values())


def test_litellm_config_maps_to_config_file_path(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("model_list: []\n")
    res, err = run("import os, fast_litellm\nemit(os.environ.get('CONFIG_FILE_PATH'))",
                   {"LITELLM_CONFIG": str(cfg)}, plugins=None)
    assert res == str(cfg)
    assert any("LITELLM_CONFIG" in ln and "CONFIG_FILE_PATH" in ln for ln in fl_lines(err))
    # an explicit CONFIG_FILE_PATH wins, and is left alone
    res, err = run("import os, fast_litellm\nemit(os.environ.get('CONFIG_FILE_PATH'))",
                   {"LITELLM_CONFIG": str(cfg), "CONFIG_FILE_PATH": "/other.yaml"}, plugins=None)
    assert res == "/other.yaml"
    # a missing file is reported
    res, err = run("import os, fast_litellm\nemit(os.environ.get('CONFIG_FILE_PATH'))",
                   {"LITELLM_CONFIG": str(tmp_path / "missing.yaml")}, plugins=None)
    assert any("does not exist" in ln for ln in fl_lines(err))


def test_fork_child_keeps_patches_and_counts_its_own_calls():
    res, err = run("""
        import os, json, fast_litellm, litellm
        import litellm.proxy.proxy_server  # a serving process: announces
        from litellm.litellm_core_utils import get_llm_provider_logic as g
        g.get_llm_provider("gpt-4o")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            st0 = fast_litellm.status()["probe"]["native_calls"]
            out = [hasattr(g.get_llm_provider, "__fast_litellm_patch__"), st0,
                   g.get_llm_provider("gpt-4o")[1], fast_litellm.status()["probe"]["native_calls"],
                   os.getpid()]
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        os.close(w)
        child = json.loads(os.read(r, 4096))
        os.waitpid(pid, 0)
        emit({"child": child, "parent": fast_litellm.status()["probe"]["native_calls"],
              "parent_pid": os.getpid()})
    """, timeout=240)
    patched, start, provider, after, child_pid = res["child"]
    assert patched and start == 0 and provider == "openai" and after == 1
    assert res["parent"] >= 1
    lines = fl_lines(err)
    starts = [ln for ln in lines if ln.startswith("fast_litellm: active components = ")]
    assert starts == ["fast_litellm: active components = ['probe']"] * 2
    assert f"fast_litellm: pid {res['parent_pid']}, litellm 1.108.7" in lines
    assert f"fast_litellm: pid {child_pid}, litellm 1.108.7" in lines


def test_prometheus_single_process():
    res, _ = run("""
        import fast_litellm, litellm
        from prometheus_client import REGISTRY, generate_latest
        from litellm.litellm_core_utils.get_llm_provider_logic import get_llm_provider
        for _ in range(7):
            get_llm_provider("gpt-4o")
        get_llm_provider("anthropic/claude-3")
        emit(generate_latest(REGISTRY).decode())
    """)
    assert 'fast_litellm_calls_total{component="probe",path="native"} 8.0' in res
    assert 'fast_litellm_fast_path_calls_total{component="probe",outcome="served",path="lookup"} 7.0' in res
    assert 'fast_litellm_fast_path_calls_total{component="probe",outcome="delegated",path="lookup"} 1.0' in res
    assert 'fast_litellm_component_active{component="probe"} 1.0' in res
    assert 'fast_litellm_fallbacks_total{component="probe"} 0.0' in res


def test_prometheus_multiprocess_sums_workers(tmp_path):
    res, _ = run("""
        import os, fast_litellm, litellm
        from litellm.litellm_core_utils.get_llm_provider_logic import get_llm_provider
        pids = []
        for k in (3, 5):
            pid = os.fork()
            if pid == 0:
                for _ in range(k):
                    get_llm_provider("gpt-4o")
                get_llm_provider("anthropic/claude-3")
                os._exit(0)  # no atexit: the counts must already be on disk
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        emit(generate_latest(reg).decode())
    """, {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert 'fast_litellm_calls_total{component="probe",path="native"} 10.0' in res
    assert 'fast_litellm_fast_path_calls_total{component="probe",outcome="served",path="lookup"} 8.0' in res
    assert 'fast_litellm_fast_path_calls_total{component="probe",outcome="delegated",path="lookup"} 2.0' in res
