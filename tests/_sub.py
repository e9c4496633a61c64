"""Run a Python snippet in a fresh interpreter (import-time behaviour needs a clean process).

The snippet calls ``emit(obj)`` to hand a JSON result back; ``run`` returns it with the
process's stderr (where fast_litellm logs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

TESTS = os.path.dirname(os.path.abspath(__file__))
MARK = "@@RESULT@@ "

PRELUDE = f"""
import json as _json, sys as _sys
def emit(obj):
    _sys.stdout.write({MARK!r} + _json.dumps(obj, default=repr) + "\\n")
    _sys.stdout.flush()
"""


# The framework tests watch the probe plugin alone; the built-in components have their own
# tests (test_tokenizer, test_token_counter_diff, test_e2e_proxy), which turn them on.
from fast_litellm.components import BUILTIN  # noqa: E402 - every built-in component, new ones included

BUILTINS_OFF = {f"FAST_LITELLM_{name.upper()}": "false" for name in BUILTIN}


def env_with(extra: dict | None = None, plugins: str | None = "plugins.probe") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAST_LITELLM_", "PROBE_"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), TESTS]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("LITELLM_CONFIG", None)
    env.pop("CONFIG_FILE_PATH", None)
    if plugins:
        env["FAST_LITELLM_PLUGINS"] = plugins
        env.update(BUILTINS_OFF)
    env.update(extra or {})
    return env


def run(code: str, extra_env: dict | None = None, plugins: str | None = "plugins.probe",
        timeout: float = 180, cwd: str | None = None):
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        env=env_with(extra_env, plugins), capture_output=True, text=True, timeout=timeout,
        cwd=cwd or TESTS,
    )
    results = [json.loads(line[len(MARK):]) for line in proc.stdout.splitlines()
               if line.startswith(MARK)]
    if proc.returncode != 0 or not results:
        raise AssertionError(f"snippet failed (rc={proc.returncode})\nstdout:\n{proc.stdout[-3000:]}"
                             f"\nstderr:\n{proc.stderr[-5000:]}")
    return results[-1], proc.stderr


def fl_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("fast_litellm:")]
