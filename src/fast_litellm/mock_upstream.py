"""A small OpenAI-compatible upstream for the demo, the tests and the benchmarks.

It answers on loopback with canned ``chat.completion`` bodies, plain or streamed as
server-sent events, so that the proxy can be exercised with no provider key and no
network. It is an asyncio HTTP/1.1 server with keep-alive and no dependencies.

    python -m fast_litellm.mock_upstream --port 18080 [--host 127.0.0.1]

Routes: ``POST /v1/chat/completions`` (and ``/chat/completions``), ``GET /v1/models``,
``GET /health``. A request whose JSON body has ``"stream": true`` gets an SSE stream.
``POST /fail/...`` (any path under /fail) answers 500, for cooldown tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys

_MAX_HEADER = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024

CONTENT = "Hello from the fast_litellm mock upstream."


def _completion(model: str, created: int) -> bytes:
    body = {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": CONTENT},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _stream_events(model: str, created: int) -> list[bytes]:
    words = CONTENT.split(" ")
    events = []
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        delta = {"content": piece}
        if i == 0:
            delta["role"] = "assistant"
        chunk = {
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    last = {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    }
    events.append(b"data: " + json.dumps(last).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _response(status: str, body: bytes, ctype: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                writer.write(_response("400 Bad Request", b"{}"))
                return
            method, path = parts[0], parts[1].split("?", 1)[0]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if length < 0 or length > _MAX_BODY:
                writer.write(_response("413 Payload Too Large", b"{}"))
                return
            raw = await reader.readexactly(length) if length else b""
            writer.write(_route(method, path, raw))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


def _route(method: str, path: str, raw: bytes) -> bytes:
    if method == "GET" and path in ("/health", "/"):
        return _response("200 OK", b'{"status":"ok"}')
    if method == "GET" and path in ("/v1/models", "/models"):
        return _response("200 OK", b'{"object":"list","data":[{"id":"mock","object":"model"}]}')
    if path.startswith("/fail"):
        return _response(
            "500 Internal Server Error",
            b'{"error":{"message":"mock upstream failure","type":"server_error"}}',
        )
    if method == "POST" and path.endswith("/chat/completions"):
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return _response("400 Bad Request", b'{"error":{"message":"bad json"}}')
        model = str(req.get("model", "mock"))
        created = 1700000000
        if req.get("stream"):
            events = b"".join(_stream_events(model, created))
            head = (
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                f"content-length: {len(events)}\r\nconnection: keep-alive\r\n\r\n"
            )
            return head.encode() + events
        return _response("200 OK", _completion(model, created))
    return _response("404 Not Found", b'{"error":{"message":"not found"}}')


async def serve(host: str, port: int, ready_file: str | None = None) -> None:
    server = await asyncio.start_server(_handle, host, port, limit=_MAX_HEADER, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    if ready_file:
        with open(ready_file + ".tmp", "w") as fh:
            fh.write(str(bound))
        os.replace(ready_file + ".tmp", ready_file)
    print(f"fast_litellm mock upstream on http://{host}:{bound}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="write the bound port here once listening")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.ready_file))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
