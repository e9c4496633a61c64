"""The patch framework on stand-in targets of every shape (a private Registry per test).

The real-LiteLLM counterpart of each behaviour is in test_litellm_patching.py.
"""

import asyncio
import importlib
import inspect
import logging
import random
import sys

import pytest

from fast_litellm import flags
from fast_litellm.patching import Component, Patch, Registry, fingerprint, install_hook
from plugins import targets

MOD = "plugins.targets"


class NativeBoom(RuntimeError):
    pass


def fp(obj):
    return frozenset({fingerprint(obj)})


def make_native(behaviour):
    """A native implementation whose behaviour the test controls: 'same', 'fail', 'differ'."""

    def make(original):
        if inspect.iscoroutinefunction(original):
            async def native(*a, **k):
                if behaviour["mode"] == "fail":
                    raise NativeBoom("boom")
                r = await original(*a, **k)
                return r + 1000 if behaviour["mode"] == "differ" else r
        else:
            def native(*a, **k):
                if behaviour["mode"] == "fail":
                    raise NativeBoom("boom")
                r = original(*a, **k)
                return r + 1000 if behaviour["mode"] == "differ" else r
        native.calls = 0
        return native

    return make


@pytest.fixture
def reg():
    r = Registry()
    yield r
    r.revert_all()


@pytest.fixture
def warnings_log(caplog):
    logger = logging.getLogger("fast_litellm")
    logger.addHandler(caplog.handler)
    yield lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    logger.removeHandler(caplog.handler)


def component(name, attr_path, behaviour, obj, mode=flags.ON, **kw):
    patch_kw = {k: kw.pop(k) for k in ("passthrough", "compare") if k in kw}
    c = Component(name, [Patch(f"{MOD}:{attr_path}", make_native(behaviour), fp(obj), **patch_kw)], **kw)
    c.mode = mode
    return c


def test_sync_function_patched_counted_and_reverted(reg):
    b = {"mode": "same"}
    original = targets.add
    reg.register(component("t", "add", b, original))
    reg.apply_all()
    assert targets.add is not original
    assert targets.add.__wrapped__ is original and targets.add.__name__ == "add"
    assert inspect.signature(targets.add) == inspect.signature(original)
    assert targets.add(2, 3) == 5
    st = reg.components["t"].stats
    assert (st.native, st.python, st.fallbacks) == (1, 0, 0)
    reg.revert_all()
    assert targets.add is original
    assert reg.components["t"].state == "reverted"


def test_passthrough_exception_is_litellms_own(reg):
    b = {"mode": "same"}
    reg.register(component("t", "add", b, targets.add, passthrough=(ValueError,)))
    reg.apply_all()
    with pytest.raises(ValueError, match="a must be an int"):
        targets.add("x", 1)
    st = reg.components["t"].stats
    assert (st.native, st.fallbacks) == (1, 0)


def test_undeclared_exception_is_answered_by_original_with_same_exception(reg):
    b = {"mode": "same"}
    reg.register(component("t", "add", b, targets.add))  # ValueError not declared
    reg.apply_all()
    with pytest.raises(ValueError, match="a must be an int"):
        targets.add("x", 1)
    assert reg.components["t"].stats.fallbacks == 1


def test_native_failure_falls_back_logged_once(reg, warnings_log):
    b = {"mode": "fail"}
    reg.register(component("t", "add", b, targets.add))
    reg.threshold = 100
    reg.apply_all()
    assert [targets.add(i, 1) for i in range(3)] == [1, 2, 3]
    st = reg.components["t"].stats
    assert (st.native, st.python, st.fallbacks) == (0, 3, 3)
    fails = [w for w in warnings_log() if "failed" in w]
    assert len(fails) == 1 and "NativeBoom" in fails[0] and "plugins.targets:add" in fails[0]


def test_circuit_breaker_trips_then_rearms(reg, warnings_log, monkeypatch):
    b = {"mode": "fail"}
    reg.register(component("t", "add", b, targets.add))
    reg.threshold, reg.window, reg.cooldown = 3, 60.0, 30.0
    reg.apply_all()
    for i in range(3):
        assert targets.add(i, 1) == i + 1
    comp = reg.components["t"]
    assert comp.stats.trips == 1 and comp.tripped_until is not None
    assert any("circuit breaker" in w and "3 times" in w for w in warnings_log())
    b["mode"] = "same"
    assert targets.add(1, 1) == 2
    assert comp.stats.native == 0  # still open: LiteLLM's code serves
    assert comp.status()["breaker_open"] is True
    import fast_litellm.patching as pt
    real = pt.time.monotonic
    monkeypatch.setattr(pt.time, "monotonic", lambda: real() + 31)
    assert targets.add(1, 1) == 2
    assert comp.stats.native == 1 and comp.tripped_until is None
    assert any("cooldown over" in w for w in warnings_log())


