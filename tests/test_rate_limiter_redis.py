"""End to end: the rate_limiter component with several proxy instances sharing ONE real Redis.

Setup. One ``redis-server`` (started here on a free port, ``--save '' --appendonly no``,
killed at the end; installed by ``make apt-deps``), the mock upstream, and real LiteLLM
proxies as in test_e2e_proxy / test_rate_limiter_e2e (gunicorn --preload, ONE
UvicornWorker each: one limiter per instance, so "two instances" means exactly two
in-memory tiers), each with a ``custom_auth`` hook that hands out keys with
``rpm_limit=5`` without a database. Patched instances import fast_litellm with
``FAST_LITELLM_RATE_LIMITER=true`` (the in-memory tier of the internal usage DualCache is
a ``CounterCache``); stock instances are plain LiteLLM (an app that never imports
fast_litellm, ``FAST_LITELLM_RATE_LIMITER=false`` as well): a rollout's old pods.

How Redis reaches the limiter (litellm 1.108.7, proxy_server.py / proxy/utils.py). The v3
limiter (``parallel_request_limiter_v3``) registers its Lua scripts only if
``proxy_logging_obj.internal_usage_cache.dual_cache.redis_cache`` is set when it is built,
and ``ProxyLogging.startup_event`` -> ``update_values(redis_cache=redis_usage_cache)`` sets
it from the module global ``proxy_server.redis_usage_cache``. That global is set, in
this order of precedence, from

1. ``general_settings.coordination_redis`` (``host``/``port``/... -
   ``CoordinationRedisParams``): ``ProxyConfig._init_coordination_redis``, before the
   cache settings; an explicit opt-in that fails loudly on a bad target;
2. ``litellm_settings.cache: true`` with a Redis ``cache_params`` (``init_cache`` borrows
   the RESPONSE cache's RedisCache) - it also turns on response caching, which would
   change what the proxy answers;
3. ``REDIS_HOST``/``REDIS_PORT`` (``_init_coordination_redis_env_fallback``): pinged at
   start-up with a 2 s timeout, and silently in-memory if that fails.

(``router_settings.redis_host``/``redis_port`` only give the Router its own cache, not
the limiter.) We use (1), ``general_settings: coordination_redis: {host: 127.0.0.1,
port: <port>}``, and strip ``REDIS_*`` from the environment; that Redis really carries the
counters is checked by reading the limiter's keys back from Redis.

LiteLLM's design (``should_rate_limit``): a request is first checked against the
instance's in-memory counters (which can only REJECT: a stale count is never lower than
the Redis count it was copied from), then the batch Lua script ``INCR``s the Redis counter
atomically and the request is admitted iff the returned count is <= the limit; the
in-memory tier is then overwritten with Redis's values. So while Redis is up the limit is
global and exact: at most ``rpm_limit`` admissions per key and window across all
instances, even for concurrent requests (bound: admitted == 5, no overshoot) - the tests
assert exactly 5, and the same for stock.

Redis faults (default, fail-open): a failing script call (connection refused, then the
circuit breaker's fast-fail) falls back to ``in_memory_cache_sliding_window`` on the
instance's own counters, which continue from the last count Redis gave that instance: so
each instance admits up to the limit on its own during the fault (a bounded overshoot of
up to ``instances x limit`` per key, by LiteLLM's design). With
``fail_closed_rate_limit_enforcement: true`` the same failure answers 503
(``RateLimitUnverifiableError``) unless the in-memory check already refuses (429). Both
are compared request by request with stock LiteLLM in the same situation, every request
must answer within ``TIMEOUT`` s, and after Redis restarts (empty, same port) a fresh key
must again get exactly its limit across the instances.

After a restart LiteLLM (stock as well) does not recover at once: for some seconds, some of
the connections pooled before the kill still fail once each when next used ("Connection
closed by server"), that request falls back to the in-memory count (fail-open: it may be
admitted beyond the limit) or answers 503 (fail-closed), and five such failures re-open
the circuit breaker. Which request meets a stale connection depends on timing, so before
each trace that must be exact the tests wait (``_settle``) until waves of throw-away
requests come back clean on every instance, and such a trace is judged only if no instance
logged a Redis failure while it ran (``_clean_trace`` redoes it with fresh keys otherwise,
at most 4 times; the redone traces are printed): a deviation is never excused unless a
logged Redis failure explains it.

``REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT=2`` (LiteLLM's own knob, default 60 s) for every
instance, so that recovery after the restart takes seconds; ``LITELLM_RATE_LIMIT_WINDOW_SIZE
=600`` so that the window never rolls during the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _proc import free_port, kill_group, start, wait_for, wait_http
from _sub import BUILTINS_OFF
from test_e2e_proxy import APP_FAST, APP_STOCK, STARTUP, mock_port  # noqa: F401 - mock_port is a fixture

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parent
MASTER = "sk-master-rl-redis"
RPM = 5
WINDOW = 600
TIMEOUT = 30  # seconds: an answer later than this counts as a hang
PER_KEY = 2 * RPM  # requests per key in the alternating traces
N_KEYS = 20
RECOVERY = 2  # REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT for every instance

CUSTOM_AUTH = f'''
from litellm.proxy._types import UserAPIKeyAuth

async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    return UserAPIKeyAuth(api_key=api_key, rpm_limit={RPM})
'''

EXACT = [200] * RPM + [429] * (PER_KEY - RPM)  # an alternating trace with the limit held globally


# ------------------------------------------------------------------ redis-server ----------

class RedisServer:
    def __init__(self, work: Path):
        self.work, self.port, self.proc = work, free_port(), None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        fh = open(self.work / f"redis-{self.starts}.log", "w")  # noqa: SIM115 - the server's stdout
        self.proc = start(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", str(self.work)],
                          stdout=fh, stderr=fh)
        wait_for(lambda: self._ping(), 20, what=f"redis-server on {self.port}", proc=self.proc)

    def kill(self) -> None:
        """The fault: SIGKILL, no shutdown handshake; clients see their connections reset."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert not self._ping()

    def _ping(self) -> bool:
        import redis

        try:
            return self.client().ping()
        except (redis.RedisError, OSError):
            return False

    def client(self):
        import redis  # LiteLLM's own dependency: a real client of the real server

        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True,
                           socket_timeout=5)

    def request_counters(self) -> dict[str, int]:
        """The limiter's api_key request counters in Redis: {key name: count}."""
        c = self.client()
        names = [n for n in c.scan_iter(match="*api_key*:requests", count=1000)]
        return {n: int(v) for n, v in zip(names, c.mget(names) if names else [])}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    if server.proc is not None:
        kill_group(server.proc, grace=5)


