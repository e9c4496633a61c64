"""batch_token_counting: one native call for all the texts of one count.

LiteLLM's ``token_counter(messages=...)`` counts every string of every message separately
(content, names, tool-call arguments, text blocks), each through three Python closures
(extrapolation, 1,024-character chunking, the encoding), and a long text as one call per
chunk. This component keeps LiteLLM's walk and arithmetic and only changes how the strings
are counted: they are collected and counted by the C tokenizer in one call.

Patched (litellm 1.108.7), only when the encoding is the C one (component ``token_counter``
active and an OpenAI encoding selected); anything else runs LiteLLM's code:

* ``token_counter._get_count_function(model, custom_tokenizer)`` returns a
  :class:`FastCount`: LiteLLM's count function (extrapolation above
  ``TOKEN_COUNTER_MAX_EXACT_CHARS``, chunks of ``TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS``, the
  encoding LiteLLM selects for the model) with the chunks of one text counted in one call,
  and ``many(texts)`` for several texts.
* ``token_counter._count_messages``: LiteLLM's loop over the messages, with the strings
  counted in one batch at the end. Parts whose arithmetic is not a plain sum of counts
  (images, documents, files, Anthropic blocks, and any content list when
  ``default_token_count`` is set) are counted by LiteLLM's own helpers, unchanged.

Texts are the same slices LiteLLM counts, so every count is identical (tests compare with
unpatched LiteLLM).
"""

from __future__ import annotations

from .. import tokenizer as _tok
from ..patching import Component, Patch, still_bound

MOD = "litellm.litellm_core_utils.token_counter"
GET_COUNT_FUNCTION = MOD + ":_get_count_function"
COUNT_MESSAGES = MOD + ":_count_messages"
TOKEN_COUNTER = MOD + ":token_counter"

FP_GET_COUNT_FUNCTION = frozenset({"6f9b838611a722ce"})
FP_COUNT_MESSAGES = frozenset({"c3945ab68e0b202f"})
FP_TOKEN_COUNTER = frozenset({"0fe1c1d2bbd07b33"})
# replicated, not replaced: a change to any of them refuses the component
GUARDS = [
    (MOD + ":_get_exact_count_function", frozenset({"936368c1de486cb9"})),
    (MOD + ":_get_extrapolating_count_function", frozenset({"564efc4ae4e33753"})),
    (MOD + ":_get_tiktoken_count_function", frozenset({"405de2badb32b0fe"})),
    (MOD + ":_count_function_call_tokens", frozenset({"2530f1a263a4987f"})),
    (MOD + ":_count_content_list", frozenset({"af028486e49ccf14"})),
    # token_counter's fast path: its parameters, extra tokens, message copies, verbose prints
    (MOD + ":_MessageCountParams", frozenset({"a5ead1b6b3326cc7"})),
    (MOD + ":_count_extra", frozenset({"61cb2330c8f4a8f9"})),
    # the tools text, formatted in C (csrc/ext/toolfmt.c) for JSON-shaped tools
    (MOD + ":_format_function_definitions", frozenset({"1f4a31ff7608906a"})),
    (MOD + ":_function_definitions_for_tool", frozenset({"8ab302f9f1b6b88f"})),
    (MOD + ":_format_single_function_definition", frozenset({"9475109481a16ca8"})),
    (MOD + ":_format_object_parameters", frozenset({"6562c1aba6e49817"})),
    (MOD + ":_format_type", frozenset({"c975e9b89d751c0d"})),
    ("litellm.utils:convert_list_message_to_dict", frozenset({"929ad71f0221012b"})),
    ("litellm.utils:cleanup_none_field_in_message", frozenset({"30a682f24095306f"})),
    ("litellm.utils:convert_to_dict", frozenset({"4cfab38469b1aedd"})),
    ("litellm.utils:print_verbose", frozenset({"b9705e77f202cc7f"})),
]


class FastCount:
    """LiteLLM's count function for an OpenAI encoding, on the C tokenizer."""

    __slots__ = ("encoding", "chunk", "max_exact", "samples")

    def __init__(self, encoding, chunk: int, max_exact: int, samples) -> None:
        self.encoding = encoding
        self.chunk = chunk
        self.max_exact = max_exact
        self.samples = samples  # LiteLLM's _evenly_spaced_samples

    def __call__(self, text: str) -> int:
        chunk = self.chunk
        if len(text) <= chunk:
            return self.encoding.count(text)
        if len(text) <= self.max_exact:
            return self.encoding.count_chunked(text, chunk)
        samples = self.samples(text, self.max_exact)
        total = sum(self.encoding.count_chunked(s, chunk) for s in samples)
        return round(total * len(text) / sum(len(s) for s in samples))

    def many(self, texts: list[str]) -> int:
        """``sum(self(t) for t in texts)`` in one native call (texts LiteLLM extrapolates,
        and texts with lone surrogates, one by one)."""
        try:
            total = self.encoding._bpe.count_sum(texts, self.chunk, self.max_exact)
        except UnicodeEncodeError:
            total = None
        if total is None:
            return sum(self(t) for t in texts)
        return total


