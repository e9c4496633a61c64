"""The C tokenizer against tiktoken 0.14.0: the same ids, the same errors.

The reference encodings are tiktoken's own, loaded from the rank files LiteLLM bundles
(cl100k, o200k, p50k) and an r50k file derived from p50k: the first 50,256 lines of
p50k_base.tiktoken, which hash to the SHA-256 tiktoken expects of r50k_base.tiktoken
(checked below), so tiktoken itself accepts it.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAMES = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"]
R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def _bundled_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    return os.path.join(os.path.dirname(spec.origin), "litellm_core_utils", "tokenizers")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiktoken-cache")
    src = _bundled_dir()
    for f in os.listdir(src):
        if len(f) == 40:
            shutil.copy(os.path.join(src, f), d / f)
    from fast_litellm.tokenizer import URL

    sha1 = lambda n: hashlib.sha1(URL.format(name=n).encode()).hexdigest()  # noqa: E731
    p50k = (d / sha1("p50k_base")).read_bytes()
    r50k = b"".join(ln for ln in p50k.splitlines(keepends=True) if int(ln.split()[1]) < 50256)
    assert hashlib.sha256(r50k).hexdigest() == R50K_SHA256
    (d / sha1("r50k_base")).write_bytes(r50k)
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(d)
    yield str(d)
    if old is None:
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    else:
        os.environ["TIKTOKEN_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def pairs(cache_dir):
    import tiktoken

    import fast_litellm

    return {n: (fast_litellm.get_encoding(n), tiktoken.get_encoding(n)) for n in NAMES}


def _first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def assert_same_ids(fast, ref, text):
    got = fast.encode_ordinary(text)
    want = ref.encode_ordinary(text)
    if got != want:
        i = _first_diff(got, want)
        raise AssertionError(
            f"{ref.name}: ids differ at token {i} for {text[:200]!r}...\n"
            f"  tiktoken: {want[max(0, i - 3):i + 5]} "
            f"{[ref.decode_single_token_bytes(t) for t in want[max(0, i - 3):i + 5]]}\n"
            f"  fast:     {got[max(0, i - 3):i + 5]}")
    assert fast.count(text) == len(want)


# -- the encoding objects ---------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_attributes_match_tiktoken(pairs, name):
    fast, ref = pairs[name]
    assert fast.name == ref.name
    assert fast.n_vocab == ref.n_vocab
    assert fast.max_token_value == ref.max_token_value
    assert fast.eot_token == ref.eot_token
    assert fast.special_tokens_set == ref.special_tokens_set
    assert fast._special_tokens == ref._special_tokens
    assert fast.memory <= 8 * 1024 * 1024, fast.memory


@pytest.mark.parametrize("name", NAMES)
def test_every_token_decodes_and_reencodes(pairs, name):
    fast, ref = pairs[name]
    ids = list(range(ref.n_vocab))
    ids = [i for i in ids if i <= ref.max_token_value and (
        i in ref._special_token_values or i < fast._bpe.max_rank + 1 and fast._bpe.token_bytes(i) is not None)]
    assert fast.decode_bytes(ids) == ref.decode_bytes(ids)
    for i in ids[::97]:
        assert fast.decode_single_token_bytes(i) == ref.decode_single_token_bytes(i)
        b = ref.decode_single_token_bytes(i)
        assert fast.encode_single_token(b) == ref.encode_single_token(b) == i


# -- every code point -------------------------------------------------------------------

ALL_CODE_POINTS = range(0x110000)


@pytest.mark.exhaustive
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NAMES)
def test_every_code_point_alone(pairs, name):
    fast, ref = pairs[name]
    bad = []
    for cp in ALL_CODE_POINTS:
        c = chr(cp)
        if fast.encode(c) != ref.encode(c, disallowed_special=()):
            bad.append(cp)
    assert not bad, f"{len(bad)} code points differ, first: {[hex(b) for b in bad[:10]]}"


CONTEXTS = ["a{}a", " {}1", "1{}'s", "{}{} ", "\n{}\t", "A{}b", "'{}s", "{}\u0301x", "  {}  "]


@pytest.mark.exhaustive
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_every_code_point_in_context(pairs, name, ctx):
    fast, ref = pairs[name]
    block = 4096
    for start in range(0, 0x110000, block):
        text = "".join(ctx.format(chr(cp), chr(cp)) if ctx.count("{}") == 2 else ctx.format(chr(cp))
                       for cp in range(start, min(start + block, 0x110000)))
        try:
            assert_same_ids(fast, ref, text)
        except AssertionError:
            for cp in range(start, min(start + block, 0x110000)):  # name the code point
                one = ctx.format(chr(cp), chr(cp)) if ctx.count("{}") == 2 else ctx.format(chr(cp))
                assert_same_ids(fast, ref, one)
            raise


# -- generated and real text ------------------------------------------------------------

WHITESPACE = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u180e\u2000\u2007\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
PIECES = [
    "hello", "World", "HTTPServer", "camelCaseWord", "ſ", "K", "'s", "'S", "'ll", "'LL", "'ve", "'Re",
    "'d", "'m", "'t", "ſ'ſ", "don't", "DON'T", "123", "4567890", "3.14", "１２３", "٣٤", "Ⅻ",
    "日本語", "中文测试", "한국어", "Привет", "مرحبا", "नमस्ते", "ελληνικά", "עברית",
    "e\u0301", "a\u0308\u0323", "\u0915\u094d\u0937", "🙂", "👩‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "\u200d",
    "<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "<|", "|>", "{", "}", "\":", "//", "/*",
    "->", "!!", "...", "—", "“", "”", "$", "€", "\\n", "\r\n", "\n\n", "\t\t", "    ", " ", "  ",
    "\ufffd", "\x00", "\x7f", "\U0001f600", "\U00010000", "\U000e0001",
]


def text_strategy():
    ws = st.sampled_from(list(WHITESPACE))
    piece = st.sampled_from(PIECES)
    char = st.characters(codec="utf-8")
    return st.lists(st.one_of(piece, ws, char, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=text_strategy())
def test_hypothesis_texts(pairs, text):
    for fast, ref in pairs.values():
        assert_same_ids(fast, ref, text)


def test_random_texts(pairs):
    rng = random.Random(20261125)
    alphabet = PIECES + list(WHITESPACE) + list("abcXYZ019'/.,-_=+\"")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for fast, ref in pairs.values():
            assert_same_ids(fast, ref, text)


def _corpora():
    import litellm

    base = os.path.dirname(litellm.__file__)
    texts = {}
    for rel in ["proxy/proxy_server.py", "router.py", "utils.py"]:
        with open(os.path.join(base, rel), encoding="utf-8") as f:
            texts["code:" + rel] = f.read()[:300_000]
    with open(os.path.join(base, "model_prices_and_context_window_backup.json"), encoding="utf-8") as f:
        texts["json:model_prices"] = f.read()[:300_000]
    import email

    texts["prose:email-docs"] = (email.__doc__ or "") * 50
    import this  # noqa: F401  - the Zen of Python, rot13 decoded

    texts["prose:multilingual"] = "".join(PIECES) * 200
    return texts


def test_real_corpora(pairs):
    for label, text in _corpora().items():
        for fast, ref in pairs.values():
            assert len(text) > 1000, label
            assert_same_ids(fast, ref, text)


@pytest.mark.exhaustive
@pytest.mark.timeout(600)
@pytest.mark.parametrize("unit", ["a", " ", "7", "🙂", "ab", "\n", "'s", "A", "\u0301", "x\u0301", "\t "])
def test_pathological_runs(pairs, unit):
    """1 MB of one unit. tiktoken's regex engine overflows its backtracking stack on some of
    these (a PanicException, e.g. 1 MB of spaces); there the C count must equal tiktoken's
    at the largest size tiktoken can take. (LiteLLM never hands tiktoken more than
    TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS = 1,024 characters at once.)"""
    for fast, ref in pairs.values():
        for size in (1_000_000, 100_000, 10_000):
            text = unit * (size // len(unit.encode()))
            got = fast.count(text)
            try:
                want = len(ref.encode_ordinary(text))
            except BaseException as e:  # noqa: BLE001 - pyo3's PanicException is a BaseException
                assert "StackOverflow" in str(e), e
                continue
            assert got == want, (ref.name, unit, size)
            break
        else:
            raise AssertionError(f"tiktoken failed at every size for {unit!r} ({ref.name})")


# -- special tokens, surrogates, errors -------------------------------------------------

def _outcome(fn):
    try:
        return ["ok", fn()]
    except Exception as e:  # noqa: BLE001 - compared, not swallowed
        return ["err", type(e).__qualname__, str(e)]


SPECIAL_TEXTS = ["<|endoftext|>", "a<|endoftext|>b", "<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>",
                 "hi <|endofprompt|>", "<|endoftext", "<<|endoftext|>|>", "no specials", "",
                 "  <|endoftext|>  \n", "<|endoftext|><|endoftext|>"]
SPECIAL_ARGS = [{}, {"disallowed_special": ()}, {"allowed_special": "all"},
                {"allowed_special": {"<|endoftext|>"}}, {"allowed_special": {"<|endoftext|>"}, "disallowed_special": ()},
                {"disallowed_special": {"<|fim_prefix|>"}}, {"allowed_special": {"not special"}},
                {"allowed_special": "all", "disallowed_special": "all"}]


@pytest.mark.parametrize("name", NAMES)
def test_special_tokens_semantics(pairs, name):
    fast, ref = pairs[name]
    for text in SPECIAL_TEXTS:
        for kw in SPECIAL_ARGS:
            assert _outcome(lambda: fast.encode(text, **kw)) == _outcome(lambda: ref.encode(text, **kw)), (text, kw)
        assert fast.encode_ordinary(text) == ref.encode_ordinary(text)
        assert fast.encode_batch([text, text], disallowed_special=()) == ref.encode_batch([text, text], disallowed_special=())


@pytest.mark.parametrize("name", NAMES)
def test_non_str_text_errors(pairs, name):
    fast, ref = pairs[name]
    for text in (5, None, b"ab", ["a"], 1.5):
        for kw in ({}, {"disallowed_special": ()}, {"allowed_special": "all"}):
            assert _outcome(lambda: fast.encode(text, **kw)) == _outcome(lambda: ref.encode(text, **kw))
        assert _outcome(lambda: fast.encode_ordinary(text)) == _outcome(lambda: ref.encode_ordinary(text))


@pytest.mark.parametrize("name", NAMES)
def test_lone_surrogates(pairs, name):
    fast, ref = pairs[name]
    for text in ["\ud800", "a\udfffb", "\ud83d\ude00", "x\ud83dy", "\udc00" * 5 + "text", "ok\ud800<|endoftext|>"]:
        assert fast.encode_ordinary(text) == ref.encode_ordinary(text)
        assert fast.count(text) == len(ref.encode_ordinary(text))
        assert _outcome(lambda: fast.encode(text)) == _outcome(lambda: ref.encode(text))
        assert _outcome(lambda: fast.encode(text, allowed_special="all")) == _outcome(
            lambda: ref.encode(text, allowed_special="all"))


@pytest.mark.parametrize("name", NAMES)
def test_decode_errors_match(pairs, name):
    fast, ref = pairs[name]
    for ids in ([10**6], [-1], [2**40], [2**63], [2**64], [-2**63 - 1], [2**32 - 1], [True], ["a"], [ref.max_token_value + 1], [1.5], None, [None]):
        assert _outcome(lambda: fast.decode_bytes(ids)) == _outcome(lambda: ref.decode_bytes(ids)), ids
    for ids in ([], [ref.eot_token], ref.encode("héllo wörld 🙂")[:-1], [0xe2 if name != "o200k_base" else 0]):
        for errors in ("replace", "strict", "ignore"):
            assert _outcome(lambda: fast.decode(ids, errors=errors)) == _outcome(lambda: ref.decode(ids, errors=errors))
    for tok in ["hello", b"hello", "hello world", "<|endoftext|>", b"\xff"]:
        assert _outcome(lambda: fast.encode_single_token(tok)) == _outcome(lambda: ref.encode_single_token(tok))


def test_count_batch_and_count_tokens_batch(pairs):
    import fast_litellm

    texts = [p * 3 for p in PIECES] + ["x" * 10_000, "", "\ud800"]
    for fast, ref in pairs.values():
        assert fast.count_batch(texts) == [len(ref.encode_ordinary(t)) for t in texts]
    ref = pairs["o200k_base"][1]
    assert fast_litellm.count_tokens_batch(texts, model="gpt-4o") == [len(ref.encode_ordinary(t)) for t in texts]
    ref = pairs["cl100k_base"][1]
    assert fast_litellm.count_tokens_batch(texts) == [len(ref.encode_ordinary(t)) for t in texts]
    with pytest.raises(TypeError):
        fast_litellm.count_tokens_batch([1, 2])


def _chunked_by_tiktoken(ref, text, chunk):
    """LiteLLM's exact count: each `chunk`-code-point slice encoded on its own."""
    return sum(len(ref.encode_ordinary(text[i:i + chunk])) for i in range(0, len(text), chunk))


