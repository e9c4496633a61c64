"""A tiktoken-compatible ``Encoding`` on the C tokenizer (csrc/core/fl_bpe, fl_pretok).

``get_encoding(name)`` serves ``cl100k_base``, ``o200k_base``, ``p50k_base`` and
``r50k_base`` with exactly tiktoken's token ids. Rank files are read from the file tiktoken
would read (``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else the temp dir's
``data-gym-cache``; the file named by the SHA-1 of the rank file's URL, accepted only when
its SHA-256 is the one tiktoken expects). LiteLLM points ``TIKTOKEN_CACHE_DIR`` at the rank
files it bundles unless ``CUSTOM_TIKTOKEN_CACHE_DIR`` is set. This module never opens a
network connection: when the file is missing, tiktoken itself is asked for the encoding, so
the caller sees exactly tiktoken's behaviour (its error, or its download) and the C table is
then built from what tiktoken loaded.

An encoding is loaded once per process (a lock-free dict; loading twice in a race is
harmless) and is immutable: after a ``--preload`` fork, workers share its pages.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from collections import abc
from collections.abc import Collection, Sequence
from typing import AbstractSet, Literal

from . import _native

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

PAT_GPT2, PAT_CL100K, PAT_O200K = 0, 1, 2

# name -> (pattern, special tokens, n_vocab, SHA-256 of the rank file); facts
# from tiktoken_ext.openai_public (tiktoken 0.14.0), checked against tiktoken in the tests.
SPECS: dict[str, tuple[int, dict[str, int], int, str]] = {
    "r50k_base": (PAT_GPT2, {ENDOFTEXT: 50256}, 50257,
                  "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"),
    "p50k_base": (PAT_GPT2, {ENDOFTEXT: 50256}, 50281,
                  "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"),
    "cl100k_base": (PAT_CL100K, {ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259,
                                 FIM_SUFFIX: 100260, ENDOFPROMPT: 100276}, 100277,
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
    "o200k_base": (PAT_O200K, {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}, 200019,
                   "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
}
SUPPORTED = frozenset(SPECS)
URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def rank_file_path(name: str) -> str | None:
    """The cache file tiktoken would read for ``name`` now, or None when caching is off."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return None
    return os.path.join(cache_dir, hashlib.sha1(URL.format(name=name).encode()).hexdigest())


def _read_rank_file(name: str) -> bytes | None:
    path = rank_file_path(name)
    if path is None or not os.path.exists(path):
        return None
    with open(path, "rb", buffering=0) as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != SPECS[name][3]:
        return None  # tiktoken ignores (and replaces) a corrupt cache file
    return data


def _ranks_from_tiktoken(name: str) -> bytes:
    """tiktoken's own answer for ``name`` (its error when it has none), as rank-file bytes."""
    import base64

    import tiktoken

    enc = tiktoken.get_encoding(name)
    data = _read_rank_file(name)  # tiktoken may have just cached it
    if data is not None:
        return data
    return b"".join(base64.b64encode(tok) + b" %d\n" % rank
                    for tok, rank in sorted(enc._mergeable_ranks.items(), key=lambda kv: kv[1]))


def _fix_surrogates(text: str) -> str:
    # tiktoken's handling of a str that UTF-8 cannot encode
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@functools.lru_cache(maxsize=128)
def _special_regex(tokens: frozenset[str]):
    # the engine tiktoken uses for this search (its errors for non-str text included)
    try:
        import regex as engine
    except ImportError:
        engine = re
    return engine.compile("(" + "|".join(engine.escape(t) for t in tokens) + ")")


def _not_str(text) -> TypeError:
    if text is None:
        return TypeError("'None' is not an instance of 'str'")
    return TypeError(f"'{type(text).__name__}' object is not an instance of 'str'")


def _raise_disallowed(token: str):
    # the message of tiktoken.core.raise_disallowed_special_token
    raise ValueError(
        f"Encountered text corresponding to disallowed special token {token!r}.\n"
        "If you want this text to be encoded as a special token, "
        f"pass it to `allowed_special`, e.g. `allowed_special={{{token!r}, ...}}`.\n"
        f"If you want this text to be encoded as normal text, disable the check for this token "
        f"by passing `disallowed_special=(enc.special_tokens_set - {{{token!r}}})`.\n"
        "To disable this check for all special tokens, pass `disallowed_special=()`.\n"
    )