def _make_get_count_function(original):
    import litellm
    from litellm.litellm_core_utils import token_counter as tc

    chunk = tc._get_tiktoken_count_function.__defaults__[0]
    max_exact = tc._get_extrapolating_count_function.__defaults__[0]
    samples = tc._evenly_spaced_samples
    ours = _tok.Encoding

    lu = litellm.utils
    tiktoken_mod = tc.tiktoken
    # LiteLLM's openai_tokenizer_encoding, inlined below while it is LiteLLM's own (its
    # `from litellm.utils import print_verbose` alone costs 1.2 us a call)
    encoding_for = tc.openai_tokenizer_encoding
    name_for = tc.openai_tokenizer_encoding_name

    def _get_count_function(model=None, custom_tokenizer=None):
        if custom_tokenizer is not None:
            return original(model, custom_tokenizer)
        if model is None:
            encoding = tc.get_default_encoding()
        else:
            if litellm.disable_hf_tokenizer_download is not True:
                try:
                    kind = lu.huggingface_tokenizer_kind(model)
                except Exception:  # noqa: BLE001 - LiteLLM's own path handles odd models
                    return original(model, custom_tokenizer)
                if kind is not None:
                    return original(model, custom_tokenizer)  # a Hugging Face tokenizer
            if (tc.openai_tokenizer_encoding is encoding_for and tc.openai_tokenizer_encoding_name is name_for
                    and tc.tiktoken is tiktoken_mod):
                fixed = tc._fix_model_name(model)
                if "gpt-4o" in fixed:
                    name = "o200k_base"
                else:
                    try:
                        name = tiktoken_mod.encoding_name_for_model(fixed)
                    except KeyError:  # as LiteLLM: a warning (with set_verbose), cl100k_base
                        lu.print_verbose("Warning: model not found. Using cl100k_base encoding.")
                        name = "cl100k_base"
                encoding = tc.get_encoding(name)
            else:
                encoding = tc.openai_tokenizer_encoding(model)
        if type(encoding) is not ours:
            return original(model, custom_tokenizer)
        return FastCount(encoding, chunk, max_exact, samples)

    return _get_count_function


def _collector():
    """``(texts, collect, collector)``: a list, its ``append``, and a count function for
    LiteLLM's helpers that collects each text into the list and counts 0 (the texts are
    counted afterwards in one native call)."""
    texts: list[str] = []
    collect = texts.append

    def collector(s):
        collect(s)
        return 0

    return texts, collect, collector


def _walk(tc, messages, per_message, per_name, collect, collector, count,
          use_default_image_token_count, default_token_count, pure):
    """LiteLLM's ``_count_messages`` loop with the texts handed to ``collect`` (counted later,
    in one native call): ``(tokens so far, a message has role "system")``.

    ``pure``: only work without side effects, and whose exceptions LiteLLM's function will
    raise again: None (hand the call to LiteLLM) at a message that is not a plain dict, a
    role that is not a str (LiteLLM compares
    it with ``==``), content blocks that are not text (image fetches, documents) and
    ``search_results``. The tool-call helper gets ``message`` as given (LiteLLM passes its
    copy without None fields): it appears only in the text of an exception, and then a pure
    caller hands the call to LiteLLM, which raises its own."""
    call_tokens = tc._count_function_call_tokens
    content_list = tc._count_content_list
    num_tokens = 0
    system = False
    for message in messages:
        if pure and type(message) is not dict:
            return None  # LiteLLM converts other message types first
        num_tokens += per_message
        for key, value in message.items():
            if value is None:
                continue
            if key in ("tool_calls", "function_call"):
                num_tokens += call_tokens(key, value, message, collector)
            elif isinstance(value, str):
                collect(value)
                if key == "name":
                    num_tokens += per_name
                elif key == "role" and value == "system":
                    system = True
            elif pure and key == "role":
                return None
            elif key == "content" and isinstance(value, list):
                if default_token_count is None and _linear_content(value):
                    num_tokens += content_list(collector, value, use_default_image_token_count, None)
                elif pure:
                    return None
                else:
                    num_tokens += content_list(count, value, use_default_image_token_count,
                                               default_token_count)
            elif key == "search_results" and isinstance(value, list):
                if pure:
                    return None
                from litellm.litellm_core_utils.prompt_templates.common_utils import (
                    extract_search_results_text,
                )

                search_results_text = extract_search_results_text(value)
                if search_results_text:
                    collect(search_results_text)
    return num_tokens, system


def _linear_content(content: list) -> bool:
    """Content blocks whose count is a plain sum of string counts."""
    for c in content:
        if type(c) is str:
            continue
        if type(c) is not dict or c.get("type") != "text":
            return False
    return True


def _make_count_messages(original):
    from litellm.litellm_core_utils import token_counter as tc

    def _count_messages(params, messages, use_default_image_token_count, default_token_count):
        count = params.count_function
        if type(count) is not FastCount:
            return original(params, messages, use_default_image_token_count, default_token_count)
        texts, collect, collector = _collector()
        num_tokens, _ = _walk(tc, messages, params.tokens_per_message, params.tokens_per_name, collect,
                              collector, count, use_default_image_token_count, default_token_count,
                              pure=False)
        return num_tokens + count.many(texts)

    return _count_messages


