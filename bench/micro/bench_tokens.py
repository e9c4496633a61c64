"""Token counting: litellm.token_counter on chats and on a ~200 KB document, with tiktoken and
LiteLLM's bundled Rust tokenizer as anchors on the document.

    .venv/bin/python bench/micro/bench_tokens.py [pyperf options, e.g. --fast -o out.json]
"""

from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported)

DOC_BYTES = 200_000
SEED = 20240611

# ---------------------------------------------------------------------------------------------
# Inputs, built deterministically in code.
# ---------------------------------------------------------------------------------------------

CHAT_1 = [{"role": "user", "content": "What is the capital of France, and roughly how many people live there?"}]


def _tool(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


TOOLS = [
    _tool(
        "get_weather",
        "Current weather for a city.",
        {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        ["city"],
    ),
    _tool(
        "search_flights",
        "Search one-way flights between two airports on a date.",
        {
            "origin": {"type": "string", "description": "IATA code"},
            "destination": {"type": "string", "description": "IATA code"},
            "date": {"type": "string", "format": "date"},
            "max_stops": {"type": "integer", "minimum": 0, "maximum": 3},
        },
        ["origin", "destination", "date"],
    ),
    _tool(
        "book_hotel",
        "Book a hotel room.",
        {
            "hotel_id": {"type": "string"},
            "check_in": {"type": "string", "format": "date"},
            "nights": {"type": "integer", "minimum": 1},
            "guests": {"type": "integer", "minimum": 1},
        },
        ["hotel_id", "check_in", "nights"],
    ),
    _tool(
        "convert_currency",
        "Convert an amount between two ISO 4217 currencies at today's rate.",
        {"amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
        ["amount", "from", "to"],
    ),
    _tool(
        "create_calendar_event",
        "Create an event in the user's calendar.",
        {
            "title": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}},
        },
        ["title", "start"],
    ),
]


def _call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _tool_turn(call_id: str, name: str, arguments: dict, result: dict) -> list[dict]:
    return [
        {"role": "assistant", "content": None, "tool_calls": [_call(call_id, name, arguments)]},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)},
    ]


def _chat_20() -> list[dict]:
    messages = [
        {
            "role": "system",
            "content": "You are a travel assistant. Use the tools to check facts before answering, "
            "quote prices in the user's currency, and keep answers short.",
        },
        {"role": "user", "content": "I want to fly from Berlin to Lisbon on 2025-03-14. What's the weather there?"},
        *_tool_turn("call_w1", "get_weather", {"city": "Lisbon", "unit": "celsius"}, {"temp_c": 17, "sky": "clear"}),
        *_tool_turn(
            "call_f1",
            "search_flights",
            {"origin": "BER", "destination": "LIS", "date": "2025-03-14", "max_stops": 1},
            {"flights": [{"no": "TP537", "dep": "06:05", "eur": 142}, {"no": "FR1834", "dep": "11:40", "eur": 89}]},
        ),
        {"role": "assistant", "content": "Lisbon will be 17 °C and clear. Cheapest direct flight: FR1834 at 11:40 for €89."},
        {"role": "user", "content": "Book the hotel Casa Azul for 3 nights from that day, two guests."},
        *_tool_turn(
            "call_h1",
            "book_hotel",
            {"hotel_id": "casa-azul-lis", "check_in": "2025-03-14", "nights": 3, "guests": 2},
            {"confirmation": "CA-77812", "total_eur": 387.0},
        ),
        {"role": "assistant", "content": "Booked: confirmation CA-77812, €387 in total for 3 nights."},
        {"role": "user", "content": "How much is that in US dollars?"},
        *_tool_turn("call_c1", "convert_currency", {"amount": 387.0, "from": "EUR", "to": "USD"}, {"amount": 419.9}),
        {"role": "assistant", "content": "About $419.90."},
        {"role": "user", "content": "Put the flight in my calendar and invite anna@example.com."},
        *_tool_turn(
            "call_e1",
            "create_calendar_event",
            {"title": "FR1834 BER→LIS", "start": "2025-03-14T11:40:00+01:00", "attendees": ["anna@example.com"]},
            {"event_id": "evt_5521", "status": "created"},
        ),
        {"role": "assistant", "content": "Done: the flight is in your calendar and Anna is invited."},
        {"role": "user", "content": "Thanks! Anything I should pack?"},
    ]
    assert len(messages) == 20, len(messages)
    return messages


