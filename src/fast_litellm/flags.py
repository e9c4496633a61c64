"""Per-component flags read from the environment.

``FAST_LITELLM_<COMPONENT>`` takes ``true|false|1|0|on|off|yes|no`` (case-insensitive),
``canary:N`` (N % of calls take the native path, decided per call; N from 0 to 100) or
``shadow`` (run both, serve LiteLLM's result, count mismatches). Unset means the
component's default: on for stable components. A malformed value logs one WARNING naming
the variable and the accepted values, and the component keeps its default.

The deployment guide's names are aliases: ``FAST_LITELLM_RUST_ROUTING`` for ``routing``;
``FAST_LITELLM_BATCH_TOKEN_COUNTING`` is the flag of the ``batch_token_counting``
component itself. Where both a canonical name and its alias are set, the canonical one
wins (a WARNING says so if they disagree).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

from ._log import log

PREFIX = "FAST_LITELLM_"
ACCEPTED = "true|false|1|0|on|off|yes|no|canary:N (0-100)|shadow"

# alias variable suffix -> component name
ALIASES: dict[str, str] = {"RUST_ROUTING": "routing"}

# FAST_LITELLM_* variables that are settings, not component flags
SETTINGS = {
    "LOG_LEVEL",
    "PLUGINS",
    "BREAKER_THRESHOLD",
    "BREAKER_WINDOW",
    "BREAKER_COOLDOWN",
    "DISABLE",
    "RATE_LIMITER_MAX_MEMORY",
    "RATE_LIMITER_MAX_OBJECTS",
    "OTEL_SEED_RECHECK",
}

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


@dataclass(frozen=True)
class Mode:
    """How a component's calls are routed."""

    kind: str  # "on" | "off" | "canary" | "shadow"
    percent: float = 100.0

    def __str__(self) -> str:
        if self.kind == "canary":
            pct = int(self.percent) if self.percent == int(self.percent) else self.percent
            return f"canary:{pct}"
        return self.kind

    @property
    def enabled(self) -> bool:
        return self.kind != "off" and not (self.kind == "canary" and self.percent == 0)


ON = Mode("on")
OFF = Mode("off")
SHADOW = Mode("shadow")


def parse(value: str) -> Mode:
    """Parse one flag value; raises ValueError with the accepted forms when malformed."""
    v = value.strip().lower()
    if v in _TRUE:
        return ON
    if v in _FALSE:
        return OFF
    if v == "shadow":
        return SHADOW
    if v.startswith("canary:"):
        num = v[len("canary:"):].strip().rstrip("%")
        try:
            pct = float(num)
        except ValueError:
            pct = math.nan
        if math.isfinite(pct) and 0.0 <= pct <= 100.0:
            return Mode("canary", pct)
    raise ValueError(f"{value!r} is not one of {ACCEPTED}")


def var_name(component: str) -> str:
    return PREFIX + component.upper()


def read(
    components: Mapping[str, Mode],
    env: Mapping[str, str] | None = None,
    warn: bool = True,
) -> dict[str, tuple[Mode, str | None]]:
    """Modes for every component from ``env``: ``{name: (mode, variable or None)}``.

    ``components`` maps each known component to its default mode.
    """
    env = os.environ if env is None else env
    result: dict[str, tuple[Mode, str | None]] = {n: (d, None) for n, d in components.items()}
    by_suffix = {n.upper(): n for n in components}
    seen_canonical: dict[str, Mode] = {}
    # canonical names first, then aliases (canonical wins)
    for alias_pass in (False, True):
        for key, raw in env.items():
            if not key.startswith(PREFIX):
                continue
            suffix = key[len(PREFIX):]
            if alias_pass:
                if suffix not in ALIASES:
                    continue
                name = ALIASES[suffix]
            else:
                if suffix in ALIASES or suffix in SETTINGS:
                    continue
                name = by_suffix.get(suffix)
                if name is None:
                    if warn:
                        log.warning(
                            "%s is not a known component flag (components: %s); ignored",
                            key,
                            ", ".join(sorted(components)) or "none",
                        )
                    continue
            if name not in components:
                continue
            try:
                mode = parse(raw)
            except ValueError:
                if warn:
                    log.warning(
                        "%s=%r is malformed; accepted values: %s. Keeping the default (%s) for %s",
                        key, raw, ACCEPTED, components[name], name,
                    )
                continue
            if alias_pass and name in seen_canonical:
                if seen_canonical[name] != mode and warn:
                    log.warning(
                        "%s=%r disagrees with %s; %s wins",
                        key, raw, var_name(name), var_name(name),
                    )
                continue
            if not alias_pass:
                seen_canonical[name] = mode
            result[name] = (mode, key)
    return result


def number_setting(name: str, default: float, minimum: float = 0) -> float:
    raw = os.environ.get(PREFIX + name)
    if raw is None:
        return default
    try:
        value = float(raw)
        if not math.isfinite(value) or value < minimum:
            raise ValueError
        return value
    except ValueError:
        log.warning("%s%s=%r is malformed (a number >= %s expected); using %s",
                    PREFIX, name, raw, minimum, default)
        return default
