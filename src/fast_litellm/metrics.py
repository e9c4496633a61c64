"""Per-component counters, and their export as Prometheus metrics.

Counting on the hot path is a plain integer increment on a :class:`Stats` object.
Export:

* single process (no ``PROMETHEUS_MULTIPROC_DIR``): a collector registered in
  ``prometheus_client.REGISTRY`` reads the counters at scrape time, so any ``/metrics``
  that serves the default registry (LiteLLM's, or ours) shows them, exactly;
* gunicorn with ``PROMETHEUS_MULTIPROC_DIR``: after every counted call the worker adds
  its deltas to prometheus_client's multiprocess counters (memory-mapped files; about
  2-3 us a call, only in this mode), so LiteLLM's ``MultiProcessCollector`` (its
  ``/metrics`` or its separate metrics server) sums them exactly across workers.

Series (label ``component``):
``fast_litellm_calls_total{path="native"|"python"}``, ``fast_litellm_fallbacks_total``,
``fast_litellm_shadow_mismatches_total``, ``fast_litellm_breaker_trips_total``,
``fast_litellm_component_active`` (1 or 0);
``fast_litellm_fast_path_calls_total{path=..., outcome="served"|"delegated"}`` for the
replacements that have a plain case (``Component.paths``): whether a call was answered by
fast_litellm or handed to LiteLLM's code by its plainness checks.
"""

from __future__ import annotations

import atexit
import os
from typing import Callable, Iterable

_FIELDS = ("native", "python", "fallbacks", "mismatches", "trips")


class Stats:
    """Counters of one component in this process."""

    __slots__ = _FIELDS + ("_flushed",)

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        for f in _FIELDS:
            setattr(self, f, 0)
        self._flushed = dict.fromkeys(_FIELDS, 0)

    def as_dict(self) -> dict[str, int]:
        return {
            "native_calls": self.native,
            "python_calls": self.python,
            "fallbacks": self.fallbacks,
            "shadow_mismatches": self.mismatches,
            "breaker_trips": self.trips,
        }


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


class Exporter:
    """Bridges :class:`Stats` objects to prometheus_client."""

    def __init__(self, components: Callable[[], Iterable]) -> None:
        self._components = components  # () -> iterable of objects with .name .stats .active
        self._mp_metrics = None
        self._registered = False
        self._initialised: set[str] = set()
        self._flushed_paths: dict[tuple[str, str, str], int] = {}
        self.multiprocess = False

    # -- setup ---------------------------------------------------------
    def setup(self) -> None:
        """Register with prometheus_client (idempotent). No threads, no sockets."""
        if self._registered:
            return
        self._registered = True
        self.multiprocess = multiprocess_dir() is not None
        if self.multiprocess:
            from prometheus_client import Counter, Gauge

            self._mp_metrics = {
                "native": Counter("fast_litellm_calls", "Calls routed by fast_litellm",
                                  ["component", "path"], registry=None),
                "fallbacks": Counter("fast_litellm_fallbacks",
                                     "Native failures answered by LiteLLM's code",
                                     ["component"], registry=None),
                "mismatches": Counter("fast_litellm_shadow_mismatches",
                                      "Shadow-mode results that differed from LiteLLM's",
                                      ["component"], registry=None),
                "trips": Counter("fast_litellm_breaker_trips",
                                 "Circuit-breaker trips", ["component"], registry=None),
                "paths": Counter("fast_litellm_fast_path_calls",
                                 "Calls of a fast path answered here (served) or handed to LiteLLM's code",
                                 ["component", "path", "outcome"], registry=None),
                "active": Gauge("fast_litellm_component_active",
                                "1 when the component is active in the process",
                                ["component"], registry=None, multiprocess_mode="livemax"),
            }
            atexit.register(self.flush_all)
        else:
            from prometheus_client import REGISTRY

            try:
                REGISTRY.register(_Collector(self._components))
            except ValueError:  # already registered by an earlier import of this module
                pass

    # -- multiprocess flush ---------------------------------------------
    def flush(self, comp) -> None:
        if self._mp_metrics is None:
            return
        st = comp.stats
        m = self._mp_metrics
        if comp.name not in self._initialised:  # expose every series from 0
            self._initialised.add(comp.name)
            m["native"].labels(comp.name, "native")
            m["native"].labels(comp.name, "python")
            for key in ("fallbacks", "mismatches", "trips"):
                m[key].labels(comp.name)
            for path in getattr(comp, "paths", {}):
                for outcome in ("served", "delegated"):
                    m["paths"].labels(comp.name, path, outcome)
        done = st._flushed
        for field in _FIELDS:
            delta = getattr(st, field) - done[field]
            if delta <= 0:
                continue
            if field == "native":
                m["native"].labels(comp.name, "native").inc(delta)
            elif field == "python":
                m["native"].labels(comp.name, "python").inc(delta)
            else:
                m[field].labels(comp.name).inc(delta)
            done[field] += delta
        flushed = self._flushed_paths
        for path, counts in getattr(comp, "paths", {}).items():
            for outcome in ("served", "delegated"):
                key = (comp.name, path, outcome)
                delta = counts[outcome] - flushed.get(key, 0)
                if delta > 0:
                    m["paths"].labels(comp.name, path, outcome).inc(delta)
                    flushed[key] = counts[outcome]
        m["active"].labels(comp.name).set(1 if comp.active else 0)

    def flush_all(self) -> None:
        if self._mp_metrics is None:
            return
        for comp in self._components():
            self.flush(comp)


