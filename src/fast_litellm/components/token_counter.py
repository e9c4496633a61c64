"""token_counter: LiteLLM's tiktoken encodings on the C tokenizer.

Patched (litellm 1.108.7):

* ``litellm.rust_bridge.tokenizer.get_encoding`` (and its copy in
  ``litellm.litellm_core_utils.token_counter``): the one place every LiteLLM counting path
  gets an encoding from (the default ``cl100k_base`` through ``get_default_encoding``, the
  per-model encoding of ``token_counter``, ``litellm.encode``/``litellm.decode``). For
  ``cl100k_base``, ``o200k_base``, ``p50k_base`` and ``r50k_base`` it returns
  :class:`fast_litellm.tokenizer.Encoding` (tiktoken's ids, exactly); other names keep
  LiteLLM's answer.
* ``litellm.litellm_core_utils.token_counter._encoding_count``: for our encoding, or for
  tiktoken's registered instance of a supported encoding, ``count`` on the C tokenizer (no
  list of ids built); for any other encoding, LiteLLM's own code. In shadow mode this is the
  patch that compares: LiteLLM's count with tiktoken against ours.

Hugging Face tokenizers (claude-2, llama, command-r ...) keep LiteLLM's path.
If a rank file is missing, ``get_encoding`` raises and the registry answers with LiteLLM's
own function: the caller sees tiktoken's behaviour.
"""

from __future__ import annotations

import sys

from ..patching import Component, Patch
from .. import tokenizer as _tok

GET_ENCODING = "litellm.rust_bridge.tokenizer:get_encoding"
ENCODING_COUNT = "litellm.litellm_core_utils.token_counter:_encoding_count"

# fingerprints (fast_litellm.fingerprint) of the originals in litellm 1.108.7
FP_GET_ENCODING = frozenset({"95e2717cb8857863"})
FP_ENCODING_COUNT = frozenset({"739b4167b755bcdb"})


def _make_get_encoding(original):
    supported = _tok.SUPPORTED
    fast = _tok.get_encoding

    def get_encoding(name: str):
        if name in supported:
            # as LiteLLM's tiktoken route does: importing default_encoding points
            # TIKTOKEN_CACHE_DIR at the bundled rank files (or CUSTOM_TIKTOKEN_CACHE_DIR)
            if "litellm.litellm_core_utils.default_encoding" not in sys.modules:
                import litellm.litellm_core_utils.default_encoding  # noqa: F401
            return fast(name)
        return original(name)

    return get_encoding


def _make_encoding_count(original):
    ours = _tok.Encoding
    supported = _tok.SUPPORTED
    fast = _tok.get_encoding
    from tiktoken import registry as tiktoken_registry

    def _encoding_count(encoding, text: str) -> int:
        if type(text) is str:
            if type(encoding) is ours:
                return encoding.count(text)
            name = getattr(encoding, "name", None)
            # tiktoken's own registered instance (shadow mode, or a caller that kept one)
            if name in supported and tiktoken_registry.ENCODINGS.get(name) is encoding:
                return fast(name).count(text)
        return original(encoding, text)

    return _encoding_count


def _same_encoding(a, b) -> bool:
    """Shadow mode: tiktoken's and our encoding agree on identity, not on object."""
    return getattr(a, "name", None) == getattr(b, "name", None)


def _preload_now(_module=None) -> None:
    for name in ("cl100k_base", "o200k_base"):
        if _tok._read_rank_file(name) is not None:  # never ask tiktoken (network) here
            _tok.get_encoding(name)


def _preload() -> None:
    """Load the two encodings the proxy counts with, in this process, once LiteLLM has set
    TIKTOKEN_CACHE_DIR (its default_encoding module): with gunicorn --preload that is the
    master, and the workers share the pages. A missing rank file is left to first use."""
    from .. import REGISTRY

    REGISTRY.when_loaded("litellm.litellm_core_utils.default_encoding", _preload_now)


def register(registry) -> None:
    registry.register(Component(
        name="token_counter",
        patches=[
            Patch(GET_ENCODING, _make_get_encoding, FP_GET_ENCODING, compare=_same_encoding),
            Patch(ENCODING_COUNT, _make_encoding_count, FP_ENCODING_COUNT),
        ],
        description="tiktoken encodings (cl100k, o200k, p50k, r50k) on the C tokenizer",
        on_activate=_preload,
    ))