CHAT_20 = _chat_20()

_WORDS = (
    "the of and to in is that for it as with was on be by this are from at or an have not which but "
    "request proxy model token budget latency cache router deployment limit window counter stream "
    "response provider key team user organisation throughput memory process worker queue retry "
    "timeout fallback prompt completion embedding vector batch schedule metric gauge histogram"
).split()
_CJK = "東京の天気は晴れです。请求已经成功处理。서울에서 만나요。大規模言語モデルの推論。速率限制已触发，请稍后重试。"
_EMOJI = "🚀✨🔥👍🎉🤖📈🧪💡🌍😀🙏"


def _prose(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(4, 9)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 22))]
        sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
    return " ".join(sentences) + "\n\n"


def _python(rng: random.Random, n: int) -> str:
    name = f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}_{n}"
    body = "\n".join(
        f"    {rng.choice(_WORDS)}_{i} = {rng.choice(['len(items)', 'x * 2 + 1', 'cache.get(key)', 'None', repr(rng.random())])}"
        for i in range(rng.randint(3, 8))
    )
    return (
        f"def {name}(items: list[int], key: str = {rng.choice(_WORDS)!r}) -> dict[str, int]:\n"
        f'    """{rng.choice(_WORDS).capitalize()} the {rng.choice(_WORDS)} for each item."""\n'
        f"{body}\n"
        f"    return {{k: v for k, v in zip(items, range({rng.randint(1, 99)})) if v % {rng.randint(2, 9)}}}\n\n\n"
    )


def _json(rng: random.Random, n: int) -> str:
    record = {
        "id": f"req_{n:06d}",
        "model": rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3-70b"]),
        "usage": {"prompt_tokens": rng.randint(5, 9000), "completion_tokens": rng.randint(1, 2000)},
        "latency_ms": round(rng.uniform(80, 4000), 2),
        "tags": rng.sample(_WORDS, 3),
        "ok": rng.random() > 0.1,
    }
    return json.dumps(record, indent=rng.choice([None, 2]), ensure_ascii=False) + "\n"


def _cjk_emoji(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 8)):
        start = rng.randrange(len(_CJK) - 8)
        parts.append(_CJK[start : start + rng.randint(5, 20)] + rng.choice(_EMOJI))
    return " ".join(parts) + "\n\n"


def build_document(size: int = DOC_BYTES, seed: int = SEED) -> str:
    """~`size` bytes of UTF-8: English prose ~45%, Python ~25%, JSON ~20%, CJK+emoji ~10% (by blocks)."""
    rng = random.Random(seed)
    blocks: list[str] = []
    total = 0
    n = 0
    while total < size:
        kind = rng.random()
        block = (
            _prose(rng) if kind < 0.45 else _python(rng, n) if kind < 0.70 else _json(rng, n) if kind < 0.90 else _cjk_emoji(rng)
        )
        blocks.append(block)
        total += len(block.encode("utf-8"))
        n += 1
    return "".join(blocks).encode("utf-8")[:size].decode("utf-8", "ignore")


# ---------------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------------


def _token_counter(model: str, **kwargs):
    def setup():
        import litellm

        _common.quiet_litellm()
        return lambda: litellm.token_counter(model=model, **kwargs)

    return setup


def _doc_token_counter():
    import litellm

    _common.quiet_litellm()
    doc = build_document()
    return lambda: litellm.token_counter(model="gpt-4o", text=doc)


