"""Differential test of LiteLLM's token counting: unpatched LiteLLM against fast_litellm.

LiteLLM 1.108.7 is the reference. The same cases run in two fresh interpreters (patching
happens at import): the reference side with ``FAST_LITELLM_DISABLE=1``, the patched side
with every component on. Each result is ``["ok", value]`` or ``["err", "module.QualName",
message]`` and the two sides must agree case by case, exceptions included.

Functions compared: ``litellm.token_counter``, ``litellm.utils.token_counter``,
``litellm.litellm_core_utils.token_counter.token_counter`` (all three on every count case),
``messages_reach_token_count``, ``litellm.utils.is_prompt_caching_valid_prompt``,
``litellm.encode``, ``litellm.decode``, and the encoding objects themselves
(``litellm.rust_bridge.tokenizer.get_encoding(name)`` and ``_encoding_count``).

Case groups (the seed is in the test id): hand-written cases that walk every input shape and
every exception LiteLLM raises, ``random.Random(seed)`` conversations and texts, Hypothesis
examples (drawn once in this process, then run on both sides), and texts long enough for
chunking (``TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS``) and extrapolation
(``TOKEN_COUNTER_MAX_EXACT_CHARS``). A second pair of interpreters runs the same cases with
both constants shrunk (chunks of 7 characters, exact counting up to 3,000) so chunk
boundaries fall inside CRLF pairs, ZWJ sequences and surrogate-escaped text, and every long
text is extrapolated.

Self-check: ``TOKEN_DIFF_SELFCHECK=1`` runs the "patched" side unpatched too (and does not
demand native calls). Every case must then pass; it checks the machinery, not fast_litellm.

No network here: images are ``data:`` URLs of small images built in this file, and
``HF_HUB_OFFLINE=1`` makes the Hugging Face models (llama, replicate) fall back to tiktoken
at once instead of retrying the Hub for ~23 s on every call. ``r50k_base`` is not in LiteLLM's
bundled tiktoken cache, so it is left out of the direct encoding cases (offline, LiteLLM's own
``get_encoding("r50k_base")`` raises ``requests.exceptions.ConnectionError``).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import contextlib
import itertools
import json
import os
import random
import struct
import zlib

import hypothesis
import hypothesis.strategies as st
import pytest
from _sub import run

pytestmark = [pytest.mark.timeout(300), pytest.mark.exhaustive]

SELFCHECK = os.environ.get("TOKEN_DIFF_SELFCHECK", "").strip().lower() in ("1", "true", "yes", "on")

SEEDS = (20240611, 7)  # random.Random cases: one group per seed
HYPOTHESIS_SEED = 1108
HYPOTHESIS_EXAMPLES = 500
COMMON_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
REFERENCE_ENV = {"FAST_LITELLM_DISABLE": "1"}
# every token-counting component on, including any that ships default-off
PATCHED_ENV = ({"FAST_LITELLM_DISABLE": "1"} if SELFCHECK else
               {"FAST_LITELLM_TOKEN_COUNTER": "true", "FAST_LITELLM_BATCH_TOKEN_COUNTING": "true"})
SMALL_CONSTANTS_ENV = {"TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS": "7", "TOKEN_COUNTER_MAX_EXACT_CHARS": "3000"}

ENTRIES = ["litellm", "utils", "core"]

# ---------------------------------------------------------------------------------------
# The snippet each interpreter runs: read the cases, call LiteLLM, emit the results.
# ---------------------------------------------------------------------------------------
SNIPPET = r'''
import hashlib, json, os, time
import fast_litellm  # FAST_LITELLM_DISABLE=1 on the reference side: nothing is patched
import litellm
import litellm.utils as lu
from litellm.litellm_core_utils import token_counter as tcm
from litellm.rust_bridge import tokenizer as rbt

ENTRY = {
    "litellm": lambda **kw: litellm.token_counter(**kw),
    "utils": lambda **kw: lu.token_counter(**kw),
    "core": lambda **kw: tcm.token_counter(**kw),
}
_custom = {}


def expand(v):
    if isinstance(v, dict):
        if len(v) == 1 and "$repeat" in v:
            s, n = v["$repeat"]
            return expand(s) * n
        if len(v) == 1 and "$chars" in v:
            return "".join(map(chr, v["$chars"]))
        return {k: expand(x) for k, x in v.items()}
    if isinstance(v, list):
        return [expand(x) for x in v]
    return v


def custom_tokenizer(spec):
    if not (isinstance(spec, str) and spec.startswith("$")):
        return spec
    if spec not in _custom:
        if spec == "$hf_anthropic":
            _custom[spec] = lu.create_tokenizer(lu.claude_json_str)
        elif spec.startswith("$openai:"):
            _custom[spec] = {"type": "openai_tokenizer", "tokenizer": rbt.get_encoding(spec[8:])}
        else:
            raise AssertionError(spec)
    return _custom[spec]


def summary(v):
    if isinstance(v, (bytes, bytearray)):
        v = v.hex()
    if isinstance(v, (list, str)) and len(v) > 400:
        return {"len": len(v), "sha256": hashlib.sha256(json.dumps(v).encode()).hexdigest()}
    return v


def outcome(f):
    try:
        return ["ok", summary(f())]
    except Exception as e:
        return ["err", type(e).__module__ + "." + type(e).__qualname__, str(e)]


def kwargs(c):
    kw = expand(c.get("kw", {}))
    if "custom_tokenizer" in kw:
        kw["custom_tokenizer"] = custom_tokenizer(kw["custom_tokenizer"])
    if c.get("objects"):
        kw["messages"] = [litellm.Message(**m) if isinstance(m, dict) else m for m in kw["messages"]]
    return kw


def disabled(c, f):
    if not c.get("disable"):
        return f()
    litellm.disable_token_counter = True
    try:
        return f()
    finally:
        litellm.disable_token_counter = False


def encoding_op(c):
    enc = rbt.get_encoding(c["name"])
    op, arg = c["op"], expand(c.get("arg"))
    if op == "info":
        return {"name": enc.name, "n_vocab": enc.n_vocab, "max_token_value": enc.max_token_value,
                "eot_token": enc.eot_token, "special_tokens": sorted(enc.special_tokens_set)}
    if op == "encode":
        return enc.encode(arg)
    if op == "encode_nd":
        return enc.encode(arg, disallowed_special=())
    if op == "encode_all":
        return enc.encode(arg, allowed_special="all")
    if op == "encode_ordinary":
        return enc.encode_ordinary(arg)
    if op == "count":
        return tcm._encoding_count(enc, arg)
    if op == "decode":
        return enc.decode(arg)
    if op == "decode_bytes":
        return enc.decode_bytes(arg)
    raise AssertionError(op)


def run_case(c):
    fn = c["fn"]
    if fn == "encoding":
        return outcome(lambda: encoding_op(c))
    if fn == "count":  # fresh arguments for each entry point
        return [outcome(lambda e=e: disabled(c, lambda: ENTRY[e](**kwargs(c)))) for e in c["entries"]]
    kw = kwargs(c)
    if fn == "reach":
        return outcome(lambda: disabled(c, lambda: tcm.messages_reach_token_count(**kw)))
    if fn == "caching_valid":
        return outcome(lambda: lu.is_prompt_caching_valid_prompt(**kw))
    if fn == "encode":
        return outcome(lambda: litellm.encode(**kw))
    if fn == "decode":
        return outcome(lambda: litellm.decode(**kw))
    raise AssertionError(fn)


with open(CASES_PATH, encoding="ascii") as fh:
    cases = json.load(fh)
t0 = time.perf_counter()
results = {}
for c in cases:
    try:
        results[c["id"]] = run_case(c)
    except Exception as e:  # building the arguments failed (e.g. litellm.Message(**m))
        results[c["id"]] = ["err", type(e).__module__ + "." + type(e).__qualname__, str(e)]
emit({"results": results, "elapsed": time.perf_counter() - t0,
      "status": fast_litellm.status(), "disabled": fast_litellm._disabled(),
      "fast_path": __import__("fast_litellm.components.batch_token_counting", fromlist=["x"]).FAST_PATH})
'''

# ---------------------------------------------------------------------------------------
# Images: real headers (PNG fully valid; JPEG, GIF and WebP valid headers), as data: URLs.
# ---------------------------------------------------------------------------------------


def _png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = (b"\x00" + bytes(w)) * h  # filter byte 0, one grey byte per pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _jpeg(w: int, h: int, sof: int = 0xC0, pad: bool = False, truncated: bool = False) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dht = b"\xff\xc4" + struct.pack(">H", 2 + 17 + 1) + b"\x00" + bytes([0, 1] + [0] * 14) + b"\x00"
    sofn = (bytes([0xFF, sof]) + struct.pack(">HBHHB", 17, 8, h, w, 3)
            + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    body = b"\xff\xd8" + app0 + dht + (b"\xff" if pad else b"") + sofn + b"\xff\xd9"
    return body[:len(app0) + 2 + len(dht)] if truncated else body


def _gif(w: int, h: int) -> bytes:
    # 89a header, logical screen w x h with a 2-colour table, one 1x1 image at the origin
    return (b"GIF89a" + struct.pack("<HH", w, h) + b"\x80\x00\x00" + b"\xff\xff\xff\x00\x00\x00"
            + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def _webp(w: int, h: int, kind: str) -> bytes:
    if kind == "VP8L":
        payload = b"\x2f" + struct.pack("<I", (w - 1) | (h - 1) << 14) + b"\x00" * 8
    elif kind == "VP8X":
        payload = b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    else:  # lossy "VP8 ": frame tag, start code, 14-bit width and height
        payload = b"\x50\x02\x00\x9d\x01\x2a" + struct.pack("<HH", w, h) + b"\x00" * 8
    chunk = kind.encode().ljust(4) + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


IMAGES = {
    "png-1x1": _data_url("image/png", _png(1, 1)),
    "png-300x300": _data_url("image/png", _png(300, 300)),
    "png-513x512": _data_url("image/png", _png(513, 512)),
    "png-768x2001": _data_url("image/png", _png(768, 2001)),
    "png-3000x2000": _data_url("image/png", _png(3000, 2000)),
    "png-5x9000": _data_url("image/png", _png(5, 9000)),
    "png-0x1000": _data_url("image/png", _png(0, 1000)),  # ZeroDivisionError in LiteLLM
    "png-0x0": _data_url("image/png", _png(0, 0)),
    "jpeg-640x480": _data_url("image/jpeg", _jpeg(640, 480)),
    "jpeg-4032x3024-progressive": _data_url("image/jpeg", _jpeg(4032, 3024, sof=0xC2)),
    "jpeg-1x65535-padded": _data_url("image/jpeg", _jpeg(1, 65535, pad=True)),
    "jpeg-truncated": _data_url("image/jpeg", _jpeg(100, 100, truncated=True)),
    "gif-1x1": _data_url("image/gif", _gif(1, 1)),
    "gif-2000x769": _data_url("image/gif", _gif(2000, 769)),
    "webp-vp8l-1024x1024": _data_url("image/webp", _webp(1024, 1024, "VP8L")),
    "webp-vp8x-16000x100": _data_url("image/webp", _webp(16000, 100, "VP8X")),
    "webp-vp8-800x600": _data_url("image/webp", _webp(800, 600, "VP8 ")),
    "heic-header": _data_url("image/heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 16),
    "unknown-bytes": _data_url("image/png", b"hello, not an image"),
    "not-base64": "data:image/png;base64,@@@@",
    "no-comma": "data:image/png;base64",
}
PDF_URL = _data_url("application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")

# ---------------------------------------------------------------------------------------
# Text corpus
# ---------------------------------------------------------------------------------------
WHITESPACE = ["\t", "\n", "\r\n", "\r", "\u00a0", "\u2028", "\u2029", "\u0085", "\u001c", "\u001d",
              "\u001e", "\u001f", "\u180e", "\u3000", "\u200b", "\ufeff", "\x0b", "\x0c", " ", "  "]
SURROGATES = ["\ud800", "\udfff", "a\udc00b", "\ud83d", "x\ud83d\ude00y", "\udbff\udc00"]
SPECIAL_TOKEN_TEXT = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                      "<|endofprompt|>", "<|im_start|>", "<|im_end|>", "<|endoftext", "<|<|endoftext|>|>"]
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé façade naïve coöperate résumé Æsir Œuvre straße",
    "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم، هذه جملة عربية. שלום עולם",
    "नमस्ते दुनिया, यह एक हिंदी वाक्य है। ক্ষ ত্র",
    "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง",
    "emoji 👍🏽 👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵🇫🇷 ❤️‍🔥 🧑🏿‍🚀 #️⃣",
    "combining e\u0301 a\u0308 o\u0302\u0323 Z\u0337\u0321\u0327a\u0336\u031bl\u0335g\u0334o\u0338",
    "it's we'LL they'Re I'M you'd she'S can't 'ſ 'ſt ſtraße ＫＥＬＶＩＮ \u212a",
    "1234567890 3.14159265358979 1,000,000 007 ١٢٣٤٥ １２３ ½ ²³ ①② 0x1F 1e-10",
    "def f(x):\n\treturn {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\n\nclass A:\n    pass\n",
    "int main(void) {\r\n  printf(\"%d\\n\", 42);\r\n  return 0;\r\n}\r\n",
    '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": 1, "x": null}',
    "https://example.com/path?query=1&b=%20#frag user@example.com",
    "\x00\x01\x02 NUL and controls \x7f\x1b[31mred\x1b[0m",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "   leading and trailing spaces   ",
    "\u202eRTL override\u202c \u200fmark\u200e",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz",
]
PIECES = CORPUS + WHITESPACE + SURROGATES + SPECIAL_TOKEN_TEXT

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-4-turbo", "gpt-3.5-turbo", "gpt-3.5-turbo-0301",
          "gpt-35-turbo", "azure/gpt-41", "text-davinci-003", "code-davinci-002", "davinci", "o1",
          "o3-mini", "gpt-5", "unknown-model", "", None]
HF_MODELS = ["claude-opus-4-6", "claude-sonnet-5-5", "llama-2-7b", "meta-llama/llama-3-8b",
             "replicate/some-model"]
ROLES = ["system", "user", "assistant", "tool", "function", "developer"]


def _rep(s: str, n: int) -> dict:
    return {"$repeat": [s, n]}


def _tool(name: str, params: dict | None = None, desc: str | None = None) -> dict:
    fn: dict = {"name": name}
    if desc is not None:
        fn["description"] = desc
    if params is not None:
        fn["parameters"] = params
    return {"type": "function", "function": fn}


WEATHER = _tool("get_weather", {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "enum": [1, 3, 7]},
        "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "filters": {"type": "object", "description": "nested", "properties": {
            "min": {"type": "number"}, "max": {"type": "number", "description": "upper bound"},
            "deep": {"type": "object", "properties": {"z": {"type": "null"}}, "required": ["z"]},
        }, "required": ["min"]},
        "anything": {"description": "no type"},
    },
    "required": ["location", "unit"],
}, "Get the current weather 天気")
TOOLS = [
    [WEATHER],
    [WEATHER, _tool("no_params", None, "A function without parameters"), _tool("empty_props", {
        "type": "object", "properties": {}})],
    [{"type": "function", "function": {"name": "", "description": "nameless, skipped"}}],
    [{"name": "anthropic_style", "description": "Anthropic tool", "input_schema": {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}],
    [{"function_declarations": [{"name": "gemini_fn", "description": "Gemini declaration",
                                 "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}}}]}],
    [{"functionDeclarations": [{"name": "camel", "parameters": {"properties": {"s": {"type": "string"}}}}]}],
]
TOOL_CHOICES = [None, "none", "auto", "required", {"type": "function", "function": {"name": "get_weather"}}]


def _msg(role: str, content, **extra) -> dict:
    m = {"role": role, "content": content}
    m.update(extra)
    return m


def _tool_call(name: str, args) -> dict:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}


def _img(url, detail=None) -> dict:
    if detail is None:
        return {"type": "image_url", "image_url": url}
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


# ---------------------------------------------------------------------------------------
# Hand-written cases: every shape and every error LiteLLM raises
# ---------------------------------------------------------------------------------------


def _fixed_cases() -> list[dict]:
    cases: list[dict] = []

    def count(label, **kw):
        flags = {k: kw.pop(k) for k in ("objects", "disable") if k in kw}
        cases.append({"label": label, "fn": "count", "kw": kw, "entries": ENTRIES, **flags})

    # text as str / list, every model
    for model in MODELS + HF_MODELS:
        for text in ["", "hello world", CORPUS[2], "".join(CORPUS), "".join(SPECIAL_TOKEN_TEXT)]:
            count(f"text model={model!r}", model=model, text=text)
        count(f"text list model={model!r}", model=model, text=["a", "b c", CORPUS[7]])
        count(f"messages model={model!r}", model=model, messages=[
            _msg("system", "You are helpful."), _msg("user", CORPUS[1], name="alice"),
            _msg("assistant", None, tool_calls=[_tool_call("get_weather", '{"location": "Paris"}')]),
            _msg("tool", "22C", tool_call_id="call_1")], tools=TOOLS[0], tool_choice="auto")
    for piece in PIECES:
        count("piece", model="gpt-4o", text=piece)
        count("piece", model="gpt-4", text=piece * 3)
        count("piece in message", model="gpt-3.5-turbo", messages=[_msg("user", piece)])
    for ws in WHITESPACE:
        count("whitespace run", model="gpt-4o", text=ws * 300 + "x" + ws * 5)
        count("whitespace run", model="gpt-4", text="a" + ws * 1500)
    count("text list with non-str items", model="gpt-4", text=["a", 1, None, "b", {"c": 1}])
    count("text list empty", model="gpt-4", text=[])
    # message shapes
    base = [_msg("user", "hi")]
    for role in ROLES:
        count(f"role {role}", model="gpt-4o", messages=[_msg(role, "content text")])
        count(f"role {role} with name", model="gpt-4", messages=[_msg(role, "x", name="bob_1")])
    count("legacy 0301 accounting", model="gpt-3.5-turbo-0301",
          messages=[_msg("user", "hi", name="n"), _msg("assistant", "yo")])
    count("content None", model="gpt-4o", messages=[_msg("assistant", None)])
    count("content int", model="gpt-4o", messages=[_msg("user", 5)])
    count("content dict", model="gpt-4o", messages=[_msg("user", {"text": "x"})])
    count("content empty list", model="gpt-4o", messages=[_msg("user", [])])
    count("no content key", model="gpt-4o", messages=[{"role": "user"}])
    count("empty message", model="gpt-4o", messages=[{}])
    count("extra keys", model="gpt-4o",
          messages=[_msg("user", "x", foo="bar", n=3, cache_control={"type": "ephemeral"})])
    count("name int", model="gpt-4o", messages=[_msg("user", "x", name=5)])
    count("tool_calls json args", model="gpt-4o", messages=[_msg("assistant", "", tool_calls=[
        _tool_call("f", json.dumps({"a": [1, 2, {"b": "ü"}], "c": None})), _tool_call("g", "not json {"),
        _tool_call("h", {"dict": "args"}), {"function": {"name": "noargs"}}])])
    count("function_call", model="gpt-4", messages=[_msg("assistant", None, function_call={
        "name": "f", "arguments": '{"x": 1}'})])
    count("function_call no args", model="gpt-4", messages=[_msg("assistant", None, function_call={"name": "f"})])
    count("tool_calls empty", model="gpt-4", messages=[_msg("assistant", None, tool_calls=[])])
    count("tool_calls not list", model="gpt-4", messages=[_msg("assistant", None, tool_calls="x")])
    count("tool_calls item without function", model="gpt-4",
          messages=[_msg("assistant", None, tool_calls=[{"id": "1"}])])
    count("tool_calls item str", model="gpt-4", messages=[_msg("assistant", None, tool_calls=["my function"])])
    count("tool_calls item None", model="gpt-4", messages=[_msg("assistant", None, tool_calls=[None])])
    count("tool_calls function str", model="gpt-4",
          messages=[_msg("assistant", None, tool_calls=[{"function": "f"}])])
    count("tool_calls function None", model="gpt-4",
          messages=[_msg("assistant", None, tool_calls=[{"function": None}])])
    count("function_call not mapping", model="gpt-4", messages=[_msg("assistant", None, function_call=[1])])
    count("search_results key", model="gpt-4o", messages=[_msg("user", "q", search_results=[
        {"source": "s", "title": "T", "content": [{"type": "text", "text": "result text"}]}])])
    count("thinking_blocks key (ignored)", model="gpt-4o", messages=[_msg("assistant", "x", thinking_blocks=[
        {"type": "thinking", "thinking": "hmm"}])])
    # content blocks
    blocks = {
        "text": {"type": "text", "text": CORPUS[3]},
        "text no text": {"type": "text"},
        "text int": {"type": "text", "text": 12345},
        "str item": "plain string item",
        "thinking": {"type": "thinking", "thinking": "let me think 思考", "signature": "sig=="},
        "thinking empty": {"type": "thinking", "thinking": ""},
        "redacted_thinking": {"type": "redacted_thinking", "data": "opaque"},
        "tool_reference": {"type": "tool_reference", "tool_name": "get_weather"},
        "tool_use": {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"location": "Oslo"}},
        "tool_use minimal": {"type": "tool_use", "id": "tu_1"},
        "tool_result str": {"type": "tool_result", "tool_use_id": "tu_1", "content": "22C and sunny"},
        "tool_result list": {"type": "tool_result", "tool_use_id": "tu_1", "content": [
            {"type": "text", "text": "r"}, _img(IMAGES["png-1x1"], "low")], "is_error": False},
        "search_result": {"type": "search_result", "source": "https://x", "title": "Title",
                          "content": [{"type": "text", "text": "snippet"}]},
        "document text": {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                         "data": "document body"}, "title": "T", "context": "C"},
        "document content str": {"type": "document", "source": {"type": "content", "content": "inline"}},
        "document content list": {"type": "document", "source": {"type": "content", "content": [
            {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}},
        "document pdf base64": {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                               "data": PDF_URL.split(",", 1)[1]}},
        "document url": {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        "document file id": {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
        "file": {"type": "file", "file": {"filename": "notes.txt", "file_data": PDF_URL}},
        "file no data": {"type": "file", "file": {"filename": "notes.txt"}},
        "file id": {"type": "file", "file": {"file_id": "file-abc"}},
        "file not mapping": {"type": "file", "file": "x"},
        "image anthropic base64": {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                               "data": IMAGES["png-300x300"].split(",", 1)[1]}},
        "image anthropic url": {"type": "image", "source": {"type": "url", "url": "https://example.com/i.png"}},
        "image anthropic empty": {"type": "image", "source": {"type": "base64", "data": ""}},
    }
    for name, block in blocks.items():
        for udc in (False, True):
            count(f"block {name} udc={udc}", model="gpt-4o", messages=[_msg("user", [block, "tail"])],
                  use_default_image_token_count=udc)
    for name, url in IMAGES.items():
        for detail in (None, "low", "high", "auto"):
            for udc in (False, True):
                count(f"image {name} detail={detail} udc={udc}", model="gpt-4o",
                      messages=[_msg("user", [{"type": "text", "text": "what is this?"}, _img(url, detail)])],
                      use_default_image_token_count=udc)
    bad_blocks = {
        "image detail invalid": _img(IMAGES["png-1x1"], "ultra"),
        "image detail None": {"type": "image_url", "image_url": {"url": IMAGES["png-1x1"], "detail": None}},
        "image missing url": {"type": "image_url", "image_url": {"detail": "low"}},
        "image empty url": {"type": "image_url", "image_url": {"url": "", "detail": "low"}},
        "image blank str": {"type": "image_url", "image_url": "   "},
        "image int": {"type": "image_url", "image_url": 5},
        "image absent": {"type": "image_url"},
        "image anthropic no source": {"type": "image"},
        "document no source": {"type": "document"},
        "unknown type": {"type": "video", "video": "x"},
        "type None": {"type": None},
        "no type": {"text": "x"},
        "int item": 5,
        "None item": None,
        "list item": ["x"],
        "tool_result bad nested": {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "bogus"}]},
        "tool_result nested error": {"type": "tool_result", "tool_use_id": "t", "content": [{"text": "no type"}]},
        "tool_use dict input": {"type": "tool_use", "id": "x", "name": "n", "input": {"nested": {"a": [1]}}},
    }
    for name, block in bad_blocks.items():
        for dtc in (None, 0, 7):
            count(f"bad block {name} default_token_count={dtc}", model="gpt-4",
                  messages=[_msg("user", ["before", block])], default_token_count=dtc)
    # tools and tool_choice
    for i, tools in enumerate(TOOLS):
        for tc in TOOL_CHOICES:
            for system in (False, True):
                msgs = ([_msg("system", "sys")] if system else []) + base
                count(f"tools[{i}] tool_choice={tc!r} system={system}", model="gpt-4o", messages=msgs,
                      tools=tools, tool_choice=tc)
        count(f"tools[{i}] count_response_tokens", model="gpt-4", messages=base, tools=tools,
              count_response_tokens=True)
    bad_tools = {
        "property not a dict": [_tool("f", {"properties": {"a": "string"}})],
        "array without items": [_tool("f", {"properties": {"a": {"type": "array"}}})],
        "required as str": [_tool("f", {"properties": {"ab": {"type": "string"}}, "required": "abc"})],
        "enum of numbers and None": [_tool("f", {"properties": {"a": {"type": "integer", "enum": [1, None, 2.5]}}})],
        "parameters not a dict": [_tool("f", ["x"])],
        "properties a list": [_tool("f", {"properties": ["a"]})],
        "tools a dict": {"a": 1},
        "tools a str": "abc",
        "tools an int": 5,
        "tools list of ints": [5, None, "x"],
        "tools empty list": [],
        "function not a dict": [{"type": "function", "function": "f"}],
    }
    for name, tools in bad_tools.items():
        count(f"bad tools {name}", model="gpt-4o", messages=base, tools=tools)
    for name, tc in {"no function": {"type": "function"}, "function str": {"type": "function", "function": "x"},
                     "no name": {"type": "function", "function": {}}, "list": [1], "int": 3,
                     "name int": {"type": "function", "function": {"name": 42}}}.items():
        count(f"bad tool_choice {name}", model="gpt-4o", messages=base, tool_choice=tc)
    # argument errors and flags
    count("text and messages", model="gpt-4", text="a", messages=base)
    count("neither text nor messages", model="gpt-4")
    count("text None messages None", model="gpt-4", text=None, messages=None)
    count("text with tools", model="gpt-4", text="a", tools=TOOLS[0])
    count("text with tool_choice", model="gpt-4", text="a", tool_choice="auto")
    count("text with empty tools", model="gpt-4", text="a", tools=[])
    count("text int", model="gpt-4", text=5)
    count("text dict", model="gpt-4", text={"a": 1})
    count("text bool", model="gpt-4", text=True)
    count("messages dict", model="gpt-4", messages={"role": "user", "content": "x"})
    count("messages str", model="gpt-4", messages="hello")
    count("messages int", model="gpt-4", messages=5)
    count("messages [None]", model="gpt-4", messages=[None])
    count("messages [str]", model="gpt-4", messages=["hello"])
    count("messages empty", model="gpt-4", messages=[])
    count("messages empty with tools", model="gpt-4", messages=[], tools=TOOLS[1], tool_choice="none")
    count("model int", model=5, text="a")
    count("model int messages", model=5, messages=base)
    count("model list", model=["gpt-4"], text="a")
    count("count_response_tokens None", model="gpt-4", messages=base, count_response_tokens=None)
    count("count_response_tokens True", model="gpt-4", messages=base, count_response_tokens=True)
    count("count_response_tokens True, text", model="gpt-4", text="hi", count_response_tokens=True)
    count("use_default_image_token_count None", model="gpt-4",
          messages=[_msg("user", [_img(IMAGES["png-300x300"], "high")])], use_default_image_token_count=None)
    count("custom_tokenizer None", model="gpt-4", text="abc", custom_tokenizer=None)
    count("custom_tokenizer empty dict", model="gpt-4", text="abc", custom_tokenizer={})
    count("custom_tokenizer bogus type", model="gpt-4", text="abc", custom_tokenizer={"type": "bogus"})
    count("custom_tokenizer openai tag only", model="gpt-4o", text="abc",
          custom_tokenizer={"type": "openai_tokenizer"})
    count("custom_tokenizer str", model="gpt-4", text="abc", custom_tokenizer="x")
    count("custom_tokenizer openai p50k", model="gpt-4o", text=CORPUS[0], custom_tokenizer="$openai:p50k_base")
    count("custom_tokenizer hf anthropic", model="gpt-4", text=CORPUS[2], custom_tokenizer="$hf_anthropic")
    count("custom_tokenizer hf anthropic messages", model="gpt-4",
          messages=[_msg("user", CORPUS[5])], custom_tokenizer="$hf_anthropic")
    count("disable_token_counter text", model="gpt-4", text="abc", disable=True)
    count("disable_token_counter error args", model="gpt-4", text="a", messages=base, disable=True)
    count("pydantic Message objects", model="gpt-4o", objects=True, messages=[
        _msg("assistant", "hello", tool_calls=[_tool_call("f", '{"a": 1}')]), _msg("user", "hi there")])
    count("pydantic Message objects with list content", model="gpt-4o", objects=True, messages=[
        _msg("user", [{"type": "text", "text": "x"}])])
    count("pydantic Message objects mixed", model="gpt-4o", objects=True, messages=[_msg("user", "x"), "str"])

    # messages_reach_token_count and is_prompt_caching_valid_prompt (router prompt-caching check)
    conv = [_msg("system", CORPUS[0] * 20), _msg("user", CORPUS[2] * 30), _msg("assistant", CORPUS[3] * 10),
            _msg("user", [_img(IMAGES["png-300x300"], "high"), {"type": "text", "text": "what?"}])]
    for model in ["gpt-4o", "gpt-4", "", "claude-opus-4-6"]:
        for threshold in (-1, 0, 1, 3, 50, 400, 1024, 2000, 10**9):
            cases.append({"label": f"reach {model!r} {threshold}", "fn": "reach", "kw": {
                "model": model, "messages": conv, "threshold": threshold, "tools": TOOLS[0],
                "use_default_image_token_count": threshold % 2 == 0}})
            cases.append({"label": f"caching_valid {model!r} {threshold}", "fn": "caching_valid", "kw": {
                "model": model, "messages": conv, "tools": TOOLS[1], "min_token_count": threshold}})
    cases.append({"label": "reach disabled", "fn": "reach", "disable": True,
                  "kw": {"model": "gpt-4", "messages": conv, "threshold": 0}})
    cases.append({"label": "reach bad content", "fn": "reach",
                  "kw": {"model": "gpt-4", "messages": [_msg("user", [{"type": "x"}])], "threshold": 1}})
    cases.append({"label": "reach bad messages", "fn": "reach",
                  "kw": {"model": "gpt-4", "messages": 5, "threshold": 1}})

    # litellm.encode / litellm.decode
    for model in ["gpt-4o", "gpt-4", "text-davinci-003", "", "claude-opus-4-6", "llama-2-7b"]:
        for text in ["", "hello world", "".join(CORPUS), "".join(SPECIAL_TOKEN_TEXT), "".join(SURROGATES),
                     "".join(WHITESPACE)]:
            cases.append({"label": f"encode {model!r}", "fn": "encode", "kw": {"model": model, "text": text}})
        for tokens in ([], [15339, 1917], [100257], [100276, 100277, 100256], list(range(0, 3000, 7)),
                       [199999], [100000000], [-1], [2**32], [2**63 - 1], [2**63], [2**64], ["a"], [1.5],
                       None, "abc", [0xE6, 0x97]):
            cases.append({"label": f"decode {model!r} {tokens!r:.40}", "fn": "decode",
                          "kw": {"model": model, "tokens": tokens}})
    for spec in ("$openai:o200k_base", "$openai:p50k_base", "$hf_anthropic", {"type": "openai_tokenizer"}):
        cases.append({"label": f"encode custom {spec}", "fn": "encode",
                      "kw": {"model": "gpt-4", "text": CORPUS[4] + SPECIAL_TOKEN_TEXT[0], "custom_tokenizer": spec}})
        cases.append({"label": f"decode custom {spec}", "fn": "decode",
                      "kw": {"model": "gpt-4", "tokens": [1, 2, 3, 50256], "custom_tokenizer": spec}})
    cases.append({"label": "encode int text", "fn": "encode", "kw": {"model": "gpt-4", "text": 5}})
    cases.append({"label": "encode None text", "fn": "encode", "kw": {"model": "gpt-4", "text": None}})

    # the encodings get_encoding returns, directly
    for name in ("cl100k_base", "o200k_base", "p50k_base"):
        cases.append({"label": f"{name} info", "fn": "encoding", "name": name, "op": "info"})
        for text in PIECES + ["".join(PIECES), "".join(WHITESPACE) * 20, "x" * 5000, " " * 5000]:
            for op in ("encode_nd", "encode_ordinary", "count", "encode", "encode_all"):
                cases.append({"label": f"{name} {op}", "fn": "encoding", "name": name, "op": op, "arg": text})
        for tokens in ([], [0, 1, 2], [50256], [100257], [199999, 200000], list(range(0, 50000, 97)),
                       [0xE6], [10**9], [2**32], [2**63], [-5], None, "xyz", [[1]]):
            for op in ("decode", "decode_bytes"):
                cases.append({"label": f"{name} {op} {tokens!r:.30}", "fn": "encoding", "name": name, "op": op,
                              "arg": tokens})
    cases.append({"label": "unknown encoding", "fn": "encoding", "name": "bogus_base", "op": "info"})
    cases.append({"label": "encoding name int", "fn": "encoding", "name": 5, "op": "info"})
    return cases


# ---------------------------------------------------------------------------------------
# Seeded random cases
# ---------------------------------------------------------------------------------------


def _random_text(r: random.Random, max_pieces: int = 12) -> str:
    out = []
    for _ in range(r.randint(0, max_pieces)):
        roll = r.random()
        if roll < 0.6:
            out.append(r.choice(PIECES))
        elif roll < 0.8:
            out.append("".join(chr(r.randint(0x20, 0x2FFF)) for _ in range(r.randint(1, 20))))
        elif roll < 0.9:
            out.append(r.choice(WHITESPACE) * r.randint(1, 40))
        else:
            out.append(str(r.randint(0, 10**r.randint(1, 30))))
    return "".join(out)


def _random_block(r: random.Random):
    roll = r.random()
    if roll < 0.45:
        return {"type": "text", "text": _random_text(r)}
    if roll < 0.55:
        return _random_text(r, 3)
    if roll < 0.7:
        return _img(r.choice(list(IMAGES.values())[:18]), r.choice([None, "low", "high", "auto"]))
    if roll < 0.8:
        return {"type": "thinking", "thinking": _random_text(r), "signature": "s"}
    if roll < 0.87:
        return {"type": "tool_result", "tool_use_id": "t", "content": r.choice([_random_text(r), [
            {"type": "text", "text": _random_text(r)}]])}
    if roll < 0.93:
        return {"type": "tool_use", "id": "u", "name": "f", "input": {"q": _random_text(r, 3)}}
    if roll < 0.97:
        return {"type": "document", "source": {"type": "text", "data": _random_text(r)}, "title": _random_text(r, 2)}
    return r.choice([{"type": "bogus"}, {"no": "type"}, 7, _img("", "low")])  # errors


def _random_message(r: random.Random) -> dict:
    role = r.choice(ROLES)
    roll = r.random()
    content = (_random_text(r) if roll < 0.55 else None if roll < 0.65
               else [_random_block(r) for _ in range(r.randint(0, 4))])
    m = _msg(role, content)
    if r.random() < 0.2:
        m["name"] = r.choice(["alice", "bob_2", "x" * 30, "名前"])
    if role == "assistant" and r.random() < 0.4:
        m["tool_calls"] = [_tool_call(r.choice(["f", "get_weather"]), json.dumps(
            {"k": _random_text(r, 3), "n": r.randint(-5, 5), "l": [1, 2]}, ensure_ascii=r.random() < 0.5))
            for _ in range(r.randint(1, 3))]
    if role == "assistant" and r.random() < 0.1:
        m["function_call"] = {"name": "f", "arguments": _random_text(r, 3)}
    if role == "tool":
        m["tool_call_id"] = "call_" + str(r.randint(0, 99))
    return m


def _random_schema(r: random.Random, depth: int = 0) -> dict:
    kind = r.choice(["string", "integer", "number", "boolean", "null", "array", "object", "enum", None]
                    if depth < 3 else ["string", "integer", "boolean"])
    if kind == "array":
        s = {"type": "array", "items": _random_schema(r, depth + 1)}
    elif kind == "object":
        props = {f"p{i}_{r.choice(['a', 'ü', 'id'])}": _random_schema(r, depth + 1) for i in range(r.randint(0, 4))}
        s = {"type": "object", "properties": props}
        if props and r.random() < 0.6:
            s["required"] = r.sample(sorted(props), r.randint(1, len(props)))
    elif kind == "enum":
        s = {"type": r.choice(["string", "integer"]), "enum": [_random_text(r, 1)[:10] for _ in range(3)]}
    elif kind is None:
        s = {}
    else:
        s = {"type": kind}
    if r.random() < 0.4:
        s["description"] = _random_text(r, 2)
    return s


def _random_cases(seed: int, n: int = 300) -> list[dict]:
    r = random.Random(seed)
    cases = []
    for i in range(n):
        model = r.choice(MODELS + HF_MODELS[:1])
        roll = r.random()
        if roll < 0.3:
            text = _random_text(r, 40) if r.random() < 0.8 else [_random_text(r) for _ in range(r.randint(0, 5))]
            kw = {"model": model, "text": text}
        else:
            kw = {"model": model, "messages": [_random_message(r) for _ in range(r.randint(0, 6))]}
            if r.random() < 0.4:
                kw["tools"] = [_tool(f"fn_{j}", _random_schema(r) if r.random() < 0.9 else None,
                                     _random_text(r, 2) or None) for j in range(r.randint(1, 3))]
                kw["tool_choice"] = r.choice(TOOL_CHOICES)
            if r.random() < 0.2:
                kw["count_response_tokens"] = r.choice([True, False, None])
            if r.random() < 0.3:
                kw["use_default_image_token_count"] = r.choice([True, False])
            if r.random() < 0.2:
                kw["default_token_count"] = r.choice([0, 10, 123])
        cases.append({"label": f"random #{i}", "fn": "count", "kw": kw, "entries": ENTRIES})
        if i % 10 == 0 and "messages" in kw:
            cases.append({"label": f"random reach #{i}", "fn": "reach", "kw": {
                "model": model, "messages": kw["messages"], "threshold": r.randint(0, 300),
                "tools": kw.get("tools"), "use_default_image_token_count": True}})
    for i in range(20):  # one long text per case, past the 1,024-character chunk size
        text = "".join(r.choice(PIECES) for _ in range(r.randint(50, 600)))
        cases.append({"label": f"random long #{i} len={len(text)}", "fn": "count",
                      "kw": {"model": r.choice(MODELS), "text": text}, "entries": ENTRIES})
    return cases


# ---------------------------------------------------------------------------------------
# Hypothesis cases (drawn in this process only)
# ---------------------------------------------------------------------------------------
_CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]),
                   st.sampled_from([w for w in WHITESPACE if len(w) == 1]),
                   st.sampled_from(["'", "s", "S", "ſ", "L", "1", "<", "|", ">", "\u0301", "\u200d"]))
TEXT = st.lists(st.one_of(st.text(_CHARS, max_size=25), st.sampled_from(PIECES)), max_size=6).map("".join)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), TEXT,
                        st.floats(allow_nan=False, allow_infinity=False))
BLOCK = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, TEXT),
    TEXT,
    st.builds(_img, st.sampled_from(list(IMAGES.values())), st.sampled_from([None, "low", "high", "auto"])),
    st.builds(lambda t: {"type": "thinking", "thinking": t}, TEXT),
    st.builds(lambda t: {"type": "tool_reference", "tool_name": t}, TEXT),
    st.builds(lambda t: {"type": "tool_result", "tool_use_id": "x", "content": t}, TEXT),
    st.dictionaries(st.sampled_from(["type", "text", "image_url", "source"]), JSON_SCALAR, max_size=3),
)
SCHEMA = st.recursive(
    st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean", "null"])},
                                    optional={"description": TEXT}),
              st.fixed_dictionaries({"type": st.sampled_from(["string", "integer"]),
                                     "enum": st.lists(st.one_of(TEXT, st.integers()), max_size=4)})),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": inner}),
        st.fixed_dictionaries({"type": st.just("object"),
                               "properties": st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner,
                                                             max_size=4)},
                              optional={"required": st.lists(st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                                                             max_size=3),
                                        "description": TEXT})),
    max_leaves=8,
)
TOOL = st.builds(lambda name, desc, params: _tool(name, params, desc),
                 st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True), st.none() | TEXT,
                 st.none() | SCHEMA)
TOOL_CALL = st.builds(_tool_call, st.just("f"), st.one_of(TEXT, st.builds(json.dumps, st.dictionaries(
    st.text(max_size=5), JSON_SCALAR, max_size=4))))
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(ROLES),
     "content": st.one_of(st.none(), TEXT, st.lists(BLOCK, max_size=4), st.integers())},
    optional={"name": TEXT, "tool_calls": st.lists(TOOL_CALL, max_size=3), "tool_call_id": TEXT,
              "function_call": st.fixed_dictionaries({"name": TEXT}, optional={"arguments": TEXT})},
)
CASE = st.one_of(
    st.fixed_dictionaries({"model": st.sampled_from(MODELS),
                           "text": st.one_of(TEXT, st.lists(st.one_of(TEXT, st.integers()), max_size=4))}),
    st.fixed_dictionaries(
        {"model": st.sampled_from(MODELS), "messages": st.lists(MESSAGE, max_size=5)},
        optional={"tools": st.lists(TOOL, max_size=3), "tool_choice": st.sampled_from(TOOL_CHOICES),
                  "count_response_tokens": st.sampled_from([True, False, None]),
                  "use_default_image_token_count": st.booleans(),
                  "default_token_count": st.none() | st.integers(0, 50)}),
)


@contextlib.contextmanager
def _without_local_constants():
    """Hypothesis (6.131+) also draws constants it finds in the source of every local module
    loaded, so the cases would change with whichever modules happen to be imported (other test
    files, fast_litellm itself). Draw without them: the seed alone then fixes the cases. Uses
    Hypothesis internals; if they move, this does nothing."""
    try:
        from hypothesis.internal.conjecture import providers

        get_local, cache = providers._get_local_constants, providers.CONSTANTS_CACHE.cache
        empty = type(providers.GLOBAL_CONSTANTS)()
    except (ImportError, AttributeError):
        yield
        return
    providers._get_local_constants = lambda: empty
    cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = get_local
        cache.clear()


def _hypothesis_cases(seed: int, n: int) -> list[dict]:
    drawn: list[dict] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=n, database=None, deadline=None, phases=[hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(CASE)
    def collect(kw):
        drawn.append(kw)

    with _without_local_constants():
        collect()
    return [{"label": f"hypothesis #{i}", "fn": "count", "kw": kw, "entries": ENTRIES}
            for i, kw in enumerate(drawn[:n])]


# ---------------------------------------------------------------------------------------
# Long texts: chunking and extrapolation at LiteLLM's default constants
# ---------------------------------------------------------------------------------------


def _long_cases() -> list[dict]:
    mixed = "".join(CORPUS)
    cases = []
    for model in ("gpt-4o", "gpt-4"):
        for n in (1, 2, 3, 40):  # around and past the 1,024-character chunk size
            cases.append({"label": f"long chunks {model} x{n}", "fn": "count",
                          "kw": {"model": model, "text": _rep(mixed, n)}, "entries": ENTRIES})
        cases.append({"label": f"long single word {model}", "fn": "count",
                      "kw": {"model": model, "text": _rep("ab", 20000)}, "entries": ENTRIES})
        cases.append({"label": f"long CRLF {model}", "fn": "count",
                      "kw": {"model": model, "text": _rep("x\r\n", 7000)}, "entries": ENTRIES})
        cases.append({"label": f"long spaces {model}", "fn": "count",
                      "kw": {"model": model, "text": _rep(" ", 30001)}, "entries": ENTRIES})
    # past TOKEN_COUNTER_MAX_EXACT_CHARS (4,000,000): extrapolated from 16 samples
    reps = 4_000_000 // len(mixed) + 2
    cases.append({"label": "extrapolated text gpt-4o", "fn": "count",
                  "kw": {"model": "gpt-4o", "text": _rep(mixed, reps)}, "entries": ["core"], "big": True})
    cases.append({"label": "exactly at the limit gpt-4", "fn": "count",
                  "kw": {"model": "gpt-4", "text": _rep("abcd", 1_000_000)}, "entries": ["core"], "big": True})
    cases.append({"label": "extrapolated message gpt-4", "fn": "count", "entries": ["litellm"], "big": True,
                  "kw": {"model": "gpt-4", "messages": [_msg("user", _rep("Hello, 世界! ", 400_001))]}})
    return cases


HYPOTHESIS_GROUP = f"hypothesis-{HYPOTHESIS_SEED}-n{HYPOTHESIS_EXAMPLES}"
GROUPS = ["fixed", *(f"seeded-{s}" for s in SEEDS), HYPOTHESIS_GROUP, "long"]


def _has_surrogate_pair(s: str) -> bool:
    return any("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff" for a, b in itertools.pairwise(s))


def to_json(v):
    """JSON carries a lone surrogate as ``\\udXXX``, but joins an escaped high+low pair into one
    character on loading; strings holding such a pair travel as ``{"$chars": [code points]}``."""
    if isinstance(v, str):
        return {"$chars": [ord(c) for c in v]} if _has_surrogate_pair(v) else v
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    return v


def from_json(v):
    if isinstance(v, dict):
        if len(v) == 1 and "$chars" in v:
            return "".join(map(chr, v["$chars"]))
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def build_cases() -> list[dict]:
    groups = {"fixed": _fixed_cases(), "long": _long_cases(),
              HYPOTHESIS_GROUP: _hypothesis_cases(HYPOTHESIS_SEED, HYPOTHESIS_EXAMPLES)}
    for s in SEEDS:
        groups[f"seeded-{s}"] = _random_cases(s)
    cases = []
    for group in GROUPS:
        for i, c in enumerate(groups[group]):
            c["group"] = group
            c["id"] = f"{group}/{i}"
            cases.append(c)
    return cases


# ---------------------------------------------------------------------------------------
# Running both sides
# ---------------------------------------------------------------------------------------


def _run_side(cases_path: str, env: dict) -> dict:
    code = f"CASES_PATH = {cases_path!r}\n" + SNIPPET
    result, _stderr = run(code, {**COMMON_ENV, **env}, plugins=None, timeout=280)
    return result


@pytest.fixture(scope="module")
def diff(tmp_path_factory):
    cases = build_cases()
    encoded = json.dumps(to_json(cases))  # ensure_ascii: lone surrogates travel as \udXXX escapes
    assert from_json(json.loads(encoded)) == cases, "the cases do not survive a JSON round trip"
    small = [c for c in cases if not c.get("big")]
    d = tmp_path_factory.mktemp("token_diff")
    default_path, small_path = d / "cases.json", d / "cases_small.json"
    default_path.write_text(encoded, encoding="ascii")
    small_path.write_text(json.dumps(to_json(small)), encoding="ascii")
    jobs = {
        ("default", "reference"): (str(default_path), REFERENCE_ENV),
        ("default", "patched"): (str(default_path), PATCHED_ENV),
        ("small", "reference"): (str(small_path), {**REFERENCE_ENV, **SMALL_CONSTANTS_ENV}),
        ("small", "patched"): (str(small_path), {**PATCHED_ENV, **SMALL_CONSTANTS_ENV}),
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {k: pool.submit(_run_side, path, env) for k, (path, env) in jobs.items()}
        out = {k: f.result() for k, f in futures.items()}
    ref = out[("default", "reference")]
    print(f"\n{_distribution(cases, ref['results'])}")
    print("elapsed in snippets: " + ", ".join(f"{a}/{b} {r['elapsed']:.1f}s" for (a, b), r in out.items()))
    return {"cases": {c["id"]: c for c in cases}, "small_ids": {c["id"] for c in small}, "out": out}


def _flat(result) -> list:
    """One count case holds a result per entry point; everything else holds one result."""
    return result if result and isinstance(result[0], list) else [result]


def _distribution(cases: list[dict], results: dict) -> str:
    kinds: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    for c in cases:
        for res in _flat(results[c["id"]]):
            kinds[(c["fn"], res[0])] += 1
            if res[0] == "err":
                errors[res[1]] += 1
    lines = ["reference results by function: " + ", ".join(f"{fn} {k}={n}" for (fn, k), n in sorted(kinds.items())),
             "reference errors by type: " + ", ".join(f"{t}={n}" for t, n in errors.most_common())]
    return "\n".join(lines)


def _compare(diffstate: dict, config: str, group: str) -> None:
    ref = diffstate["out"][(config, "reference")]["results"]
    pat = diffstate["out"][(config, "patched")]["results"]
    ids = [i for i, c in diffstate["cases"].items() if c["group"] == group
           and (config == "default" or i in diffstate["small_ids"])]
    assert ids, f"no cases in group {group}"
    bad = [i for i in ids if ref[i] != pat[i]]
    if bad:
        first = bad[0]
        case = json.dumps(diffstate["cases"][first], ensure_ascii=True)
        entries = diffstate["cases"][first].get("entries")
        label = diffstate["cases"][first]["label"]
        lines = [f"{len(bad)} of {len(ids)} cases differ ({config} constants); first: {first} [{label}]",
                 f"case: {case[:1500]}{' ...' if len(case) > 1500 else ''}"]
        for k, (a, b) in enumerate(zip(_flat(ref[first]), _flat(pat[first]))):
            mark = "  " if a == b else "!="
            where = f"entry {entries[k]}" if entries else "result"
            lines += [f"{mark} {where}:", f"     reference: {json.dumps(a)[:800]}",
                      f"     patched:   {json.dumps(b)[:800]}"]
        lines.append("other differing cases: " + ", ".join(bad[1:20]) + (" ..." if len(bad) > 20 else ""))
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.mark.parametrize("group", GROUPS)
def test_same_results_default_constants(diff, group):
    _compare(diff, "default", group)


@pytest.mark.parametrize("group", GROUPS)
def test_same_results_small_chunk_and_extrapolation_constants(diff, group):
    _compare(diff, "small", group)


def test_cases_cover_results_and_errors(diff):
    """The corpus is only useful if it reaches both LiteLLM's answers and its exceptions."""
    results = diff["out"][("default", "reference")]["results"]
    flat = [r for i in diff["cases"] for r in _flat(results[i])]
    oks = sum(r[0] == "ok" for r in flat)
    error_types = {r[1] for r in flat if r[0] == "err"}
    assert oks >= 0.6 * len(flat), (oks, len(flat))
    assert len(flat) - oks >= 0.05 * len(flat), (len(flat) - oks, len(flat))
    assert {"builtins.ValueError", "builtins.TypeError", "builtins.KeyError", "builtins.AttributeError",
            "builtins.UnboundLocalError", "builtins.OverflowError",
            "litellm.litellm_core_utils.token_counter.UnsupportedContentTypeError"} <= error_types, error_types
    assert diff["out"][("default", "reference")]["disabled"] is True


def test_lone_surrogates_reach_the_interpreters(diff):
    ids = [i for i, c in diff["cases"].items() if c["fn"] == "encoding" and c.get("op") == "encode_nd"
           and c.get("arg") == "\ud800"]
    assert ids
    assert diff["out"][("default", "reference")]["results"][ids[0]][0] == "ok"


def test_patched_side_ran_native_code(diff):
    """The patched interpreter really counted on the C tokenizer (not in self-check mode)."""
    patched = diff["out"][("default", "patched")]
    if SELFCHECK:
        assert patched["disabled"] is True
        return
    assert patched["disabled"] is False
    status = patched["status"]
    native = status.get("token_counter", {}).get("native_calls", 0)
    assert native > 0, f"token_counter made no native calls; fast_litellm.status() = {status}"
    # token_counter(messages=...)'s one-pass path answered the plain ones itself (the
    # rest, odd shapes and every case LiteLLM raises on, went to LiteLLM's function)
    fast = patched["fast_path"]
    assert fast["served"] >= 200 and fast["delegated"] >= 100, fast
