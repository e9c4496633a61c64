"""The CLI: doctor (import order, active components, exit codes) and proxy --demo."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _proc import free_port, http, kill_group, start, wait_for
from _sub import env_with

TESTS = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "fast_litellm.cli"]


def doctor(target, plugins="plugins.probe", **extra):
    return subprocess.run(CLI + ["doctor", target], cwd=TESTS, env=env_with(extra, plugins),
                          capture_output=True, text=True, timeout=300)


def test_doctor_good_app():
    r = doctor("plugins.apps.good_app:app")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "import order: fast_litellm before litellm (good)" in r.stdout
    assert "fast_litellm: active components = ['probe']" in r.stdout
    assert "probe: state=active mode=on flag=default" in r.stdout


def test_doctor_reports_the_trap_and_who_imported_litellm():
    r = doctor("plugins.apps.trap_app:app")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "IMPORT ORDER TRAP" in r.stdout
    assert str(TESTS / "plugins" / "trap_pkg" / "__init__.py") + ":2" in r.stdout
    assert "(module plugins.trap_pkg)" in r.stdout
    assert "fast_litellm: active components = ['probe']" in r.stdout


def test_doctor_unaccelerated_app_fails():
    r = doctor("plugins.apps.stock_app:app")
    assert r.returncode == 2
    assert "fast_litellm is never imported" in r.stdout


def test_doctor_flags_and_no_active_component():
    r = doctor("plugins.apps.good_app:app", FAST_LITELLM_PROBE="false")
    assert r.returncode == 2
    assert "probe: state=off mode=off flag=FAST_LITELLM_PROBE" in r.stdout
    assert "no component is active" in r.stdout


def test_doctor_import_error():
    r = doctor("plugins.apps.no_such_module:app")
    assert r.returncode == 2 and "import failed: ModuleNotFoundError" in r.stdout
    r = doctor("plugins.apps.good_app:nope")
    assert r.returncode == 2 and "has no attribute 'nope'" in r.stdout


def test_status_command():
    r = subprocess.run(CLI + ["status"], cwd=TESTS, env=env_with({}, "plugins.probe"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    st = json.loads(r.stdout)
    assert st["probe"]["mode"] == "on" and st["probe"]["state"] == "pending"


def test_proxy_requires_config():
    r = subprocess.run(CLI + ["proxy"], env=env_with({}, None), capture_output=True, text=True)
    assert r.returncode == 2 and "--config FILE or --demo" in r.stderr
    r = subprocess.run(CLI + ["proxy", "--config", "/no/such.yaml"], env=env_with({}, None),
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such config file" in r.stderr


@pytest.mark.e2e
def test_proxy_demo_prints_a_curl_that_works(tmp_path):
    port = free_port()
    out = tmp_path / "out.log"
    fh = open(out, "w")
    env = env_with({}, None)
    proc = start(CLI + ["proxy", "--demo", "--port", str(port), "--host", "127.0.0.1"],
                 env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        text = wait_for(lambda: "curl" in out.read_text() and out.read_text(), 240,
                        "the demo's curl", proc=proc)
        # run the printed curl as a user would (via a shell)
        block = text[text.index("  curl"):].split("\n\n")[0]
        r = subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=60)
        body = json.loads(r.stdout)
        assert body["choices"][0]["message"]["content"] == "Hello from the fast_litellm mock upstream."
        assert "sk-demo" in block
        lines = [ln for ln in out.read_text().splitlines()
                 if re.match(r"^fast_litellm: active components = \[.*\]$", ln)]
        assert len(lines) == 3  # master + 2 workers
        # streaming through the demo too
        status, raw = http(f"http://127.0.0.1:{port}/v1/chat/completions",
                           json.dumps({"model": "demo", "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]}).encode(),
                           {"Authorization": "Bearer sk-demo", "Content-Type": "application/json"})
        assert status == 200 and raw.decode().rstrip().endswith("data: [DONE]")
    finally:
        kill_group(proc)
