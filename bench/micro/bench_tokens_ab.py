"""token_counter A/B: fast_litellm against unpatched LiteLLM and the tokenizers, in one run.

One process, variants interleaved (A B C A B C ...) for ``--rounds`` rounds; every round
times each variant for about ``--seconds`` and keeps the per-call time. Reported: the
median over rounds with min-max, and each variant's ratio to its baseline computed round by
round (median, min-max). Same inputs as bench_tokens.py (20-message chat with 5 tools, a
200 KB mixed document) plus 1 MB of prose and 1 MB of real code (LiteLLM's proxy_server.py).

    .venv/bin/python bench/micro/bench_tokens_ab.py [--rounds 7] [--seconds 0.3] [--json out]

Unpatched LiteLLM is the same process with ``fast_litellm.revert()``; ``fast_litellm.apply()``
puts the patches back (the test suite checks that both directions are exact).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (LITELLM_LOCAL_MODEL_COST_MAP before litellm)

import fast_litellm  # noqa: E402  (before litellm: patches on import)
import litellm  # noqa: E402,F401  (imported after fast_litellm, on purpose)

from bench_tokens import CHAT_1, CHAT_20, TOOLS, _prose, build_document  # noqa: E402






def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--json")
    args = ap.parse_args()
    import random

    import litellm.litellm_core_utils.default_encoding  # noqa: F401  (TIKTOKEN_CACHE_DIR)
    import tiktoken

    _common.quiet_litellm()
    rng = random.Random(20261125)
    prose = ""
    while len(prose.encode()) < 1_000_000:
        prose += _prose(rng) + "\n\n"
    with open(os.path.join(os.path.dirname(litellm.__file__), "proxy", "proxy_server.py"), encoding="utf-8") as f:
        code = f.read()[:1_000_000]
    doc = build_document()

    groups = {}  # name -> (baseline variant, {variant: (fn, setup_state)})
    calls = {
        "token_counter chat-1msg gpt-4o": lambda: litellm.token_counter(model="gpt-4o", messages=CHAT_1),
        "token_counter chat-20msg-5tools gpt-4o": lambda: litellm.token_counter(
            model="gpt-4o", messages=CHAT_20, tools=TOOLS),
        "token_counter doc-200KB gpt-4o": lambda: litellm.token_counter(model="gpt-4o", text=doc),
    }
    for name, fn in calls.items():
        groups[name] = ("litellm", {"litellm": ("stock", fn), "fast_litellm": ("fast", fn)})
    try:
        from litellm.rust_bridge._native import Tokenizer
    except Exception:  # noqa: BLE001
        Tokenizer = None
    for enc in ("cl100k_base", "o200k_base"):
        tk = tiktoken.get_encoding(enc)
        fl = fast_litellm.get_encoding(enc)
        rs = Tokenizer.from_tiktoken(enc) if Tokenizer is not None else None
        for label, text in (("prose-1MB", prose), ("code-1MB", code)):
            variants = {"tiktoken encode": ("any", lambda tk=tk, t=text: tk.encode_ordinary(t)),
                        "fast_litellm count": ("any", lambda fl=fl, t=text: fl.count(t)),
                        "fast_litellm encode": ("any", lambda fl=fl, t=text: fl.encode_ordinary(t))}
            if rs is not None:
                variants["litellm-rust count"] = ("any", lambda rs=rs, t=text: rs.count(t))
            groups[f"{enc} {label}"] = ("tiktoken encode", variants)
            assert fl.count(text) == len(tk.encode_ordinary(text))

    # the counts themselves agree (a faster wrong answer is not a result)
    for name, fn in calls.items():
        fast_litellm.apply()
        a = fn()
        fast_litellm.revert()
        b = fn()
        assert a == b, (name, a, b)

    times = {g: {v: [] for v in vs} for g, (_, vs) in groups.items()}
    state = None
    for _ in range(args.rounds):
        for g, (_, vs) in groups.items():
            for v, (need, fn) in vs.items():
                if need != "any" and need != state:
                    (fast_litellm.apply if need == "fast" else fast_litellm.revert)()
                    state = need
                times[g][v].append(_common.per_call(fn, args.seconds))
    fast_litellm.apply()

    out = {"litellm": litellm.__version__ if hasattr(litellm, "__version__") else "1.108.7",
           "rounds": args.rounds, "seconds": args.seconds, "groups": {}}
    for g, (base, vs) in groups.items():
        size = {"prose-1MB": len(prose.encode()), "code-1MB": len(code.encode())}.get(g.split()[-1])
        rows = {}
        for v in vs:
            ratios = [b / x for b, x in zip(times[g][base], times[g][v])]
            rows[v] = {"us": _common.spread([t * 1e6 for t in times[g][v]]), "speedup_vs_" + base: _common.spread(ratios)}
            if size:
                rows[v]["MB_s"] = _common.spread([size / t / 1e6 for t in times[g][v]])
        out["groups"][g] = rows
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    for g, rows in out["groups"].items():
        print(f"\n{g}")
        for v, r in rows.items():
            sp = next(val for k, val in r.items() if k.startswith("speedup"))
            mb = f"  {r['MB_s']['median']:.1f} MB/s" if "MB_s" in r else ""
            print(f"  {v:22s} {r['us']['median']:>12,.1f} us [{r['us']['min']:,.1f}-{r['us']['max']:,.1f}]"
                  f"{mb}  x{sp['median']:.2f} [{sp['min']:.2f}-{sp['max']:.2f}]")


if __name__ == "__main__":
    main()
