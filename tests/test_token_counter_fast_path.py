"""token_counter(messages=...)'s one-pass path against unpatched LiteLLM, in one process.

``tests/test_token_counter_diff.py`` compares every input shape (odd ones and exceptions
included) between two interpreters. This file aims at the shapes the proxy counts on its
request path (plain dict messages: system/user/assistant/tool, names, tool calls, text
blocks, tools with nested schemas, tool_choice) and checks two things for each generated
request: the count equals LiteLLM's with every patch reverted, and the one-pass path (not
LiteLLM's function behind it) produced it. Then the things that must send a call back to
LiteLLM's function: debug logging, ``set_verbose``, ``disable_token_counter``, a
monkeypatched helper, pydantic messages, images.
"""

from __future__ import annotations

import json
import logging
import random

import hypothesis
import hypothesis.strategies as st
import pytest

import fast_litellm  # noqa: F401  (patches on import)
import litellm
from fast_litellm.components import batch_token_counting as btc
from litellm.litellm_core_utils import token_counter as tc
from test_toolfmt import _schema  # JSON-schema generator (odd enums, type lists, nesting)

# (chat-latest, computer-use-preview: LiteLLM keeps the name, tiktoken does not know it: cl100k_base
# after a KeyError; chatgpt-4o-latest: renamed gpt-3.5-turbo although it contains "gpt-4o")
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-3.5-turbo", "gpt-3.5-turbo-0301", "azure/gpt-35-turbo",
          "unknown-model-xyz", "", "o1", "gpt-5", "chatgpt-4o-latest", "chat-latest", "computer-use-preview"]
WORDS = ["hello", " world", "naïve", "東京", "🙂", "\n\n", "  ", "'s", "123", "def f(x):\n    return x",
         "{\"a\": 1}", "ſ", "K", "\r\n", "\u200d", "<|endoftext|>"]


def _text(r: random.Random, n: int = 8) -> str:
    return "".join(r.choice(WORDS) for _ in range(r.randint(0, n)))


def _tool(r: random.Random, i: int) -> dict:
    fn = {"name": f"fn_{i}", "parameters": _schema(r) if r.random() < 0.9 else {}}
    if r.random() < 0.7:
        fn["description"] = _text(r, 4)
    return {"type": "function", "function": fn}


def _message(r: random.Random) -> dict:
    role = r.choice(["system", "user", "assistant", "tool", "developer"])
    roll = r.random()
    if roll < 0.7:
        content = _text(r)
    elif roll < 0.8:
        content = None
    else:
        content = [r.choice([{"type": "text", "text": _text(r)}, _text(r, 3)]) for _ in range(r.randint(0, 3))]
    m = {"role": role, "content": content}
    if r.random() < 0.15:
        m["name"] = r.choice(["alice", "bob_2", "名前"])
    if role == "assistant" and r.random() < 0.4:
        m["tool_calls"] = [{"id": f"call_{k}", "type": "function", "function": {
            "name": "f", "arguments": json.dumps({"q": _text(r, 3), "n": k})}} for k in range(r.randint(1, 3))]
    if role == "assistant" and r.random() < 0.1:
        m["function_call"] = {"name": "f", "arguments": _text(r, 3)}
    if role == "tool":
        m["tool_call_id"] = "call_0"
    if r.random() < 0.1:
        m["extra_none"] = None
    return m


def _request(r: random.Random) -> dict:
    kw = {"model": r.choice(MODELS), "messages": [_message(r) for _ in range(r.randint(0, 12))]}
    if r.random() < 0.5:
        kw["tools"] = [_tool(r, i) for i in range(r.randint(0, 5))]
    if r.random() < 0.4:
        kw["tool_choice"] = r.choice(["auto", "none", "required", {"type": "function", "function": {"name": "fn_0"}}])
    if r.random() < 0.15:
        kw["count_response_tokens"] = r.choice([True, False, None])
    if r.random() < 0.1:
        kw["use_default_image_token_count"] = r.choice([True, False, None])
    return kw