def _check_token_sequence(tokens) -> None:
    """tiktoken's (PyO3's) TypeErrors for token arguments that are no sequence of ints."""
    if tokens is None:
        raise TypeError("'None' is not an instance of 'Sequence'")
    if isinstance(tokens, str):
        raise TypeError("Can't extract `str` to `Vec`")
    if not isinstance(tokens, abc.Sequence):
        raise TypeError(f"'{type(tokens).__name__}' object is not an instance of 'Sequence'")


class Encoding:
    """The subset of ``tiktoken.Encoding`` LiteLLM and its users call, plus ``count``."""

    def __init__(self, name: str, bpe, special_tokens: dict[str, int]) -> None:
        self.name = name
        self._bpe = bpe
        self._special_tokens = dict(special_tokens)
        self._special_bytes = {v: k.encode() for k, v in special_tokens.items()}
        self._special_by_bytes = {k.encode(): v for k, v in special_tokens.items()}
        self.max_token_value = max(bpe.max_rank, max(special_tokens.values(), default=0))
        self.special_tokens_set = set(special_tokens)

    def __repr__(self) -> str:
        return f"<Encoding {self.name!r}>"

    def __reduce__(self):
        return (get_encoding, (self.name,))

    @property
    def n_vocab(self) -> int:
        return self.max_token_value + 1

    @property
    def eot_token(self) -> int:
        return self._special_tokens[ENDOFTEXT]

    @property
    def memory(self) -> int:
        """Bytes of C heap held by the rank table."""
        return self._bpe.memory

    # -- encoding --------------------------------------------------------------------

    def encode_ordinary(self, text: str) -> list[int]:
        try:
            return self._bpe.encode_ordinary(text)
        except UnicodeEncodeError:
            return self._bpe.encode_ordinary(_fix_surrogates(text))

    def count(self, text: str) -> int:
        """``len(encode_ordinary(text))`` without building the list."""
        try:
            return self._bpe.count(text)
        except UnicodeEncodeError:
            return self._bpe.count(_fix_surrogates(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """``[count(t) for t in texts]`` in one native call."""
        if not isinstance(texts, (list, tuple)):
            texts = list(texts)
        try:
            return self._bpe.count_many(texts)
        except UnicodeEncodeError:
            return [self.count(t) for t in texts]

    def count_chunked(self, text: str, chunk: int) -> int:
        """``sum(count(text[i:i + chunk]) for i in range(0, len(text), chunk))``
        without making the slices (LiteLLM counts long texts that way)."""
        try:
            return self._bpe.count_chunked(text, chunk)
        except UnicodeEncodeError:  # lone surrogates: each slice on its own, as tiktoken
            return sum(self.count_batch([text[i:i + chunk] for i in range(0, len(text), chunk)]))

    def _check_special(self, text, allowed_special, disallowed_special):
        if allowed_special == "all":
            allowed_special = self.special_tokens_set
        if disallowed_special == "all":
            disallowed_special = self.special_tokens_set - allowed_special
        if disallowed_special:
            if not isinstance(disallowed_special, frozenset):
                disallowed_special = frozenset(disallowed_special)
            if match := _special_regex(disallowed_special).search(text):
                _raise_disallowed(match.group())
        return allowed_special

    def _encode_allowed(self, text: str, allowed) -> list[int]:
        if not isinstance(text, str):
            raise _not_str(text)
        allowed = [t for t in allowed if t in self._special_tokens]
        if not allowed:
            return self._bpe.encode_ordinary(text)
        out: list[int] = []
        start = 0
        for m in _special_regex(frozenset(allowed)).finditer(text):
            if m.start() > start:
                out += self._bpe.encode_ordinary(text[start:m.start()])
            out.append(self._special_tokens[m.group()])
            start = m.end()
        if start < len(text):
            out += self._bpe.encode_ordinary(text[start:])
        return out

    def encode(self, text: str, *, allowed_special: Literal["all"] | AbstractSet[str] = set(),  # noqa: B006
               disallowed_special: Literal["all"] | Collection[str] = "all") -> list[int]:
        allowed = self._check_special(text, allowed_special, disallowed_special)
        try:
            return self._encode_allowed(text, allowed)
        except UnicodeEncodeError:
            return self._encode_allowed(_fix_surrogates(text), allowed)

    def encode_batch(self, text: list[str], *, num_threads: int = 8,
                     allowed_special: Literal["all"] | AbstractSet[str] = set(),  # noqa: B006
                     disallowed_special: Literal["all"] | Collection[str] = "all") -> list[list[int]]:
        return [self.encode(t, allowed_special=allowed_special, disallowed_special=disallowed_special)
                for t in text]

    def encode_ordinary_batch(self, text: list[str], *, num_threads: int = 8) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in text]

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        b = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
        rank = self._bpe.lookup(b)
        if rank is not None:
            return rank
        if b in self._special_by_bytes:
            return self._special_by_bytes[b]
        raise KeyError(b)

    # -- decoding --------------------------------------------------------------------

    def decode_bytes(self, tokens: Sequence[int]) -> bytes:
        if type(tokens) is not list:
            _check_token_sequence(tokens)
        return self._bpe.decode_bytes(tokens, self._special_bytes)

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        return self.decode_bytes(tokens).decode("utf-8", errors=errors)

    def decode_single_token_bytes(self, token: int) -> bytes:
        return self._bpe.decode_bytes([token], self._special_bytes)

    def decode_tokens_bytes(self, tokens: Sequence[int]) -> list[bytes]:
        return [self.decode_single_token_bytes(t) for t in tokens]

    def decode_batch(self, batch: Sequence[Sequence[int]], *, errors: str = "replace",
                     num_threads: int = 8) -> list[str]:
        return [self.decode(t, errors=errors) for t in batch]

    def decode_bytes_batch(self, batch: Sequence[Sequence[int]], *, num_threads: int = 8) -> list[bytes]:
        return [self.decode_bytes(t) for t in batch]

    def is_special_token(self, token: int) -> bool:
        return token in self._special_bytes


_LOADED: dict[tuple[str, str | None], Encoding] = {}
# the same, keyed by the environment variables that decide the rank file (no hashing per call)
# (os.environ's own encoded store when it is the usual mapping: two dict reads instead of two
# encode-lookup-decode rounds; the keys only have to tell environments apart)
_BY_ENV: dict[tuple, Encoding] = {}
_ENVIRON = type(os.environ)
_TIKTOKEN_DIR, _DATA_GYM_DIR = os.fsencode("TIKTOKEN_CACHE_DIR"), os.fsencode("DATA_GYM_CACHE_DIR")


def get_encoding(name: str) -> Encoding:
    """The C encoding ``name`` (one of ``SUPPORTED``), loaded once per process and rank file."""
    env = os.environ
    if type(env) is _ENVIRON:
        data = env._data
        fast_key = (name, data.get(_TIKTOKEN_DIR), data.get(_DATA_GYM_DIR))
    else:
        fast_key = (name, env.get("TIKTOKEN_CACHE_DIR"), env.get("DATA_GYM_CACHE_DIR"))
    enc = _BY_ENV.get(fast_key)
    if enc is not None:
        return enc
    if name not in SPECS:
        raise ValueError(f"fast_litellm has no C tokenizer for encoding {name!r}; "
                         f"it has {sorted(SUPPORTED)}")
    key = (name, rank_file_path(name))
    enc = _LOADED.get(key)
    if enc is None:
        pattern, specials, n_vocab, _ = SPECS[name]
        data = _read_rank_file(name)
        if data is None:
            data = _ranks_from_tiktoken(name)
        bpe = _native.BPE(data, pattern)
        enc = Encoding(name, bpe, specials)
        if enc.n_vocab != n_vocab:
            raise ValueError(f"rank file for {name} gives n_vocab {enc.n_vocab}; expected {n_vocab}")
        enc = _LOADED.setdefault(key, enc)
    _BY_ENV[fast_key] = enc
    return enc


def encoding_name_for_model(model: str | None) -> str:
    """The encoding LiteLLM's ``token_counter`` counts ``model`` with (tiktoken path)."""
    from litellm.litellm_core_utils.token_counter import openai_tokenizer_encoding_name

    return openai_tokenizer_encoding_name(model or "")


def count_tokens_batch(texts: Sequence[str], model: str | None = None,
                       encoding: str | None = None) -> list[int]:
    """Token counts of many texts in one native call, each as ``Encoding.count``.

    ``encoding`` names the encoding; otherwise the one LiteLLM's ``token_counter`` uses for
    ``model`` on its tiktoken path (``cl100k_base`` when ``model`` is None). These are plain
    per-text counts, without LiteLLM's chunking of texts longer than
    ``TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS`` or its per-message overheads.
    """
    if encoding is None:
        encoding = "cl100k_base" if model is None else encoding_name_for_model(model)
    return get_encoding(encoding).count_batch(texts)
