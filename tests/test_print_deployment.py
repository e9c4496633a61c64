"""Router.print_deployment (``routing`` component, ``make_print_deployment``) against LiteLLM
1.108.7: the copy a pick makes for its INFO line is skipped only where nothing can see it.

Each case runs with every patch reverted, then applied (``_ab.both``), on a fresh Router: the
pick, the exception (type and text) and the INFO records the router logger emits (their
formatted text, so the masked copy is compared) must be the same."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from fast_litellm.components import routing as comp
from litellm import Router

from _ab import both

MESSAGES = [{"role": "user", "content": "hi"}]
LOGGER = logging.getLogger("LiteLLM Router")


_MISSING = object()


def model_list(api_key="sk-secret-1", extra=None):
    out = []
    for i in range(3):
        params = {"model": "openai/gpt-4o-mini", "api_base": f"http://127.0.0.1:{9000 + i}/v1", "rpm": 100 + i}
        if api_key is not _MISSING:
            params["api_key"] = api_key
        if extra:
            params.update(extra)
        out.append({"model_name": "m", "litellm_params": params, "model_info": {"id": f"dep-{i}"}})
    return out


class Keep(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


def pick(strategy, models, level, sync=False, redact=False, api_key=_MISSING):
    import litellm

    handler = Keep()
    LOGGER.addHandler(handler)
    old_level, old_redact = LOGGER.level, litellm.redact_user_api_key_info
    LOGGER.setLevel(level)
    litellm.redact_user_api_key_info = redact
    try:
        router = Router(model_list=models, routing_strategy=strategy)
        if api_key is not _MISSING:  # (the Router drops a None key and refuses an int one)
            for deployment in router.model_list:
                deployment["litellm_params"]["api_key"] = api_key
        random.seed(7)  # ties are drawn with the module's random
        try:
            if sync:
                result = router.get_available_deployment(model="m", messages=MESSAGES)
            else:  # (asyncio.run also finishes the tasks a pick leaves behind)
                result = asyncio.run(router.async_get_available_deployment(
                    model="m", messages=MESSAGES, request_kwargs={}))
            outcome = ("ok", result["model_info"]["id"])
        except Exception as e:  # noqa: BLE001 - compared, type and text
            outcome = (type(e).__name__, str(e))
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(old_level)
        litellm.redact_user_api_key_info = old_redact
    return outcome, [line for line in handler.lines if "eployment" in line[1]]


STRATEGIES = ["least-busy", "latency-based-routing", "usage-based-routing-v2", "usage-based-routing"]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("sync", [False, True])
def test_quiet_logger_skips_the_copy(strategy, sync):
    want, got, served, delegated = both(lambda: pick(strategy, model_list(), logging.WARNING, sync), comp.PRINT_FAST)
    assert got == want and want[0][0] == "ok"
    assert served == 1 and delegated == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_info_logger_gets_litellm_copy(strategy):
    want, got, served, delegated = both(lambda: pick(strategy, model_list(), logging.INFO), comp.PRINT_FAST)
    assert got == want
    # (LiteLLM's log filter writes 'REDACTED' over the masked key)
    assert any("Selected deployment" in text and "'api_base': 'http://127.0.0.1:" in text for _, text in want[1])
    assert served == 0 and delegated == 1


@pytest.mark.parametrize("api_key", [None, 12345, "sk-plain"])
@pytest.mark.parametrize("redact", [False, True])
def test_copy_errors_and_redaction_as_litellm(api_key, redact):
    """An api_key LiteLLM cannot slice (None, an int) makes the pick raise in LiteLLM; a
    redacted copy goes through LiteLLM's masker: both go to LiteLLM's method."""
    for level in (logging.WARNING, logging.INFO):
        want, got, served, delegated = both(
            lambda: pick("least-busy", model_list(), level, redact=redact, api_key=api_key), comp.PRINT_FAST)
        assert got == want, (api_key, redact, level)
        plain = type(api_key) is str
        assert (served, delegated) == ((1, 0) if plain and not redact and level == logging.WARNING else (0, 1))
    if (api_key is None or type(api_key) is int) and not redact:
        assert want[0][0] == "TypeError"  # (LiteLLM's masker takes any value)


def test_impure_deployment_and_direct_calls_go_to_litellm():
    class Opaque:
        def __deepcopy__(self, memo):
            calls.append(1)
            return self

    calls = []

    def run():
        calls.clear()
        return pick("least-busy", model_list(extra={"custom_obj": Opaque()}), logging.WARNING), len(calls)

    want, got, served, delegated = both(run, comp.PRINT_FAST)
    assert got == want and served == 0 and delegated == 1  # the same deepcopy calls on both sides
    router = Router(model_list=model_list(), routing_strategy="least-busy")
    before = dict(comp.PRINT_FAST)
    copy = router.print_deployment(router.model_list[0])  # not from a pick: LiteLLM's copy
    assert copy["litellm_params"]["api_key"] == "sk**********" and copy is not router.model_list[0]
    assert comp.PRINT_FAST["delegated"] == before["delegated"] + 1