def _outcome(f):
    try:
        return ("ok", f())
    except Exception as e:  # noqa: BLE001 - compared, type and message
        return ("err", type(e), str(e))


def _unpatched(kw_list):
    fast_litellm.revert()
    try:
        return [_outcome(lambda kw=kw: litellm.token_counter(**kw)) for kw in kw_list]
    finally:
        fast_litellm.apply()


def _patched(kw_list):
    before = dict(btc.FAST_PATH)
    out = [_outcome(lambda kw=kw: litellm.token_counter(**kw)) for kw in kw_list]
    return out, {k: btc.FAST_PATH[k] - before[k] for k in before}


@pytest.fixture(autouse=True)
def _quiet():
    litellm.suppress_debug_info = True
    yield


def test_component_active():
    assert fast_litellm.status()["batch_token_counting"]["active"]
    assert tc.token_counter.__fast_litellm_patch__.target.endswith(":token_counter")
    assert litellm.utils.get_token_counter_new() is tc.token_counter  # what litellm.token_counter calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_requests_same_counts_on_the_fast_path(seed):
    r = random.Random(seed)
    reqs = [_request(r) for _ in range(400)]
    ref = _unpatched(reqs)
    got, calls = _patched(reqs)
    for kw, a, b in zip(reqs, ref, got):
        assert a == b, (kw, a, b)
    assert all(x[0] == "ok" for x in ref)
    assert calls == {"served": len(reqs), "delegated": 0}, calls


MSG = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool"]),
     "content": st.one_of(st.none(), st.text(max_size=40),
                          st.lists(st.one_of(st.text(max_size=10),
                                             st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=10))),
                                   max_size=3))},
    optional={"name": st.text(max_size=8), "tool_call_id": st.text(max_size=8),
              "tool_calls": st.lists(st.builds(lambda a: {"function": {"name": "f", "arguments": a}},
                                               st.text(max_size=20)), max_size=2)})


REQUEST = st.fixed_dictionaries({
    "messages": st.lists(MSG, max_size=6), "model": st.sampled_from(MODELS),
    "tool_choice": st.one_of(st.none(), st.sampled_from(["none", "auto", {"function": {"name": "x"}}]))})


# a batch per example: revert()/apply() once per batch, not per request
@hypothesis.settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(st.lists(REQUEST, min_size=1, max_size=40))
def test_hypothesis_messages(reqs):
    ref = _unpatched(reqs)
    got, calls = _patched(reqs)
    assert ref == got
    assert calls == {"served": len(reqs), "delegated": 0}, calls


ERRORS = [
    # LiteLLM raises: the fast path hands these to LiteLLM's function, which raises its own
    {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": "nope"}]},
    {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"no": "function"}]}]},
    {"model": "gpt-4o", "messages": [{"role": "assistant", "function_call": ["x"]}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function"}},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}],
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {
         "type": "object", "properties": {"a": {"type": "array"}}}}}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": [7]}]},
]


def test_litellms_exceptions():
    ref = _unpatched(ERRORS)
    got, calls = _patched(ERRORS)
    assert [x[0] for x in ref].count("err") >= 5
    assert ref == got
    assert calls["delegated"] >= 5


def _chat():
    return {"model": "gpt-4o", "messages": [{"role": "system", "content": "be brief"},
                                            {"role": "user", "content": "hello there", "name": "u"}],
            "tools": [_tool(random.Random(5), 0)], "tool_choice": "none"}


@pytest.mark.parametrize("setting", ["debug", "utils_debug", "set_verbose", "disabled", "monkeypatched",
                                     "pydantic", "image", "text"])