class _Collector:
    """Reads this process's counters at scrape time (single-process mode)."""

    def __init__(self, components) -> None:
        self._components = components

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        calls = CounterMetricFamily("fast_litellm_calls", "Calls routed by fast_litellm",
                                    labels=["component", "path"])
        fb = CounterMetricFamily("fast_litellm_fallbacks",
                                 "Native failures answered by LiteLLM's code", labels=["component"])
        mm = CounterMetricFamily("fast_litellm_shadow_mismatches",
                                 "Shadow-mode results that differed from LiteLLM's",
                                 labels=["component"])
        tr = CounterMetricFamily("fast_litellm_breaker_trips", "Circuit-breaker trips",
                                 labels=["component"])
        act = GaugeMetricFamily("fast_litellm_component_active",
                                "1 when the component is active in the process",
                                labels=["component"])
        paths = CounterMetricFamily("fast_litellm_fast_path_calls",
                                    "Calls of a fast path answered here (served) or handed to LiteLLM's code",
                                    labels=["component", "path", "outcome"])
        extra: dict[str, GaugeMetricFamily] = {}
        for comp in self._components():
            gauges = getattr(comp, "gauges", None)
            if gauges is not None:
                try:
                    values = gauges()
                except Exception:  # noqa: BLE001 - a broken gauge must not break the scrape
                    values = {}
                for suffix, (help_text, value) in values.items():
                    fam = extra.get(suffix)
                    if fam is None:
                        fam = extra[suffix] = GaugeMetricFamily(f"fast_litellm_{suffix}", help_text,
                                                                labels=["component"])
                    fam.add_metric([comp.name], value)
            st = comp.stats
            calls.add_metric([comp.name, "native"], st.native)
            calls.add_metric([comp.name, "python"], st.python)
            fb.add_metric([comp.name], st.fallbacks)
            mm.add_metric([comp.name], st.mismatches)
            tr.add_metric([comp.name], st.trips)
            act.add_metric([comp.name], 1 if comp.active else 0)
            for path, counts in getattr(comp, "paths", {}).items():
                for outcome in ("served", "delegated"):
                    paths.add_metric([comp.name, path, outcome], counts[outcome])
        return [calls, fb, mm, tr, act, paths, *extra.values()]


def metrics_asgi_app(exporter: Exporter):
    """An ASGI app serving Prometheus text: the multiprocess view when enabled."""
    from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app

    if exporter.multiprocess:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        inner = make_asgi_app(registry)

        async def app(scope, receive, send):
            if scope.get("type") == "http":
                exporter.flush_all()
            await inner(scope, receive, send)

        return app
    return make_asgi_app(REGISTRY)
