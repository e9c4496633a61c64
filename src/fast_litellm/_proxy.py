"""What fast_litellm does for the LiteLLM proxy process (not a component).

* the start-up line, when the proxy module is loaded and again in every forked worker;
* ``/metrics`` on the proxy app when, after start-up, LiteLLM mounted none;
* ``LITELLM_CONFIG`` (the deployment guide's variable) mapped to ``CONFIG_FILE_PATH``.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ._log import log

PROXY_MODULE = "litellm.proxy.proxy_server"

_announced = False


def active_names(reg) -> list[str]:
    return sorted(c.name for c in reg.components.values() if c.active)


def startup_line(reg) -> str:
    return f"fast_litellm: active components = {active_names(reg)!r}"


def announce(reg) -> None:
    """Log the pid, then the exact start-up line."""
    global _announced
    _announced = True
    try:
        import litellm  # noqa: F401  (already loaded: the proxy imported it)
        from importlib.metadata import version

        ver = version("litellm")
    except Exception:  # noqa: BLE001
        ver = "unknown"
    log.info("pid %d, litellm %s", os.getpid(), ver)
    log.info("active components = %r", active_names(reg))


def after_fork_in_child(reg) -> None:
    reg.exporter._initialised.clear()  # the child writes its own multiprocess file
    for comp in reg.components.values():
        comp.stats.reset()
        comp.failures.clear()
        comp.logged_failure = comp.logged_mismatch = False
    if _announced:
        announce(reg)


def map_litellm_config() -> None:
    """Make the guide's ``LITELLM_CONFIG`` work: LiteLLM reads ``CONFIG_FILE_PATH``."""
    path = os.environ.get("LITELLM_CONFIG")
    if not path:
        return
    for other in ("CONFIG_FILE_PATH", "WORKER_CONFIG"):
        if os.environ.get(other):
            if os.environ[other] != path:
                log.info("LITELLM_CONFIG=%s is not used: %s=%s is set and LiteLLM reads that",
                         path, other, os.environ[other])
            return
    os.environ["CONFIG_FILE_PATH"] = path
    log.info("LITELLM_CONFIG=%s: set CONFIG_FILE_PATH to it (LiteLLM reads its config from "
             "CONFIG_FILE_PATH, not LITELLM_CONFIG)", path)
    if not os.path.isfile(path):
        log.warning("LITELLM_CONFIG=%s does not exist: LiteLLM will start with no models", path)


def _has_metrics_route(app) -> bool:
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if path in ("/metrics", "/metrics/"):
            return True
    return False


def install_metrics_fallback(reg, proxy_module) -> None:
    """After LiteLLM's start-up, mount our /metrics if LiteLLM mounted none."""
    app = getattr(proxy_module, "app", None)
    router = getattr(app, "router", None)
    inner = getattr(router, "lifespan_context", None)
    if inner is None or getattr(inner, "__fast_litellm__", False):
        return
    from .metrics import metrics_asgi_app

    @contextlib.asynccontextmanager
    async def lifespan(app_):
        async with inner(app_) as state:
            if not _has_metrics_route(app):
                app.mount("/metrics", metrics_asgi_app(reg.exporter))
                log.info("serving fast_litellm metrics on the proxy's /metrics "
                         "(LiteLLM mounted none)")
            yield state

    lifespan.__fast_litellm__ = True  # type: ignore[attr-defined]
    router.lifespan_context = lifespan


def on_proxy_loaded(reg, module) -> None:
    from .patching import import_targets

    import_targets(reg)
    install_metrics_fallback(reg, module)
    announce(reg)


def _references_litellm(mod) -> bool:
    import types

    d = getattr(mod, "__dict__", None)
    if not isinstance(d, dict):
        return False
    # type() only: isinstance() and getattr() can run code on lazy proxy objects
    for value in list(d.values()):
        tp = type(value)
        if issubclass(tp, types.ModuleType):
            name = d_name = value.__dict__.get("__name__", "")
            if d_name == "litellm" or str(name).startswith("litellm."):
                return True
        elif tp is types.FunctionType or issubclass(tp, type):
            if str(value.__dict__.get("__module__", "")).startswith("litellm"):
                return True
    return False


def litellm_importer() -> str | None:
    """Best guess at the module that imported litellm before fast_litellm.

    importlib moves a module to the end of ``sys.modules`` when it finishes loading, so
    the module whose import pulled litellm in finishes right after it: the first later
    module that references litellm. (Earlier ones are a fallback.)
    """
    names = list(sys.modules)
    try:
        idx = names.index("litellm")
    except ValueError:
        return None

    def candidate(name: str) -> bool:
        return not name.startswith(("fast_litellm", "importlib", "_", "litellm")) and name != "__main__"

    for name in names[idx + 1:]:
        if candidate(name) and _references_litellm(sys.modules.get(name)):
            return name
    for name in reversed(names[:idx]):
        if candidate(name) and _references_litellm(sys.modules.get(name)):
            return name
    main = sys.modules.get("__main__")
    return "__main__" if main is not None and _references_litellm(main) else None
