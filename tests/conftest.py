"""Shared pytest configuration."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "deploy: slow end-to-end deployment tests (clean venv install from PyPI, real gunicorn); "
        "deselect with -m 'not deploy'",
    )
