"""The patch registry: apply, guard, fall back, count, revert.

A :class:`Component` is a named group of :class:`Patch` entries that are applied and
reverted together. Each patch names its target (``"module:attr"`` or
``"module:Class.attr"``), a factory that builds the native implementation from LiteLLM's
original, and a guard: the SHA-256 fingerprints of the target's source in the LiteLLM
releases it was tested against. A target whose fingerprint differs is not patched, and
one WARNING names it; the component then stays on LiteLLM's code as a whole.

The replacement installed at the target routes every call by the component's mode:

* ``on``: the native implementation; an exception listed in ``passthrough`` (LiteLLM's
  own exceptions, reproduced natively) propagates unchanged; any other exception is a
  native failure: logged once, counted, and answered by the original. ``threshold``
  failures within ``window`` seconds trip a circuit breaker: the component serves
  LiteLLM's code for ``cooldown`` seconds (0: until restart), then tries native again.
* ``canary:N``: N % of calls, decided per call by a sampler that does not touch
  Python's ``random`` state;
* ``shadow``: both run; LiteLLM's result (or exception) is served; a differing native
  result or exception is a counted mismatch, logged once;
* ``off``: never patched.

Where patches live: on the defining module or class, and on every module that copied the
function with ``from ... import`` (found by identity). A ``sys.meta_path`` hook applies
patches to target modules imported later, re-applies them after ``importlib.reload``,
and replaces copies in modules imported later.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import importlib
import importlib.abc
import inspect
import sys
import textwrap
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import flags as _flags
from ._log import log
from .metrics import Exporter, Stats

# route codes (an int compare on the hot path)
R_OFF, R_ON, R_SLOW = 0, 1, 2


def fingerprint(obj: Any) -> str:
    """SHA-256 (first 16 hex digits) of an object's dedented source.

    Source, not bytecode, so that one fingerprint holds on every Python version.
    Raises OSError/TypeError when no source is available.
    """
    src = textwrap.dedent(inspect.getsource(obj))
    lines = [ln.rstrip() for ln in src.strip().splitlines()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _canonical(obj: Any) -> Any:
    """LiteLLM's function behind one of our replacements (which behaves as it does), else obj."""
    if isinstance(obj, types.FunctionType):
        return obj.__dict__.get("__fast_litellm_original__", obj)
    return obj


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class whose namespace Python code can change


def _namespaces(owners) -> tuple | None:
    """The dicts whose contents decide ``getattr(owner, name)`` for these owners: a module's
    namespace, a class's and its (heap-type) bases' namespaces. None when an owner is of
    another kind."""
    out: dict[int, Any] = {}
    for owner in owners:
        if isinstance(owner, types.ModuleType):
            d = vars(owner)
            out[id(d)] = d
        elif isinstance(owner, type):
            for t in owner.__mro__:
                if t.__flags__ & _HEAPTYPE:
                    out[id(t)] = t
        else:
            return None
    return tuple(out.values())


def still_bound(*places: tuple[Any, str]) -> Callable[[], bool]:
    """A check, cheap enough for every call, that each ``(owner, attribute)`` still holds
    the object it held when the check was made: a replacement that reproduces LiteLLM's
    helpers inline calls it and hands the call to LiteLLM when someone monkeypatched one.
    One of fast_litellm's own replacements of that object (another component's, applied or
    re-applied later) counts as the same object, and so does the original put back.

    While the CPython version tags of the owners' namespaces (``_native.dict_tags``: a
    module's dict, a class's and its bases' dicts) are those of the last check that passed,
    nothing was rebound and the check passes without reading every attribute again."""
    bound = [[owner, name, getattr(owner, name)] for owner, name in places]
    canon = [_canonical(entry[2]) for entry in bound]
    spaces = _namespaces(owner for owner, _ in places)
    try:
        from ._native import dict_tags
    except ImportError:  # (the extension is built with the package; a broken build checks the long way)
        dict_tags = None
    if spaces is None or dict_tags is None or dict_tags(()) is None:
        spaces = None
    passed: list = [None]  # the tags at the last check that passed

    def full() -> bool:
        for k, entry in enumerate(bound):
            current = getattr(entry[0], entry[1])
            if current is not entry[2]:
                if _canonical(current) is not canon[k]:
                    return False
                entry[2] = current  # the same function behind it: remember the new object
        return True

    if spaces is None:
        return full

    def check() -> bool:
        tags = dict_tags(spaces)
        if tags == passed[0]:
            return True
        ok = full()
        passed[0] = tags if ok else None
        return ok

    return check


