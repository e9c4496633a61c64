"""otel_seed: stop re-running a failing import on every authenticated request.

LiteLLM 1.108.7 calls ``_seed_request_destinations`` (``litellm/proxy/auth/
user_api_key_auth.py``) in every ``user_api_key_auth``. Its body starts by importing
``litellm.integrations.otel.logger``, which needs ``opentelemetry-sdk``; that package is
not a dependency of ``litellm[proxy]``. Without it the import fails, the function logs
one DEBUG line and returns. Python does not remember failed imports: every request
re-executes the top of that module and searches for ``opentelemetry.sdk`` again,
about 320 µs of CPU per request on our machine, more than the rate limiter's whole hook.

Patched: ``litellm.proxy.auth.user_api_key_auth:_seed_request_destinations``. The
replacement runs the same four imports first. When they succeed it calls LiteLLM's
function (nothing changes). When they fail it remembers the exception (without its
traceback) for ``FAST_LITELLM_OTEL_SEED_RECHECK`` seconds (default 60), and answers each
call in that time the way LiteLLM does: the same DEBUG line on the same logger, with the
same exception object as the argument, and ``None``. After the interval the imports are
tried again, so an ``opentelemetry-sdk`` installed into a running proxy is picked up
within a minute instead of at once: the one difference from LiteLLM.

This component is Python, not C: the cost was an import system round-trip, not
computation.
"""

from __future__ import annotations

import os
import time

from .._log import log
from ..patching import Component, Patch

TARGET = "litellm.proxy.auth.user_api_key_auth:_seed_request_destinations"
FP = frozenset({"ddfdd6fa8e6bec11"})
RECHECK_VAR = "FAST_LITELLM_OTEL_SEED_RECHECK"
DEFAULT_RECHECK = 60.0
MESSAGE = "OTel V2: tenant destination resolution failed: %s"


def recheck_from_env() -> float:
    raw = os.environ.get(RECHECK_VAR, "").strip()
    if not raw:
        return DEFAULT_RECHECK
    try:
        val = float(raw)
        if not val >= 0:
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a number of seconds >= 0; using %g", RECHECK_VAR, raw, DEFAULT_RECHECK)
        return DEFAULT_RECHECK
    return val


def _make(original):
    module_globals = original.__globals__
    recheck = recheck_from_env()
    monotonic = time.monotonic
    failed: list = [None, 0.0]  # the import's exception, and when it was seen

    def _seed_request_destinations(user_api_key_dict, request=None):
        exc = failed[0]
        if exc is not None:
            if monotonic() - failed[1] < recheck:
                module_globals["verbose_proxy_logger"].debug(MESSAGE, exc)
                return None
            failed[0] = None
        try:
            # LiteLLM's own first statements, in its order
            from litellm.integrations.otel.logger import fan_out_provider  # noqa: F401
            from litellm.integrations.otel.plumbing.context import set_request_destinations  # noqa: F401
            from litellm.integrations.otel.plumbing.providers import deliverable_destinations  # noqa: F401
            from litellm.proxy.litellm_pre_call_utils import resolve_tenant_otel_destinations  # noqa: F401
        except Exception as err:  # noqa: BLE001 - LiteLLM catches every exception here too
            failed[0], failed[1] = err.with_traceback(None), monotonic()
            err.__context__ = None
            module_globals["verbose_proxy_logger"].debug(MESSAGE, err)
            return None
        return original(user_api_key_dict, request)

    return _seed_request_destinations


def register(registry) -> None:
    registry.register(Component(
        name="otel_seed",
        patches=[Patch(TARGET, _make, FP)],
        description="a failing OpenTelemetry import remembered instead of retried per request",
    ))