# ------------------------------------------------------------------ proxies ---------------

class RProxy:
    def __init__(self, name, patched, proc, port, work):
        self.name, self.patched, self.proc, self.port, self.work = name, patched, proc, port, work
        self.base = f"http://127.0.0.1:{port}"

    @property
    def log(self) -> str:
        return (self.work / "proxy.log").read_text(errors="replace")

    def startup_lists(self):
        return [m.group(1) for ln in self.log.splitlines() if (m := STARTUP.match(ln.strip()))]

    def chat(self, key: str) -> tuple[object, float]:
        """One chat completion with `key`: (status, seconds). A request that does not answer
        within TIMEOUT gives status 'timeout' (a hang), a dropped connection 'error: ...'."""
        body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "Hello"}]}).encode()
        req = urllib.request.Request(self.base + "/v1/chat/completions", body,
                                     {"Authorization": f"Bearer {key}",
                                      "Content-Type": "application/json"})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                resp.read()
                status: object = resp.status
        except urllib.error.HTTPError as err:
            err.read()
            status = err.code
        except TimeoutError:
            status = "timeout"
        except (urllib.error.URLError, OSError) as err:
            status = "timeout" if "timed out" in str(err) else f"error: {err}"
        return status, time.monotonic() - t0


def launch(root: Path, mock: int, redis_port: int, name: str, patched: bool,
           fail_closed: bool = False) -> RProxy:
    work = root / f"{name}-{free_port()}"
    work.mkdir()
    (work / "app.py").write_text(APP_FAST if patched else APP_STOCK)
    (work / "custom_auth.py").write_text(CUSTOM_AUTH)
    (work / "config.yaml").write_text(
        "model_list:\n"
        "  - model_name: demo\n"
        "    litellm_params:\n"
        "      model: openai/demo\n"
        f"      api_base: http://127.0.0.1:{mock}/v1\n"
        "      api_key: sk-mock\n"
        "general_settings:\n"
        f"  master_key: {MASTER}\n"
        "  custom_auth: custom_auth.user_api_key_auth\n"
        "  coordination_redis:\n"
        "    host: 127.0.0.1\n"
        f"    port: {redis_port}\n"
        + ("  fail_closed_rate_limit_enforcement: true\n" if fail_closed else "")
        + "litellm_settings:\n"
        "  num_retries: 0\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAST_LITELLM_", "PROBE_", "REDIS_")) and k not in (
               "CONFIG_FILE_PATH", "LITELLM_CONFIG", "WORKER_CONFIG", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(BUILTINS_OFF)
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "FAST_LITELLM_RATE_LIMITER": "true" if patched else "false",
                "LITELLM_RATE_LIMIT_WINDOW_SIZE": str(WINDOW),
                "REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT": str(RECOVERY),
                "CONFIG_FILE_PATH": str(work / "config.yaml"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(work), str(TESTS),
                                                            os.environ.get("PYTHONPATH")]))})
    port = free_port()
    fh = open(work / "proxy.log", "w")  # noqa: SIM115 - the proxy's stdout/stderr
    proc = start([sys.executable, "-m", "gunicorn", "app:app", "--preload", "-w", "1",
                  "-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{port}",
                  "--timeout", "120"], cwd=work, env=env, stdout=fh, stderr=fh)
    return RProxy(name, patched, proc, port, work)


