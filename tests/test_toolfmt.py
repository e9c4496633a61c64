"""_native.format_tools against LiteLLM's _format_function_definitions (the reference).

For every input, format_tools either returns exactly LiteLLM's string or None (then LiteLLM's
function answers). The tests demand the string, not None, for the shapes the proxy sees
(JSON-schema tools as OpenAI, Anthropic and Gemini clients send them), and check that None
comes back, never a different string or a crash, for everything else: raising shapes,
subclasses, odd values, deep nesting.
"""

from __future__ import annotations

import collections
import json
import random

import hypothesis
import hypothesis.strategies as st
import pytest

from fast_litellm import _native
from litellm.litellm_core_utils.token_counter import _format_function_definitions as reference


def _ref(tools):
    try:
        return ("ok", reference(tools))
    except Exception as e:  # noqa: BLE001
        return ("err", type(e).__name__)


def check(tools, must_format: bool = False):
    got = _native.format_tools(tools)
    want = _ref(tools)
    if got is None:
        assert not must_format, (tools, want)
    else:
        assert want == ("ok", got), (tools, want, got)
    return got


def _schema(r: random.Random, depth: int = 0):
    kind = r.choice(["string", "integer", "number", "boolean", "null", "array", "object", "enum", None, "list"]
                    if depth < 4 else ["string", "integer"])
    if kind == "array":
        s = {"type": "array", "items": _schema(r, depth + 1)}
    elif kind == "object":
        props = {r.choice(["a", "b_c", "ü", "id", "x y", ""]) + str(i): _schema(r, depth + 1)
                 for i in range(r.randint(0, 4))}
        s = {"type": "object", "properties": props}
        if r.random() < 0.6:
            s["required"] = r.sample(sorted(props) + ["zz"], r.randint(0, len(props) + 1))
    elif kind == "enum":
        s = {"type": r.choice(["string", "integer", "number"]),
             "enum": [r.choice(["red", "", "名", 'q"uote', 0, -1, 2.5, True, None, 10**30]) for _ in range(3)]}
    elif kind == "list":
        s = {"type": ["string", "null"]}
    else:
        s = {} if kind is None else {"type": kind}
    if r.random() < 0.4:
        s["description"] = r.choice(["", "a thing", "line\nbreak", "emoji 🙂", "tab\t"])
    return s


def _tool(r: random.Random, i: int):
    params = _schema(r) if r.random() < 0.85 else r.choice([None, {}, [], "x"])
    if isinstance(params, dict) and r.random() < 0.7:
        params = {"type": "object", "properties": {f"p{k}": _schema(r, 1) for k in range(r.randint(0, 5))},
                  "required": ["p0"]}
    name = r.choice([f"fn_{i}", "", None, "get-weather"])
    desc = r.choice([None, "", "Does a thing.", "多語言"])
    shape = r.random()
    if shape < 0.7:
        fn = {"name": name, "parameters": params}
        if desc is not None:
            fn["description"] = desc
        return {"type": "function", "function": fn}
    if shape < 0.8:  # Anthropic
        return {"name": name, "description": desc, "input_schema": params}
    if shape < 0.9:  # Gemini
        key = r.choice(["function_declarations", "functionDeclarations"])
        return {key: [{"name": name, "description": desc, "parameters": params} for _ in range(r.randint(0, 2))]}
    return r.choice([None, "x", 3, [], {"type": "function"}, {"function": None, "parameters": params}])


@pytest.mark.parametrize("seed", range(5))
def test_generated_tools(seed):
    r = random.Random(seed)
    formatted = 0
    for _ in range(600):
        tools = [_tool(r, i) for i in range(r.randint(0, 6))]
        if check(tools) is not None:
            formatted += 1
    assert formatted > 400, formatted  # most generated shapes are reproduced, not handed back


OPENAI_TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "opts": {"type": "object", "properties": {"deep": {"type": "boolean"}, "n": {"type": "number"}},
                     "required": ["deep"]},
            "nullable": {"type": ["string", "null"]},
            "anything": {}},
            "required": ["city"]}}},
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "bare"}},
]


