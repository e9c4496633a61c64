"""Shared pytest configuration."""

import os
import sys

# No internet here: importing litellm must not try to download the model cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "deploy: slow end-to-end deployment tests (clean venv install from PyPI, real gunicorn); "
        "deselect with -m 'not deploy'",
    )
    config.addinivalue_line(
        "markers",
        "e2e: the real LiteLLM proxy under gunicorn --preload with UvicornWorkers, over loopback",
    )
    config.addinivalue_line(
        "markers",
        "exhaustive: every-code-point, 1 MB and whole-LiteLLM differential runs (minutes); "
        "run by make test, left out of its ASan/UBSan pass, which runs the other tokenizer tests",
    )