def ready(proxy: RProxy) -> None:
    try:
        wait_http(proxy.base + "/health/readiness", 240, proc=proxy.proc)
        wait_for(lambda: "Application startup complete" in proxy.log, 60, proc=proxy.proc,
                 what=f"{proxy.name} worker")
    except (TimeoutError, AssertionError) as err:  # ProcessDied is an AssertionError
        raise AssertionError(f"{proxy.name} proxy did not start:\n" + proxy.log[-5000:]) from err
    want = ["['rate_limiter']"] * 2 if proxy.patched else []
    assert proxy.startup_lists() == want, (proxy.name, proxy.startup_lists())


FLEET = {  # name: (patched, fail_closed)
    "p1": (True, False), "p2": (True, False),
    "s1": (False, False), "s2": (False, False),
    "pfc": (True, True), "sfc": (False, True),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, mock_port, redis_server):  # noqa: F811 - the fixture imported above
    """Every proxy the module uses, started together (start-up dominates the runtime)."""
    root = tmp_path_factory.mktemp("fleet")
    procs = {name: launch(root, mock_port, redis_server.port, name, *spec)
             for name, spec in FLEET.items()}
    try:
        with ThreadPoolExecutor(len(procs)) as pool:
            list(pool.map(ready, procs.values()))
        yield procs
    finally:
        for p in procs.values():
            kill_group(p.proc)


# ------------------------------------------------------------------ traces ----------------

def alternating(pair, keys, per_key, first=0, workers=4):
    """For each key, `per_key` sequential requests alternating pair[first], pair[1-first], ...
    (the keys in parallel). Returns {key: [(status, seconds, proxy name), ...]}."""
    def one_key(key):
        out = []
        for i in range(per_key):
            proxy = pair[(first + i) % 2]
            status, secs = proxy.chat(key)
            out.append((status, secs, proxy.name))
        return key, out

    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one_key, keys))


def statuses(trace) -> dict[str, list]:
    return {k: [s for s, _, _ in v] for k, v in trace.items()}


def burst(pair, key, n):
    """n requests for one key at once, split over the two proxies."""
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        return pair[i % 2].chat(key)[0]

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def counter_for(redis_server, key: str) -> int | None:
    return counter_in(redis_server.request_counters(), key)