def _same_error(a: BaseException, b: BaseException) -> bool:
    return type(a) is type(b) and str(a) == str(b)


@dataclass
class Patch:
    """One replaced attribute.

    ``make(original)`` returns the native implementation, with the original's signature
    (an ``async def`` for a coroutine function). ``fingerprints`` are the accepted
    fingerprints of the original (see :func:`fingerprint`).
    """

    target: str
    make: Callable[[Callable], Callable]
    fingerprints: frozenset[str]
    # LiteLLM's own exceptions that the native path reproduces: they propagate unchanged.
    # A tuple, or a callable returning one (resolved when the target is patched).
    passthrough: tuple[type[BaseException], ...] | Callable[[], tuple] = ()
    compare: Callable[[Any, Any], bool] | None = None

    @property
    def module(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def path(self) -> list[str]:
        return self.target.split(":", 1)[1].split(".")


@dataclass(eq=False)
class Component:
    name: str
    patches: list[Patch]
    description: str = ""
    stable: bool = True  # on by default when no flag is set
    shadow_ok: bool = True  # False for components whose native path has side effects
    on_activate: Callable[[], None] | None = None  # after all patches applied
    # functions the replacements rely on without replacing them ("module:attr",
    # fingerprints): a changed one refuses the component like a changed target
    guards: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    # () -> {metric suffix: (help, value)}: gauges read at scrape time (single-process
    # metrics), exported as fast_litellm_<suffix>{component=...}
    gauges: Callable[[], dict[str, tuple[str, float]]] | None = None
    # {path name: {"served": n, "delegated": n}}: a replacement with a plain case counts, per
    # call, whether it answered (served) or handed the call to LiteLLM's code (delegated);
    # exported as fast_litellm_fast_path_calls_total{component, path, outcome}
    paths: dict[str, dict[str, int]] = field(default_factory=dict)

    mode: _flags.Mode = field(default=_flags.OFF)
    flag_var: str | None = None
    route: int = R_OFF
    state: str = "off"  # off | pending | active | refused | reverted
    reason: str = ""
    stats: Stats = field(default_factory=Stats)
    sampler: Any = None
    tripped_until: float | None = None
    failures: collections.deque = field(default_factory=collections.deque)
    logged_failure: bool = False
    logged_mismatch: bool = False
    applied: list = field(default_factory=list)  # (owner, attr, previous value)

    @property
    def active(self) -> bool:
        return self.state in ("active", "pending") and self.mode.enabled

    def status(self) -> dict[str, Any]:
        d = {
            "active": self.active,
            "state": self.state,
            "mode": str(self.mode),
            "flag": self.flag_var,
            "breaker_open": self.tripped_until is not None,
            "targets": [p.target for p in self.patches],
        }
        if self.reason:
            d["reason"] = self.reason
        d.update(self.stats.as_dict())
        if self.paths:
            d["fast_paths"] = {name: dict(counts) for name, counts in self.paths.items()}
        return d


class Registry:
    def __init__(self) -> None:
        self.components: dict[str, Component] = {}
        self.exporter = Exporter(lambda: list(self.components.values()))
        self.enabled = False
        # id(original) -> (original, replacement) for copy detection
        self._originals: dict[int, tuple[Any, Any]] = {}
        # id(replacement) -> (replacement, original, component): what revert sweeps
        self._replacements: dict[int, tuple[Any, Any, Component]] = {}
        self._lock = threading.RLock()
        self.threshold = 5
        self.window = 60.0
        self.cooldown = 300.0
        self._when_loaded: dict[str, list[Callable[[types.ModuleType], None]]] = {}
        # modules whose code the import hook is running: in sys.modules, not yet complete
        # (a component whose targets include one waits until it has finished)
        self.executing: set[str] = set()

    def when_loaded(self, name: str, fn: Callable[[types.ModuleType], None]) -> None:
        """Call ``fn(module)`` once module ``name`` is loaded (now, if it already is)."""
        mod = sys.modules.get(name)
        if mod is not None:
            fn(mod)
        else:
            self._when_loaded.setdefault(name, []).append(fn)

    # -- registration -----------------------------------------------------
    def register(self, comp: Component) -> Component:
        if comp.name in self.components:
            raise ValueError(f"component {comp.name!r} is already registered")
        if not comp.name.isidentifier() or comp.name.lower() != comp.name:
            raise ValueError(f"component name {comp.name!r} must be a lower-case identifier")
        self.components[comp.name] = comp
        return comp

    def read_flags(self, env=None) -> None:
        self.threshold = int(_flags.number_setting("BREAKER_THRESHOLD", 5, 1))
        self.window = _flags.number_setting("BREAKER_WINDOW", 60.0, 0)
        self.cooldown = _flags.number_setting("BREAKER_COOLDOWN", 300.0, 0)
        defaults = {n: (_flags.ON if c.stable else _flags.OFF) for n, c in self.components.items()}
        for name, (mode, var) in _flags.read(defaults, env).items():
            comp = self.components[name]
            if mode.kind == "shadow" and not comp.shadow_ok:
                log.warning("%s=shadow is not supported by %s (its native path has side "
                            "effects); keeping it %s", var, name, defaults[name])
                mode = defaults[name]
            comp.mode, comp.flag_var = mode, var

    # -- applying -----------------------------------------------------------
    def apply_all(self) -> None:
        """Apply every enabled component whose target modules are loaded."""
        with self._lock:
            self.enabled = True
            for comp in self.components.values():
                self._set_route(comp)
                if comp.mode.enabled and comp.state in ("off", "reverted"):
                    comp.state = "pending"
                    comp.reason = ""
                self._try_apply(comp)
            self.replace_copies(list(sys.modules.values()))

    def _set_route(self, comp: Component) -> None:
        m = comp.mode
        comp.sampler = None
        if not m.enabled:
            comp.route = R_OFF
        elif m.kind == "on":
            comp.route = R_ON
        else:
            if m.kind == "canary":
                from ._native import Sampler

                comp.sampler = Sampler(m.percent)
            comp.route = R_SLOW

    def _try_apply(self, comp: Component) -> None:
        if comp.state != "pending":
            return
        if any(p.module not in sys.modules or p.module in self.executing for p in comp.patches):
            return  # the import hook calls again when the module arrives
        for target, fps in comp.guards:
            g = Patch(target, lambda o: o, fps)
            if g.module not in sys.modules or g.module in self.executing:
                return
            try:
                fp = fingerprint(_raw_function(_resolve(g)[2]))
            except (AttributeError, ImportError, OSError, TypeError) as exc:
                return self._refuse(comp, f"{target} (relied on): unavailable ({exc})")
            if fp not in fps:
                return self._refuse(comp, f"{target} (relied on) is not the function this release "
                                          f"was tested with (fingerprint {fp})")
        resolved = []
        for p in comp.patches:
            try:
                owner, attr, original = _resolve(p)
            except (AttributeError, ImportError) as exc:
                return self._refuse(comp, f"{p.target}: not found ({exc})")
            raw = _raw_function(original)
            try:
                fp = fingerprint(raw)
            except (OSError, TypeError) as exc:
                return self._refuse(comp, f"{p.target}: source unavailable ({exc})")
            if fp not in p.fingerprints:
                if getattr(raw, "__fast_litellm_patch__", None) is not None:
                    continue  # already ours (a re-apply)
                return self._refuse(
                    comp,
                    f"{p.target} is not the function this release was tested with "
                    f"(fingerprint {fp}, expected {', '.join(sorted(p.fingerprints))})",
                )
            resolved.append((p, owner, attr, original))
        built = []
        for p, owner, attr, original in resolved:
            try:
                built.append((p, owner, attr, original, _wrap(self, comp, p, original)))
            except Exception as exc:  # noqa: BLE001 - a replacement that cannot be built
                # (a stale native module, say) refuses the component; nothing is patched yet
                return self._refuse(comp, f"{p.target}: the replacement could not be built "
                                          f"({type(exc).__name__}: {exc})")
        for p, owner, attr, original, replacement in built:
            comp.applied.append((owner, attr, original))
            setattr(owner, attr, replacement)
            raw, rep = _raw_function(original), _raw_function(replacement)
            self._originals[id(raw)] = (raw, rep)
            self._replacements[id(rep)] = (rep, raw, comp)
        comp.state = "active"
        if comp.on_activate is not None:
            comp.on_activate()
        self.replace_copies(list(sys.modules.values()))

    def _refuse(self, comp: Component, why: str) -> None:
        comp.state = "refused"
        comp.reason = why
        self._undo(comp)
        log.warning("not patching component %s: %s; LiteLLM's own code stays in place",
                    comp.name, why)

    def replace_copies(self, modules: Iterable[types.ModuleType]) -> int:
        """Replace ``from x import f`` copies of patched originals in ``modules``."""
        if not self._originals:
            return 0
        n = 0
        originals = self._originals
        for mod in modules:
            d = getattr(mod, "__dict__", None)
            if not isinstance(d, dict) or mod.__name__.startswith("fast_litellm"):
                continue
            for key, value in list(d.items()):
                hit = originals.get(id(value))
                if hit is not None and hit[0] is value:
                    comp = self._owner_of(value)
                    if comp is None:
                        continue
                    comp.applied.append((mod, key, value))
                    d[key] = hit[1]
                    n += 1
        return n

    def _owner_of(self, original) -> Component | None:
        for comp in self.components.values():
            for owner, attr, prev in comp.applied:
                if _raw_function(prev) is original:
                    return comp
        return None

    def on_module_loaded(self, module: types.ModuleType) -> None:
        if not self.enabled:
            return
        with self._lock:
            name = module.__name__
            for comp in self.components.values():
                if comp.state == "active" and any(p.module == name for p in comp.patches):
                    # a reload re-created the originals: patch again
                    self._forget(comp, module)
                    comp.state = "pending"
                if comp.state == "pending" and any(p.module == name for p in comp.patches):
                    self._try_apply(comp)
            self.replace_copies([module])
        for fn in self._when_loaded.pop(name, ()):
            fn(module)

    def _forget(self, comp: Component, module: types.ModuleType) -> None:
        keep = []
        for owner, attr, prev in comp.applied:
            owner_mod = owner if isinstance(owner, types.ModuleType) else sys.modules.get(
                getattr(owner, "__module__", ""))
            if owner_mod is module or owner is module:
                self._originals.pop(id(_raw_function(prev)), None)
                continue
            keep.append((owner, attr, prev))
        comp.applied = keep

    # -- reverting --------------------------------------------------------
    def _undo(self, comp: Component) -> None:
        for owner, attr, prev in reversed(comp.applied):
            setattr(owner, attr, prev)
            self._originals.pop(id(_raw_function(prev)), None)
        comp.applied.clear()
        # modules that imported a replacement (``from x import f`` after we patched x)
        mine = {k: v for k, v in self._replacements.items() if v[2] is comp}
        if not mine:
            return
        for mod in list(sys.modules.values()):
            d = getattr(mod, "__dict__", None)
            if not isinstance(d, dict):
                continue
            for key, value in list(d.items()):
                hit = mine.get(id(value))
                if hit is not None and hit[0] is value:
                    d[key] = hit[1]
        for k in mine:
            del self._replacements[k]

    def revert_all(self) -> None:
        with self._lock:
            self.enabled = False
            for comp in self.components.values():
                self._undo(comp)
                if comp.state in ("active", "pending"):
                    comp.state = "reverted"
                comp.route = R_OFF

    def configure(self, name: str, mode: str | _flags.Mode) -> None:
        """Change a component's mode at run time (``"on"``, ``"off"``, ``"canary:N"``...)."""
        comp = self.components[name]
        m = _flags.parse(mode) if isinstance(mode, str) else mode
        if m.kind == "shadow" and not comp.shadow_ok:
            raise ValueError(f"{name} does not support shadow mode")
        with self._lock:
            comp.mode = m
            comp.tripped_until = None
            comp.failures.clear()
            if not m.enabled:
                self._undo(comp)
                if comp.state in ("active", "pending"):
                    comp.state = "off"
                self._set_route(comp)
                return
            self._set_route(comp)
            if self.enabled and comp.state in ("off", "reverted"):
                comp.state = "pending"
                self._try_apply(comp)

    # -- failures -----------------------------------------------------------
    def native_failed(self, comp: Component, p: Patch, exc: BaseException) -> None:
        comp.stats.fallbacks += 1
        if not comp.logged_failure:
            comp.logged_failure = True
            log.warning("native %s failed (%s: %s); answered by LiteLLM's code. Further "
                        "failures are counted in fast_litellm_fallbacks_total",
                        p.target, type(exc).__name__, exc, exc_info=exc)
        now = time.monotonic()
        q = comp.failures
        q.append(now)
        while q and now - q[0] > self.window:
            q.popleft()
        if len(q) >= self.threshold and comp.tripped_until is None:
            comp.stats.trips += 1
            comp.tripped_until = now + self.cooldown if self.cooldown > 0 else float("inf")
            comp.route = R_SLOW
            q.clear()
            log.warning(
                "circuit breaker: %s failed natively %d times within %gs; serving LiteLLM's "
                "code %s", comp.name, self.threshold, self.window,
                f"for {self.cooldown:g}s" if self.cooldown > 0 else "until restart")

    def shadow_mismatch(self, comp: Component, p: Patch, served, native) -> None:
        comp.stats.mismatches += 1
        if not comp.logged_mismatch:
            comp.logged_mismatch = True
            log.warning("shadow mismatch in %s: LiteLLM gave %.200r, native gave %.200r",
                        p.target, served, native)

    def breaker_closed(self, comp: Component) -> bool:
        """True when native calls are allowed (re-arms after the cooldown)."""
        until = comp.tripped_until
        if until is None:
            return True
        if time.monotonic() >= until:
            comp.tripped_until = None
            self._set_route(comp)
            log.warning("circuit breaker: %s cooldown over; trying native again", comp.name)
            return True
        return False


def _resolve(p: Patch):
    owner: Any = sys.modules[p.module]
    path = p.path
    for part in path[:-1]:
        owner = getattr(owner, part)
    attr = path[-1]
    if isinstance(owner, type):
        if attr not in owner.__dict__:
            raise AttributeError(f"{owner.__qualname__} does not define {attr}")
        original = owner.__dict__[attr]
    else:
        original = getattr(owner, attr)
    return owner, attr, original


def _raw_function(obj):
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__
    return obj


class _Outcome:
    __slots__ = ("value", "error")

    def __init__(self, value=None, error=None):
        self.value, self.error = value, error


def _wrap(reg: Registry, comp: Component, p: Patch, original):
    """Build the function installed at the target."""
    kind = None
    if isinstance(original, staticmethod):
        kind = staticmethod
    elif isinstance(original, classmethod):
        kind = classmethod
    orig = _raw_function(original)
    native = p.make(orig)
    stats = comp.stats
    passthrough = p.passthrough() if callable(p.passthrough) else p.passthrough
    equal = p.compare or (lambda a, b: a == b)
    exporter = reg.exporter
    mp = exporter.multiprocess

    def decide() -> bool:
        """Slow path: should this call go native?"""
        if not reg.breaker_closed(comp):
            return False
        if comp.sampler is not None:
            return comp.sampler()
        return comp.mode.kind in ("on", "shadow")

    def compare(served: _Outcome, got: _Outcome) -> None:
        if served.error is not None or got.error is not None:
            same = (served.error is not None and got.error is not None
                    and _same_error(served.error, got.error))
        else:
            try:
                same = bool(equal(served.value, got.value))
            except Exception:  # noqa: BLE001 - an incomparable result is a mismatch
                same = False
        if not same:
            reg.shadow_mismatch(comp, p, served.error or served.value, got.error or got.value)

    if inspect.iscoroutinefunction(orig):

        async def replacement(*args, **kwargs):
            if comp.route == R_ON:
                try:
                    result = await native(*args, **kwargs)
                except passthrough:
                    stats.native += 1
                    raise
                except Exception as exc:  # noqa: BLE001 - any other error is a native failure
                    reg.native_failed(comp, p, exc)
                    stats.python += 1
                    return await orig(*args, **kwargs)
                stats.native += 1
                return result
            return await slow(*args, **kwargs)

        async def slow(*args, **kwargs):
            if comp.route == R_OFF or not decide():
                stats.python += 1
                return await orig(*args, **kwargs)
            if comp.mode.kind == "shadow":
                served = _Outcome()
                try:
                    served.value = await orig(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001
                    served.error = exc
                stats.python += 1
                got = _Outcome()
                try:
                    got.value = await native(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001
                    got.error = exc
                stats.native += 1
                compare(served, got)
                if served.error is not None:
                    raise served.error
                return served.value
            try:
                result = await native(*args, **kwargs)
            except passthrough:
                stats.native += 1
                raise
            except Exception as exc:  # noqa: BLE001
                reg.native_failed(comp, p, exc)
                stats.python += 1
                return await orig(*args, **kwargs)
            stats.native += 1
            return result

    else:

        def replacement(*args, **kwargs):
            if comp.route == R_ON:
                try:
                    result = native(*args, **kwargs)
                except passthrough:
                    stats.native += 1
                    raise
                except Exception as exc:  # noqa: BLE001 - any other error is a native failure
                    reg.native_failed(comp, p, exc)
                    stats.python += 1
                    return orig(*args, **kwargs)
                stats.native += 1
                return result
            return slow(*args, **kwargs)

        def slow(*args, **kwargs):
            if comp.route == R_OFF or not decide():
                stats.python += 1
                return orig(*args, **kwargs)
            if comp.mode.kind == "shadow":
                served = _Outcome()
                try:
                    served.value = orig(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001
                    served.error = exc
                stats.python += 1
                got = _Outcome()
                try:
                    got.value = native(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001
                    got.error = exc
                stats.native += 1
                compare(served, got)
                if served.error is not None:
                    raise served.error
                return served.value
            try:
                result = native(*args, **kwargs)
            except passthrough:
                stats.native += 1
                raise
            except Exception as exc:  # noqa: BLE001
                reg.native_failed(comp, p, exc)
                stats.python += 1
                return orig(*args, **kwargs)
            stats.native += 1
            return result

    if mp:
        # gunicorn multiprocess metrics: write every counted call through (exact sums
        # across workers, even for a worker that goes idle; about 2-3 us a call)
        counted = replacement
        if inspect.iscoroutinefunction(orig):

            async def replacement(*args, **kwargs):
                try:
                    return await counted(*args, **kwargs)
                finally:
                    exporter.flush(comp)

        else:

            def replacement(*args, **kwargs):
                try:
                    return counted(*args, **kwargs)
                finally:
                    exporter.flush(comp)

    functools.update_wrapper(replacement, orig)
    replacement.__fast_litellm_patch__ = p  # type: ignore[attr-defined]
    replacement.__fast_litellm_original__ = orig  # type: ignore[attr-defined]
    if kind is not None:
        return kind(replacement)
    return replacement


# -- the post-import hook --------------------------------------------------------------

class _HookLoader(importlib.abc.Loader):
    def __init__(self, real, reg: Registry) -> None:
        self._real = real
        self._reg = reg

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module) -> None:
        # show the real loader to everything that inspects the module
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._real
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._real
        name = module.__name__
        self._reg.executing.add(name)
        try:
            self._real.exec_module(module)
        finally:
            self._reg.executing.discard(name)
        self._reg.on_module_loaded(module)

    def __getattr__(self, name):
        return getattr(self._real, name)


class ImportHook(importlib.abc.MetaPathFinder):
    """Watches imports of ``litellm`` modules (and any target module) and patches them."""

    def __init__(self, reg: Registry) -> None:
        self._reg = reg
        self._local = threading.local()

    def _watched(self, name: str) -> bool:
        if name == "litellm" or name.startswith("litellm."):
            return True
        if name in self._reg._when_loaded:
            return True
        return any(p.module == name for c in self._reg.components.values() for p in c.patches)

    def find_spec(self, name, path, target=None):
        if not self._reg.enabled or not self._watched(name):
            return None
        if getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or isinstance(finder, ImportHook):
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._local.busy = False
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module") or isinstance(loader, _HookLoader):
            return spec
        spec.loader = _HookLoader(loader, self._reg)
        return spec


def install_hook(reg: Registry) -> ImportHook:
    for finder in sys.meta_path:
        if isinstance(finder, ImportHook) and finder._reg is reg:
            return finder
    hook = ImportHook(reg)
    sys.meta_path.insert(0, hook)
    return hook


def import_targets(reg: Registry) -> None:
    """Import the target modules of every pending component (so they resolve now)."""
    for comp in reg.components.values():
        if comp.state != "pending":
            continue
        for p in comp.patches:
            if p.module not in sys.modules:
                try:
                    importlib.import_module(p.module)
                except Exception as exc:  # noqa: BLE001
                    reg._refuse(comp, f"{p.module} cannot be imported ({exc})")
                    break
        reg._try_apply(comp)