def test_count_chunked_random(pairs):
    rng = random.Random(20261205)
    alphabet = PIECES + list(WHITESPACE) + list("abcXYZ019'/.,-_=+\"") + ["\ud83d", "\ude00", "\ud800"]
    for _ in range(800):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        chunk = rng.choice([1, 2, 3, 5, 7, 16, 64, 1024])
        for fast, ref in pairs.values():
            assert fast.count_chunked(text, chunk) == _chunked_by_tiktoken(ref, text, chunk), (text, chunk)


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=text_strategy(), chunk=st.integers(min_value=1, max_value=50))
def test_count_chunked_hypothesis(pairs, text, chunk):
    for fast, ref in pairs.values():
        assert fast.count_chunked(text, chunk) == _chunked_by_tiktoken(ref, text, chunk)


def test_count_chunked_corpus_and_errors(pairs):
    fast, ref = pairs["o200k_base"]
    text = "".join(PIECES) * 40 + _corpora()["code:router.py"][:60_000]
    for chunk in (1024, 999, 4096):
        assert fast.count_chunked(text, chunk) == _chunked_by_tiktoken(ref, text, chunk)
    for args, exc in [(("abc", 0), ValueError), (("abc", -1), ValueError), ((b"abc", 3), TypeError),
                      (("abc", "3"), TypeError), (("abc", 2**70), OverflowError)]:
        with pytest.raises(exc):
            fast._bpe.count_chunked(*args)