def _bundled_tokenizers_dir() -> str:
    import importlib.util

    origin = importlib.util.find_spec("litellm").origin
    return os.path.join(os.path.dirname(origin), "litellm_core_utils", "tokenizers")


def _tiktoken(encoding: str):
    def setup():
        # The rank files ship inside litellm; point tiktoken at them so it never downloads.
        os.environ["TIKTOKEN_CACHE_DIR"] = _bundled_tokenizers_dir()
        import tiktoken

        enc = tiktoken.get_encoding(encoding)
        doc = build_document()
        return lambda: enc.encode_ordinary(doc)

    return setup


def _rust_tokenizer(encoding: str):
    def setup():
        # The same factory litellm.rust_bridge.tokenizer uses; it reads the bundled rank files
        # (litellm_core_utils/tokenizers/<sha1 of the tiktoken URL>) itself.
        from litellm.rust_bridge._native import Tokenizer

        tok = Tokenizer.from_tiktoken(encoding)
        doc = build_document()
        return lambda: tok.count(doc)

    return setup


def rust_tokenizer_status() -> str:
    """'ok' or the reason LiteLLM's native Tokenizer cannot be built here."""
    try:
        from litellm.rust_bridge._native import Tokenizer

        Tokenizer.from_tiktoken("cl100k_base").count("probe")
        Tokenizer.from_tiktoken("o200k_base").count("probe")
    except Exception as exc:  # noqa: BLE001  (any failure is the answer)
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def register(add) -> None:
    for model in ("gpt-4o", "gpt-3.5-turbo"):
        add(f"tokens chat-1msg {model}", _token_counter(model, messages=CHAT_1))
        add(f"tokens chat-20msg-5tools {model}", _token_counter(model, messages=CHAT_20, tools=TOOLS))
    size = len(build_document().encode("utf-8"))
    add("tokens doc-200KB litellm.token_counter gpt-4o", _doc_token_counter, input_bytes=size)
    for enc in ("cl100k_base", "o200k_base"):
        add(f"tokens doc-200KB tiktoken {enc}", _tiktoken(enc), input_bytes=size)
    # run.py sets this when `--check` reports that the native Tokenizer cannot be built here.
    if os.environ.get("MICRO_SKIP_RUST_TOKENIZER") != "1":
        for enc in ("cl100k_base", "o200k_base"):
            add(f"tokens doc-200KB litellm-rust {enc}", _rust_tokenizer(enc), input_bytes=size)


def main() -> None:
    if "--check" in sys.argv:
        return check()
    _common.run(register, "LiteLLM token counting")


def check() -> None:
    """Print the inputs' shapes and the token counts each path gives (not timed)."""
    import litellm
    import tiktoken

    os.environ["TIKTOKEN_CACHE_DIR"] = _bundled_tokenizers_dir()
    doc = build_document()
    print(f"chat-1msg: {len(CHAT_1)} msg; chat-20msg: {len(CHAT_20)} msgs, {len(TOOLS)} tools")
    print(f"doc: {len(doc)} chars, {len(doc.encode('utf-8'))} bytes")
    for model in ("gpt-4o", "gpt-3.5-turbo"):
        print(f"token_counter {model}: chat-1msg={litellm.token_counter(model=model, messages=CHAT_1)} "
              f"chat-20msg={litellm.token_counter(model=model, messages=CHAT_20, tools=TOOLS)}")
    print(f"token_counter gpt-4o doc: {litellm.token_counter(model='gpt-4o', text=doc)}")
    for enc in ("cl100k_base", "o200k_base"):
        print(f"tiktoken {enc} doc: {len(tiktoken.get_encoding(enc).encode_ordinary(doc))}")
    status = rust_tokenizer_status()
    print(f"litellm-rust Tokenizer: {status}")
    if status == "ok":
        from litellm.rust_bridge._native import Tokenizer

        for enc in ("cl100k_base", "o200k_base"):
            print(f"litellm-rust {enc} doc: {Tokenizer.from_tiktoken(enc).count(doc)}")


if __name__ == "__main__":
    main()