def test_common_shapes_are_formatted():
    assert check(OPENAI_TOOLS, must_format=True)
    check([{"name": "a", "description": "d", "input_schema": OPENAI_TOOLS[0]["function"]["parameters"]}],
          must_format=True)
    check([{"functionDeclarations": [OPENAI_TOOLS[0]["function"], OPENAI_TOOLS[2]["function"]]}], must_format=True)
    assert check([], must_format=True) == "namespace functions {\n\n} // namespace functions"


class S(str):
    pass


class D(dict):
    pass


@pytest.mark.parametrize("tools", [
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "array"}}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": [1]}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": [1, 2]}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string",
                                                                                    "enum": None}}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string",
                                                                                    "enum": "abc"}}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}},
                                               "required": "a"}}}],
    [{"function": {"name": S("f")}}],
    [{"function": D(name="f")}],
    [D(function={"name": "f"})],
    [{"function": {"name": 5}}],
    [{"function": {"name": "f", "description": 7}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"description": 3}}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {1: {"type": "string"}}}}}],
    [{"function": {"name": "\ud800"}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {
        "type": "string", "enum": [object()]}}}}}],
    [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {
        "type": "integer", "enum": [10 ** 5000]}}}}}],
    [{"function": {"name": "f", "parameters": collections.OrderedDict(type="object")}}],
])
def test_odd_shapes_give_litellms_answer_or_none(tools):
    try:
        got = _native.format_tools(tools)
    except ValueError:  # str() of a huge int: LiteLLM's f-string raises the same
        assert _ref(tools)[0] == "err"
        return
    want = _ref(tools)
    assert got is None or want == ("ok", got), (want, got)


def test_deep_nesting_is_handed_back():
    s = {"type": "string"}
    for _ in range(500):
        s = {"type": "array", "items": s}
    tools = [{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": s}}}}]
    assert _native.format_tools(tools) is None
    s = {"type": "string"}
    for _ in range(30):
        s = {"type": "object", "properties": {"k": s}}
    check([{"function": {"name": "f", "parameters": {"type": "object", "properties": {"a": s}}}}], must_format=True)


def test_not_a_list():
    with pytest.raises(TypeError):
        _native.format_tools((1,))


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6),
              st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object", "type",
                               "properties", "items", "enum", "required", "description", "name"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["type", "properties", "items", "enum", "required", "description",
                                         "name", "parameters", "function", "input_schema",
                                         "function_declarations", "functionDeclarations", "x"]),
                        inner, max_size=5)),
    max_leaves=30,
)


@hypothesis.settings(max_examples=3000, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(st.lists(JSON, max_size=4))
def test_hypothesis_arbitrary_json(tools):
    check(tools)


def test_json_round_trip_of_real_schemas():
    # tools as they arrive in a request body: parsed JSON
    tools = json.loads(json.dumps(OPENAI_TOOLS))
    assert check(tools, must_format=True) == reference(OPENAI_TOOLS)


class _Colliding:
    """A key hashing like a name format_tools looks up: its __eq__ would run in the lookup."""

    calls = 0

    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        _Colliding.calls += 1
        return False


@pytest.mark.parametrize("where", ["tool", "function", "parameters", "property"])
def test_dicts_with_keys_that_are_not_strs_are_handed_back_without_running_code(where):
    """A JSON object has str keys; a dict with another key (whose __eq__ a lookup would run,
    and which could free what toolfmt.c holds borrowed) is not JSON: None (LiteLLM formats
    it), and no lookup ran its code."""
    tool = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {
        "type": "object", "properties": {"a": {"type": "string", "description": "x"}}}}}
    target = {"tool": tool, "function": tool["function"], "parameters": tool["function"]["parameters"],
              "property": tool["function"]["parameters"]["properties"]["a"]}[where]
    assert _native.format_tools([tool]) is not None
    for name in ("type", "function", "name", "description", "parameters", "properties", "items",
                 "enum", "required", "functionDeclarations", "function_declarations"):
        target[_Colliding(name)] = 1
    _Colliding.calls = 0
    assert _native.format_tools([tool]) is None
    assert _Colliding.calls == 0