def test_count_sum(pairs):
    rng = random.Random(11)
    alphabet = PIECES + list(WHITESPACE) + list("abc019'.,")
    for _ in range(200):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(rng.randint(0, 12))]
        chunk = rng.choice([1, 3, 16, 40, 1024])
        for fast, ref in pairs.values():
            want = sum(_chunked_by_tiktoken(ref, t, chunk) for t in texts)
            assert fast._bpe.count_sum(texts, chunk, 10**9) == want
            assert fast._bpe.count_sum(tuple(texts), chunk, 10**9) == want
    bpe = pairs["o200k_base"][0]._bpe
    assert bpe.count_sum(["ab", "abcdef"], 4, 5) is None  # a text over max_chars: the caller extrapolates
    assert bpe.count_sum(["ab", "abcde"], 4, 5) == bpe.count_chunked("abcde", 4) + 1
    assert bpe.count_sum([], 4, 5) == 0
    with pytest.raises(UnicodeEncodeError):
        bpe.count_sum(["ok", "\ud800"], 4, 5)
    for args, exc in [((["a", 1], 4, 5), TypeError), (("abc", 4, 5), TypeError), ((["a"], 0, 5), ValueError),
                      ((["a"], 4, -1), ValueError), ((["a"], 4), TypeError), ((["a"], "4", 5), TypeError)]:
        with pytest.raises(exc):
            bpe.count_sum(*args)