def test_async_function_keeps_coroutine_shape(reg):
    b = {"mode": "same"}
    reg.register(component("t", "aadd", b, targets.aadd))
    reg.apply_all()
    assert inspect.iscoroutinefunction(targets.aadd)
    assert asyncio.run(targets.aadd(2, 2)) == 4
    b["mode"] = "fail"
    assert asyncio.run(targets.aadd(2, 3)) == 5
    st = reg.components["t"].stats
    assert (st.native, st.python, st.fallbacks) == (1, 1, 1)


def test_methods_static_and_class_methods(reg):
    b = {"mode": "same"}
    calc_dict = dict(targets.Calc.__dict__)
    for name, attr in [("m1", "mul"), ("m2", "amul"), ("m3", "neg"), ("m4", "name")]:
        reg.register(component(name, f"Calc.{attr}", b, getattr(targets.Calc, attr)))
    reg.apply_all()
    c = targets.Calc()
    assert c.mul(3, 4) == 12
    assert asyncio.run(c.amul(3, 4)) == 12
    assert targets.Calc.neg(5) == -5 and c.neg(5) == -5
    assert isinstance(targets.Calc.__dict__["neg"], staticmethod)
    assert isinstance(targets.Calc.__dict__["name"], classmethod)
    assert targets.Calc.name() == "Calc"
    assert sum(reg.components[n].stats.native for n in ("m1", "m2", "m3", "m4")) == 5
    reg.revert_all()
    for k in ("mul", "amul", "neg", "name"):
        assert targets.Calc.__dict__[k] is calc_dict[k]


def test_guard_refuses_changed_target_with_one_warning(reg, warnings_log):
    b = {"mode": "same"}
    original = targets.add
    c = Component("t", [Patch(f"{MOD}:add", make_native(b), frozenset({"0" * 16}))])
    c.mode = flags.ON
    reg.register(c)
    reg.apply_all()
    assert targets.add is original
    assert c.state == "refused" and not c.active
    w = warnings_log()
    assert len(w) == 1 and "plugins.targets:add" in w[0] and "0000000000000000" in w[0]


def test_component_is_all_or_nothing(reg):
    b = {"mode": "same"}
    original_add, original_mul = targets.add, targets.Calc.__dict__["mul"]
    c = Component("t", [Patch(f"{MOD}:add", make_native(b), fp(targets.add)),
                        Patch(f"{MOD}:Calc.mul", make_native(b), frozenset({"bad"}))])
    c.mode = flags.ON
    reg.register(c)
    reg.apply_all()
    assert targets.add is original_add and targets.Calc.__dict__["mul"] is original_mul



def test_replacement_that_cannot_be_built_refuses_the_component(reg, warnings_log):
    # (a stale native module without a function the replacement needs, say)
    def broken_make(original):
        raise AttributeError("module 'fast_litellm._native' has no attribute 'x'")

    b = {"mode": "same"}
    original_add, original_mul = targets.add, targets.Calc.__dict__["mul"]
    c = Component("t", [Patch(f"{MOD}:add", make_native(b), fp(targets.add)),
                        Patch(f"{MOD}:Calc.mul", broken_make, fp(targets.Calc.__dict__["mul"]))])
    c.mode = flags.ON
    reg.register(c)
    reg.apply_all()
    assert targets.add is original_add and targets.Calc.__dict__["mul"] is original_mul
    assert c.state == "refused" and not c.active
    w = warnings_log()
    assert len(w) == 1 and "could not be built" in w[0] and "has no attribute 'x'" in w[0]

def test_missing_target_refused(reg, warnings_log):
    c = Component("t", [Patch(f"{MOD}:nope", make_native({"mode": "same"}), frozenset({"x"}))])
    c.mode = flags.ON
    reg.register(c)
    reg.apply_all()
    assert c.state == "refused" and "not found" in warnings_log()[0]


def test_off_means_untouched(reg):
    original = targets.add
    reg.register(component("t", "add", {"mode": "same"}, original, mode=flags.OFF))
    reg.apply_all()
    assert targets.add is original and not reg.components["t"].active


def test_canary_splits_calls_and_leaves_random_alone(reg):
    reg.register(component("t", "add", {"mode": "same"}, targets.add, mode=flags.parse("canary:50")))
    reg.apply_all()
    random.seed(99)
    state = random.getstate()
    assert all(targets.add(i, 1) == i + 1 for i in range(2000))
    assert random.getstate() == state
    st = reg.components["t"].stats
    assert st.native + st.python == 2000
    assert 800 < st.native < 1200  # 50 % +- 9 sigma


def test_shadow_serves_litellm_and_counts_mismatches(reg, warnings_log):
    b = {"mode": "differ"}
    reg.register(component("t", "add", b, targets.add, mode=flags.SHADOW))
    reg.apply_all()
    assert targets.add(1, 2) == 3  # LiteLLM's result, not native's 1003
    st = reg.components["t"].stats
    assert (st.native, st.python, st.mismatches) == (1, 1, 1)
    b["mode"] = "same"
    assert targets.add(1, 2) == 3
    assert st.mismatches == 1
    # exceptions: LiteLLM's is served; the same exception from native is no mismatch
    with pytest.raises(ValueError):
        targets.add("x", 2)
    assert st.mismatches == 1
    b["mode"] = "fail"
    assert targets.add(1, 2) == 3
    assert st.mismatches == 2
    assert len([w for w in warnings_log() if "shadow mismatch" in w]) == 1