def test_litellms_function_answers_when_needed(setting, monkeypatch, request):
    kw = _chat()
    if setting in ("debug", "utils_debug"):
        logger = tc.verbose_logger if setting == "debug" else litellm.utils.verbose_logger
        monkeypatch.setattr(logger, "disabled", False)
        old = logger.level
        logger.setLevel(logging.DEBUG)  # clears the isEnabledFor cache
        request.addfinalizer(lambda: logger.setLevel(old))
    elif setting == "set_verbose":
        monkeypatch.setattr(litellm, "set_verbose", True)
    elif setting == "disabled":
        monkeypatch.setattr(litellm, "disable_token_counter", True)
    elif setting == "monkeypatched":
        # after apply(): at apply() time the guard would refuse the component instead
        monkeypatch.setattr(tc, "_count_extra", lambda *a: 1000)
        (b,), calls = _patched([kw])
        assert calls == {"served": 0, "delegated": 1}, calls
        assert b[0] == "ok" and b[1] > 1000  # the user's function was called
        return
    elif setting == "pydantic":
        kw["messages"] = [litellm.Message(role="user", content="hello there")]
    elif setting == "image":
        kw["messages"].append({"role": "user", "content": [{"type": "image_url", "image_url": {
            "url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]})
        kw["use_default_image_token_count"] = True
    elif setting == "text":
        kw = {"model": "gpt-4o", "text": "hello there"}
    (a,) = _unpatched([kw])
    (b,), calls = _patched([kw])
    assert a == b
    # (litellm.token_counter answers 0 itself when disabled, before reaching ours)
    assert calls == {"served": 0, "delegated": 0 if setting == "disabled" else 1}, calls


def test_long_texts_are_counted_in_litellms_slices_on_the_fast_path():
    """Texts over LiteLLM's 1,024-character slices (one native call sums them), lone
    surrogates inside long and short texts (each slice fixed on its own, as tiktoken)."""
    r = random.Random(7)
    reqs = []
    for i in range(40):
        long = "".join(r.choice(WORDS + ["\ud83d", "\ude00", "\ud800"]) for _ in range(r.randint(300, 1500)))
        msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": long},
                {"role": "assistant", "content": r.choice(["", "ok", "\udfff"]),
                 "tool_calls": [{"function": {"name": "f", "arguments": long[: r.randint(0, 3000)]}}]}]
        reqs.append({"model": MODELS[i % len(MODELS)], "messages": msgs})
    assert max(len(m["content"]) for kw in reqs for m in kw["messages"]) > 3 * 1024
    ref = _unpatched(reqs)
    got, calls = _patched(reqs)
    assert got == ref
    assert all(x[0] == "ok" for x in ref)
    assert calls == {"served": len(reqs), "delegated": 0}, calls


def test_model_to_encoding_follows_litellm_and_its_monkeypatches(monkeypatch, capsys):
    """_get_count_function inlines LiteLLM's model -> encoding choice: the same encoding for
    every model LiteLLM lists, LiteLLM's warning where tiktoken lacks the name, and
    LiteLLM's function again once someone replaces it."""
    models = MODELS + sorted(litellm.open_ai_chat_completion_models) + sorted(litellm.azure_llms)
    fast_litellm.revert()
    try:
        want = [tc.openai_tokenizer_encoding(m).name for m in models]
    finally:
        fast_litellm.apply()
    counts = [tc._get_count_function(m) for m in models]
    assert all(type(c) is btc.FastCount for c in counts)
    assert [c.encoding.name for c in counts] == want
    assert {"o200k_base", "cl100k_base"} <= set(want)

    monkeypatch.setattr(litellm, "set_verbose", True)
    outputs = []
    for patched in (False, True):
        if not patched:
            fast_litellm.revert()
        try:
            capsys.readouterr()
            tc._get_count_function("chat-latest")
            outputs.append(capsys.readouterr().out)
        finally:
            if not patched:
                fast_litellm.apply()
    assert "Using cl100k_base encoding" in outputs[0] and outputs[0] == outputs[1]
    monkeypatch.setattr(litellm, "set_verbose", False)

    seen = []
    original = tc.openai_tokenizer_encoding
    monkeypatch.setattr(tc, "openai_tokenizer_encoding", lambda m: seen.append(m) or original("gpt-4"))
    count = tc._get_count_function("gpt-4o")
    assert seen == ["gpt-4o"] and count.encoding.name == "cl100k_base"


def test_plain_chat_is_served():
    (b,), calls = _patched([_chat()])
    assert calls == {"served": 1, "delegated": 0}
    (a,) = _unpatched([_chat()])
    assert a == b