def test_get_encoding_follows_the_environment(cache_dir, tmp_path):
    """The per-process cache is keyed by the variables that choose the rank file, read from
    os.environ's own store: a change through os.environ is seen at the next call."""
    import fast_litellm

    first = fast_litellm.get_encoding("cl100k_base")
    assert fast_litellm.get_encoding("cl100k_base") is first
    old = os.environ["TIKTOKEN_CACHE_DIR"]
    d = tmp_path / "copy"
    shutil.copytree(old, d)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(d)
    try:
        moved = fast_litellm.get_encoding("cl100k_base")
    finally:
        os.environ["TIKTOKEN_CACHE_DIR"] = old
    assert moved is not first and moved.encode("hello") == first.encode("hello")
    assert fast_litellm.get_encoding("cl100k_base") is first


def test_get_encoding_rejects_unknown_names(cache_dir):
    import fast_litellm

    with pytest.raises(ValueError, match="no C tokenizer for encoding 'gpt2'"):
        fast_litellm.get_encoding("gpt2")


def test_missing_rank_file_gives_tiktokens_error(tmp_path):
    """No rank file where tiktoken would look: the same exception as tiktoken (offline)."""
    code = """
import json, sys
def outcome(f):
    try:
        f(); return "ok"
    except Exception as e:
        return type(e).__module__ + "." + type(e).__qualname__
import tiktoken, fast_litellm
print(json.dumps([outcome(lambda: tiktoken.get_encoding("r50k_base")),
                  outcome(lambda: fast_litellm.get_encoding("r50k_base"))]))
"""
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path), FAST_LITELLM_DISABLE="1",
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ref, got = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert ref != "ok" and got == ref, (ref, got)


