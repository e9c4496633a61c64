"""A plugin component used by the tests to exercise the patch framework on a real target.

It patches ``litellm.litellm_core_utils.get_llm_provider_logic.get_llm_provider`` (called on
every completion, copied by ``from ... import`` into a dozen LiteLLM modules). Its "native"
path calls LiteLLM's function, so behaviour is unchanged, unless the test asks it to fail:

* ``PROBE_FAIL=1``: the native path raises RuntimeError (a native failure: falls back);
* ``PROBE_MISMATCH=1``: the native path returns a different provider (shadow mismatch).
"""

import os

from fast_litellm.patching import Component, Patch

TARGET = "litellm.litellm_core_utils.get_llm_provider_logic:get_llm_provider"
# fingerprint of get_llm_provider in litellm 1.108.7
FINGERPRINT = os.environ.get("PROBE_FINGERPRINT", "b09fb649f7d288fe")


# a plain case to count, as real components do: a model named "gpt-..." is "served"
PATH = {"served": 0, "delegated": 0}


def make(original):
    def native(*args, **kwargs):
        if os.environ.get("PROBE_FAIL") == "1":
            raise RuntimeError("probe: simulated native failure")
        model = args[0] if args else kwargs.get("model")
        PATH["served" if isinstance(model, str) and model.startswith("gpt") else "delegated"] += 1
        result = original(*args, **kwargs)
        if os.environ.get("PROBE_MISMATCH") == "1":
            result = (result[0], "mismatched-provider") + tuple(result[2:])
        return result

    return native


def _litellm_errors():
    from litellm.exceptions import BadRequestError

    return (BadRequestError,)


def register(registry):
    registry.register(Component(
        name="probe",
        patches=[Patch(TARGET, make, frozenset({FINGERPRINT}), passthrough=_litellm_errors)],
        description="test plugin: pass-through on get_llm_provider",
        paths={"lookup": PATH},
    ))