# -- token_counter(messages=...) in one pass ------------------------------------------

# calls of the patched token_counter: answered by the fast path, or by LiteLLM's function
FAST_PATH = {"served": 0, "delegated": 0}


def _make_token_counter(original):
    """``token_counter`` for the request path's shape: a list of plain dict messages, an
    OpenAI encoding, optional tools. One pass over the messages (LiteLLM first copies every
    message without its None fields, then walks the copies: the walk skips None values, so
    the copies change nothing), ``_MessageCountParams`` inline, the tools formatted by
    the C formatter (LiteLLM's for shapes it does not reproduce), and every string counted in one native call.

    Everything on the fast path is pure while LiteLLM's debug output is off (its only side
    effects are DEBUG log lines and ``set_verbose`` prints, so with either on, or with any
    other shape, LiteLLM's own function runs). On any exception, LiteLLM's function runs
    from the start and raises its own exception, with its own message."""
    import logging

    import litellm
    from litellm import utils as lu
    from litellm.litellm_core_utils import token_counter as tc

    format_defs = tc._format_function_definitions
    from .. import _native

    format_tools = _native.format_tools
    # LiteLLM's code the fast path stands in for: a monkeypatched one disables it
    unchanged = still_bound((tc, "_count_function_call_tokens"), (tc, "_count_content_list"),
                            (tc, "_format_function_definitions"), (tc, "_count_extra"),
                            (tc, "_MessageCountParams"), (lu, "convert_list_message_to_dict"))
    debug = logging.DEBUG
    loggers = (tc.verbose_logger, lu.verbose_logger)

    def fast(model, messages, count_response_tokens, tools, tool_choice,
             use_default_image_token_count):
        """The count, or None when LiteLLM's own function must answer."""
        count = tc._get_count_function(model, None)
        if type(count) is not FastCount:
            return None
        # _MessageCountParams (its warning for unknown models is off: checked by the caller)
        if tc.uses_legacy_message_accounting(model):
            per_message, per_name = 4, -1
        else:
            per_message, per_name = 3, 1
        texts, collect, collector = _collector()
        walked = _walk(tc, messages, per_message, per_name, collect, collector, count,
                       use_default_image_token_count, None, pure=True)
        if walked is None:
            return None
        num_tokens, system = walked
        if count_response_tokens is False:
            num_tokens += 3
            if tools:
                text = format_tools(tools)  # C; None: a shape only LiteLLM's function formats
                collect(format_defs(tools) if text is None else text)
                num_tokens += 9
                if system:
                    num_tokens -= 4
            if tool_choice == "none":
                num_tokens += 1
            elif isinstance(tool_choice, dict):
                num_tokens += 7
                collect(str(tool_choice["function"]["name"]))
        return num_tokens + count.many(texts)

    def token_counter(model="", custom_tokenizer=None, text=None, messages=None,
                      count_response_tokens=False, tools=None, tool_choice=None,
                      use_default_image_token_count=False, default_token_count=None):
        if (text is None and custom_tokenizer is None and default_token_count is None
                and type(messages) is list and type(model) is str
                and (tools is None or type(tools) is list)
                and (tool_choice is None or type(tool_choice) is str or type(tool_choice) is dict)
                and litellm.disable_token_counter is not True
                and litellm.set_verbose is not True
                and not loggers[0].isEnabledFor(debug) and not loggers[1].isEnabledFor(debug)
                and unchanged()):
            try:
                n = fast(model, messages, count_response_tokens, tools, tool_choice,
                         use_default_image_token_count or False)
            except Exception:  # noqa: BLE001 - LiteLLM's function raises its own, below
                n = None
            if n is not None:
                FAST_PATH["served"] += 1
                return n
        FAST_PATH["delegated"] += 1
        return original(model=model, custom_tokenizer=custom_tokenizer, text=text,
                        messages=messages, count_response_tokens=count_response_tokens,
                        tools=tools, tool_choice=tool_choice,
                        use_default_image_token_count=use_default_image_token_count,
                        default_token_count=default_token_count)

    return token_counter


def register(registry) -> None:
    registry.register(Component(
        name="batch_token_counting",
        patches=[
            # shadow mode compares the counts (_count_messages), not the count functions
            Patch(GET_COUNT_FUNCTION, _make_get_count_function, FP_GET_COUNT_FUNCTION,
                  compare=lambda a, b: callable(a) and callable(b)),
            Patch(COUNT_MESSAGES, _make_count_messages, FP_COUNT_MESSAGES),
            # LiteLLM's exceptions are raised by LiteLLM's own function, called from ours
            Patch(TOKEN_COUNTER, _make_token_counter, FP_TOKEN_COUNTER, passthrough=(Exception,)),
        ],
        guards=GUARDS,
        description="the texts of one token count counted in one native call",
    ))