def test_corrupt_rank_file_is_ignored_like_tiktoken(tmp_path, cache_dir):
    """A cache file whose SHA-256 is wrong is not used (tiktoken would re-fetch it)."""
    from fast_litellm import tokenizer

    bad = tmp_path / os.path.basename(tokenizer.rank_file_path("p50k_base"))
    bad.write_bytes(b"IQ== 0\n")
    old = os.environ["TIKTOKEN_CACHE_DIR"]
    os.environ["TIKTOKEN_CACHE_DIR"] = str(tmp_path)
    try:
        assert tokenizer._read_rank_file("p50k_base") is None
    finally:
        os.environ["TIKTOKEN_CACHE_DIR"] = old


def test_merge_heap_equals_reference_loop(pairs):
    """Pieces longer than the stack path take the heap merge: same ids as tiktoken's loop."""
    rng = random.Random(7)
    for fast, ref in pairs.values():
        for _ in range(200):
            piece = "".join(rng.choice("aab ab🙂é'") for _ in range(rng.randint(100, 700))).encode()
            want = ref._encode_single_piece(piece)
            assert fast._bpe.merge_piece(piece) == want
            assert fast._bpe.merge_piece(piece, reference=True) == want


def test_malformed_rank_files_are_clear_errors():
    from fast_litellm import _native

    good = b"".join(__import__("base64").b64encode(bytes([i])) + b" %d\n" % i for i in range(256))
    assert _native.BPE(good, 0).size == 256
    for bad in [b"", b"IQ==\n", b"IQ== x\n", b"!!!! 1\n", good + b"IQ== 999\n", good + b"QUI= 5\n",
                good[:-8], b"IQ== 99999999999999\n"]:
        with pytest.raises((ValueError, OverflowError)):
            _native.BPE(bad, 0)
    with pytest.raises(ValueError):
        _native.BPE(good, 7)