def counter_in(counters: dict[str, int], key: str) -> int | None:
    """The Redis request counter of client key `key` (LiteLLM names it by the key's SHA-256,
    as UserAPIKeyAuth stores ``sk-`` keys hashed), None if Redis has none."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    hits = {n: v for n, v in counters.items() if f":{digest}}}" in n or f":{key}}}" in n}
    assert len(hits) <= 1, hits
    return next(iter(hits.values()), None)


# ------------------------------------------------------------------ tests -----------------

def test_global_limit_across_instances(fleet, redis_server):
    """(a) Two patched instances on one Redis: for each of 20 keys, 10 requests alternating
    between them: exactly 5 admitted per key, globally (the first 5, then 429s), and the
    limiter's counter for the key is in Redis. Two stock instances given the same trace
    (other keys) answer exactly the same, and leave the same counts in Redis. Then a burst:
    10 requests of one key at once over both instances: exactly 5 admitted (the Lua script's
    INCR is atomic), patched and stock."""
    runs = {}
    for label, pair in (("patched", (fleet["p1"], fleet["p2"])),
                        ("stock", (fleet["s1"], fleet["s2"]))):
        keys = [f"sk-a-{label}-{i}" for i in range(N_KEYS)]
        t0 = time.monotonic()
        trace = alternating(pair, keys, PER_KEY)
        got = statuses(trace)
        wrong = {k: v for k, v in got.items() if v != EXACT}
        assert not wrong, f"{label}: {len(wrong)} keys not limited globally: {dict(list(wrong.items())[:4])}"
        counts = [counter_for(redis_server, k) for k in keys]
        # the counter lives in Redis (the instances shared it): at least every request
        # that reached the script, i.e. > the limit
        assert all(c is not None and c > RPM for c in counts), (
            label, counts, sorted(redis_server.request_counters())[:5])
        admitted = sum(v.count(200) for v in got.values())
        runs[label] = (admitted, counts, time.monotonic() - t0)

        bursts = [burst(pair, f"sk-a-burst-{label}-{j}", PER_KEY) for j in range(3)]
        for b in bursts:
            assert sorted(b, key=str) == sorted(EXACT), (label, b)
        runs[label] += (bursts,)

    assert runs["patched"][0] == runs["stock"][0] == N_KEYS * RPM
    assert runs["patched"][1] == runs["stock"][1], (runs["patched"][1], runs["stock"][1])
    print(f"\n(a) admitted of {N_KEYS}x{PER_KEY}: patched {runs['patched'][0]} ({runs['patched'][2]:.1f} s), "
          f"stock {runs['stock'][0]} ({runs['stock'][2]:.1f} s); Redis counters per key: "
          f"patched {sorted(set(runs['patched'][1]))}, stock {sorted(set(runs['stock'][1]))}; "
          f"bursts patched {[b.count(200) for b in runs['patched'][3]]}, "
          f"stock {[b.count(200) for b in runs['stock'][3]]}")


def test_mixed_rollout_shares_one_limit(fleet, redis_server):
    """(b) One patched and one stock instance on the same Redis (a rollout in progress):
    the same alternating trace, half the keys starting on the patched instance, half on the
    stock one: exactly 5 admitted per key, the same Redis counts as in (a)."""
    mixed = (fleet["p1"], fleet["s1"])
    keys_p = [f"sk-b-pfirst-{i}" for i in range(N_KEYS // 2)]
    keys_s = [f"sk-b-sfirst-{i}" for i in range(N_KEYS // 2)]
    t0 = time.monotonic()
    got = {**statuses(alternating(mixed, keys_p, PER_KEY, first=0)),
           **statuses(alternating(mixed, keys_s, PER_KEY, first=1))}
    wrong = {k: v for k, v in got.items() if v != EXACT}
    assert not wrong, f"{len(wrong)} keys not limited globally: {dict(list(wrong.items())[:4])}"
    counts = {counter_for(redis_server, k) for k in keys_p + keys_s}
    # with every instance consulting Redis first, the count the trace leaves is that of (a)
    ref = {counter_for(redis_server, f"sk-a-patched-{i}") for i in range(N_KEYS)}
    assert counts == ref, (counts, ref)
    assert sum(v.count(200) for v in got.values()) == N_KEYS * RPM
    b = burst(mixed, "sk-b-burst", PER_KEY)
    assert sorted(b, key=str) == sorted(EXACT), b
    print(f"\n(b) mixed: admitted {sum(v.count(200) for v in got.values())} of {N_KEYS * PER_KEY} "
          f"({time.monotonic() - t0:.1f} s), Redis counters {sorted(counts)}, burst {b.count(200)}/{PER_KEY}")


REDIS_FAILURE = re.compile(r"Connection closed by server|Connection refused|Connection reset|"
                           r"circuit breaker is open|Error while reading")


def _redis_failures(proxy: RProxy) -> int:
    return len(REDIS_FAILURE.findall(proxy.log))


def _settle(redis_server, proxies, wave=8, clean_waves=2, timeout=60):
    """Until every instance's limiter talks to Redis again: waves of `wave` concurrent requests
    per instance, each with a throw-away key, until `clean_waves` waves in a row have left
    all their counters in Redis (count 1 each) and added no Redis failure to any instance's
    log. LiteLLM's own recovery, the same for stock and patched: after a restart some of the
    connections pooled before the kill still fail once each ("Connection closed by server":
    that request falls back to the in-memory count, or answers 503 when fail-closed), and 5
    failures re-open the circuit breaker for RECOVERY s. Waiting this out keeps the traces
    that follow deterministic. Returns the number of waves."""
    proxies = list({p.name: p for p in proxies}.values())
    deadline = time.monotonic() + timeout
    clean = 0
    for n in range(1, 1000):
        failures = {p.name: _redis_failures(p) for p in proxies}
        keys = [(p, f"sk-warm-{redis_server.starts}-{n}-{p.name}-{i}") for p in proxies for i in range(wave)]
        with ThreadPoolExecutor(len(keys)) as pool:
            answers = list(pool.map(lambda item: item[0].chat(item[1]), keys))
        for (proxy, key), (status, secs) in zip(keys, answers):
            assert status in (200, 503) and secs < TIMEOUT, (proxy.name, key, status, secs)
        time.sleep(0.3)  # the post-call writes of the wave
        counters = redis_server.request_counters()
        ok = (all(counter_in(counters, key) == 1 for _, key in keys)
              and all(_redis_failures(p) == failures[p.name] for p in proxies))
        clean = clean + 1 if ok else 0
        if clean == clean_waves:
            return n
        assert time.monotonic() < deadline, "the instances did not get back to Redis"
        if not ok:
            time.sleep(RECOVERY + 0.5)


def _clean_trace(redis_server, proxies, run, attempts=4):
    """run(attempt) -> a trace, repeated (with fresh keys: `attempt` goes into their names)
    until no instance logged a Redis failure while it ran, settling in between: a trace that
    must be exact is only judged when Redis answered every call of it (see _settle). Returns
    (the clean trace, the statuses of the unclean ones before it)."""
    proxies = list({p.name: p for p in proxies}.values())
    unclean = []
    for attempt in range(attempts):
        before = {p.name: _redis_failures(p) for p in proxies}
        result = run(attempt)
        time.sleep(0.3)  # the post-call writes of the trace, and their log lines
        if all(_redis_failures(p) == before[p.name] for p in proxies):
            return result, unclean
        unclean.append(result)
        _settle(redis_server, proxies)
    raise AssertionError(f"no trace without a Redis failure in {attempts} attempts: {unclean}")


def _fault_run(redis_server, pairs, tag, before=3, during=8, n_keys=6):
    """The same fault for every pair at once: `before` requests per key with Redis up, kill
    Redis, `during` requests per key (continuing the alternation), restart Redis, recover,
    then a fresh set of keys. Returns ({label: (during statuses, max seconds, after
    statuses)}, fault seconds, unclean after-traces)."""
    everyone = [p for pair in pairs.values() for p in pair]

    def all_pairs(fn):
        with ThreadPoolExecutor(len(pairs)) as pool:
            return dict(zip(pairs, pool.map(lambda lb: fn(lb, pairs[lb]), pairs)))

    def trace(kind, per_key, first=0):
        def run(attempt):
            keys = {lb: [f"sk-c-{tag}-{kind}{attempt}-{lb}-{i}" for i in range(n_keys)] for lb in pairs}
            got = all_pairs(lambda lb, pair: alternating(pair, keys[lb], per_key, first=first))
            return {lb: [statuses(got[lb])[k] for k in keys[lb]] for lb in pairs}, keys, got
        return run

    _settle(redis_server, everyone)  # connections left stale by an earlier restart
    (pre, keys, _), _ = _clean_trace(redis_server, everyone, trace("pre", before))
    for lb, st in pre.items():
        assert st == [[200] * before] * n_keys, (lb, st)
    redis_server.kill()
    t_kill = time.monotonic()
    try:
        # the alternation goes on where it stopped: pair[before % 2] answers next
        during_tr = all_pairs(lambda lb, pair: alternating(pair, keys[lb], during, first=before % 2))
        t_fault = time.monotonic() - t_kill
    finally:
        redis_server.start()
    _settle(redis_server, everyone)
    (after, _, _), unclean = _clean_trace(redis_server, everyone, trace("fresh", PER_KEY))
    out = {}
    for lb in pairs:
        d = during_tr[lb]
        out[lb] = ([statuses(d)[k] for k in keys[lb]],
                   max(s for v in d.values() for _, s, _ in v),
                   after[lb])
    return out, t_fault, [{lb: [v.count(200) if all(x in (200, 429) for x in v) else v for v in st]
                           for lb, st in u[0].items()} for u in unclean]


def test_redis_fault_fail_open(fleet, redis_server):
    """(c) Default (fail-open). Redis is killed while two patched and two stock instances
    serve: every request still answers, within TIMEOUT s, with exactly the statuses stock
    LiteLLM gives in the same place of the same trace (no 5xx: stock gives none here); each
    instance goes on counting from the last count Redis gave it, so a key admits more than 5
    overall during the fault, the same for both. Redis restarted (empty) on the same port:
    fresh keys get exactly 5 again across the instances, patched and stock."""
    pairs = {"patched": (fleet["p1"], fleet["p2"]), "stock": (fleet["s1"], fleet["s2"])}
    out, t_fault, unclean = _fault_run(redis_server, pairs, "open")
    (p_during, p_max, p_after), (s_during, s_max, s_after) = out["patched"], out["stock"]
    assert p_max < TIMEOUT and s_max < TIMEOUT, (p_max, s_max)
    assert p_during == s_during, (p_during, s_during)
    flat = [s for v in s_during for s in v]
    assert all(s in (200, 429) for s in flat), s_during  # fail-open: stock gives no 5xx either
    # before the fault a key had 3 admitted (instance A saw count 3, B count 2); during it
    # A admits 2 and B 3 more from their own copies: 5 admitted during the fault, 8 overall
    assert all(v.count(200) == 5 for v in p_during), p_during
    assert p_after == s_after == [EXACT] * len(p_after), (p_after, s_after)
    print(f"\n(c) fail-open: during the fault ({t_fault:.1f} s) admitted per key: patched "
          f"{[v.count(200) for v in p_during]}, stock {[v.count(200) for v in s_during]} "
          f"(+3 before); slowest answer patched {p_max:.2f} s, stock {s_max:.2f} s; after the "
          f"restart (redone for a stale-connection failure: {unclean}): patched {[v.count(200) for v in p_after]}, stock {[v.count(200) for v in s_after]}")


def test_redis_fault_fail_closed(fleet, redis_server):
    """(c') ``fail_closed_rate_limit_enforcement: true``: while Redis is down every request
    the in-memory check does not already refuse is answered 503 (LiteLLM's
    RateLimitUnverifiableError) - the same statuses, request by request, on a patched and a
    stock instance; none hangs; after the restart fresh keys get exactly 5 again."""
    pairs = {"patched": (fleet["pfc"], fleet["pfc"]), "stock": (fleet["sfc"], fleet["sfc"])}
    out, t_fault, unclean = _fault_run(redis_server, pairs, "closed", before=3, during=4)
    (p_during, p_max, p_after), (s_during, s_max, s_after) = out["patched"], out["stock"]
    assert p_max < TIMEOUT and s_max < TIMEOUT, (p_max, s_max)
    assert p_during == s_during, (p_during, s_during)
    assert all(v == [503] * 4 for v in p_during), p_during
    assert p_after == s_after == [EXACT] * len(p_after), (p_after, s_after)
    print(f"\n(c') fail-closed: during the fault ({t_fault:.1f} s) patched {p_during[0]}, stock "
          f"{s_during[0]} (every key); slowest answer patched {p_max:.2f} s, stock {s_max:.2f} s; "
          f"after (redone for a stale-connection failure: {unclean}): patched {[v.count(200) for v in p_after]}, stock {[v.count(200) for v in s_after]}")