def test_shadow_refused_for_side_effecting_component(reg, warnings_log, monkeypatch):
    c = component("t", "add", {"mode": "same"}, targets.add, shadow_ok=False)
    reg.register(c)
    monkeypatch.setenv("FAST_LITELLM_T", "shadow")
    reg.read_flags()
    assert c.mode == flags.ON
    assert any("shadow is not supported" in w for w in warnings_log())
    with pytest.raises(ValueError):
        reg.configure("t", "shadow")


def test_configure_at_run_time(reg):
    original = targets.add
    reg.register(component("t", "add", {"mode": "same"}, original))
    reg.apply_all()
    reg.configure("t", "off")
    assert targets.add is original
    reg.configure("t", "on")
    assert targets.add is not original and targets.add(1, 1) == 2


def test_copies_by_from_import_are_patched_and_reverted(reg):
    sys.modules.pop("plugins.copier", None)
    import plugins.copier as copier  # copied the original before patching

    original = targets.add
    assert copier.add is original
    reg.register(component("t", "add", {"mode": "same"}, original))
    reg.apply_all()
    assert copier.add is targets.add and copier.add is not original
    sys.modules.pop("plugins.copier")
    install_hook(reg)
    copier2 = importlib.import_module("plugins.copier")  # imports the replacement
    assert copier2.add is targets.add
    reg.revert_all()
    assert copier.add is original and copier2.add is original
    sys.modules.pop("plugins.copier", None)


def test_late_import_and_reload(reg):
    hook = install_hook(reg)
    try:
        sys.modules.pop("plugins.targets", None)
        reg.register(component("t", "add", {"mode": "same"}, targets.add))
        reg.apply_all()
        c = reg.components["t"]
        assert c.state == "pending"  # module not loaded yet
        fresh = importlib.import_module("plugins.targets")
        assert c.state == "active" and hasattr(fresh.add, "__fast_litellm_patch__")
        # the loader seen by the module is the real one
        assert type(fresh.__spec__.loader).__name__ == "SourceFileLoader"
        importlib.reload(fresh)  # re-creates the original function
        assert hasattr(fresh.add, "__fast_litellm_patch__") and fresh.add(2, 2) == 4
    finally:
        reg.revert_all()
        sys.meta_path.remove(hook)
        sys.modules["plugins.targets"] = targets


def test_still_bound_sees_a_replaced_attribute():
    import types

    from fast_litellm.patching import still_bound

    mod = types.SimpleNamespace(f=len, g=max)
    check = still_bound((mod, "f"), (mod, "g"))
    assert check() is True
    mod.g = min
    assert check() is False
    mod.g = max
    assert check() is True


def test_still_bound_on_modules_and_classes_sees_every_rebinding():
    """The version-tag shortcut (nothing rebound since the last pass) must not hide a change:
    a module attribute, a class attribute, one inherited from a base class, the same object
    set again (passes), another object (fails), put back (passes)."""
    import types

    from fast_litellm import _native
    from fast_litellm.patching import still_bound

    mod = types.ModuleType("probe_mod")
    mod.f, mod.g = len, max

    class Base:
        def h(self):
            return 1

    class Child(Base):
        def k(self):
            return 2

    check = still_bound((mod, "f"), (mod, "g"), (Child, "h"), (Child, "k"))
    for _ in range(3):
        assert check() is True
    mod.g = max  # the same object set again: a new tag, the long check passes
    assert check() is True and check() is True
    mod.g = min
    assert check() is False and check() is False
    mod.g = max
    assert check() is True
    original_h = Base.h
    Base.h = lambda self: 3  # inherited: the base class's namespace counts
    assert check() is False
    Base.h = original_h
    assert check() is True
    original_k = Child.k
    Child.k = lambda self: 4
    assert check() is False
    Child.k = original_k
    assert check() is True
    mod.unrelated = 1  # another name in a watched namespace: the long check, still true
    assert check() is True
    if _native.dict_tags(()) is not None:  # the shortcut exists here: an unchanged pass is cheap
        assert _native.dict_tags((vars(mod), Child)) == _native.dict_tags((vars(mod), Child))


def test_still_bound_accepts_our_own_replacement_of_the_same_function(reg):
    # another component's replacement of a helper (applied, or re-applied after a revert,
    # after the check was made) stands for the helper; a foreign replacement does not
    from fast_litellm.patching import still_bound

    original = targets.add
    check = still_bound((targets, "add"))
    reg.register(component("t", "add", {"mode": "same"}, original))
    reg.apply_all()
    assert targets.add is not original and check() is True
    reg.revert_all()
    assert targets.add is original and check() is True
    reg.apply_all()
    assert check() is True

    def foreign(a, b):
        return a + b

    saved, targets.add = targets.add, foreign
    try:
        assert check() is False
    finally:
        targets.add = saved
