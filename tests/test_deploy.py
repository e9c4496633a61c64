"""End-to-end checks that the deployment guide's files work as written with our package.

Real processes only: our sdist is built, installed into a CLEAN venv with the Dockerfile's own
`RUN pip install ...` line (litellm & co. come from PyPI), then the Dockerfile's CMD and the systemd
unit's ExecStart are run as written, except for what a test box must change (bind address,
worker count, paths). The upstream provider is fast_litellm.mock_upstream on loopback.

Slow (a clean install from PyPI): marked `deploy`; deselect with `-m "not deploy"`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from _proc import ProcessDied, free_port, http, kill_group, start, wait_file, wait_for, wait_http

pytestmark = pytest.mark.deploy

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"

MASTER_KEY = "sk-test"
TEST_WORKERS = 2  # the guide says -w 4; 2 workers keep the memory of a test run down
STARTUP_TIMEOUT = 120.0
ACTIVE_RE = re.compile(r"^fast_litellm: active components = \[.*\]$")
CONFIG_MAPPED_RE = re.compile(r"\bLITELLM_CONFIG\b")
# What the image / unit would have on PATH; the clean venv's bin goes first where pip put it.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# --------------------------------------------------------------------------------------------
# Parsers for the deployment files
# --------------------------------------------------------------------------------------------


@dataclass
class Dockerfile:
    workdir: str = "/"
    runs: list[str] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)  # [src..., dest]
    env: dict[str, str] = field(default_factory=dict)
    expose: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    cmd_is_exec_form: bool = False


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; backslash continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if stripped.startswith("#") or (buf is not None and not stripped):
            continue  # comment lines (also inside a continuation) and blank continuation lines
        if buf is None and not stripped:
            continue
        piece = line[:-1] if line.endswith("\\") else line
        buf = piece if buf is None else buf + " " + piece.strip()
        if line.endswith("\\"):
            continue
        instr, _, args = buf.strip().partition(" ")
        out.append((instr.upper(), args.strip()))
        buf = None
    assert buf is None, "Dockerfile ends inside a line continuation"
    return out


def parse_env_args(args: str) -> dict[str, str]:
    tokens = shlex.split(args)
    if tokens and "=" not in tokens[0]:  # legacy `ENV KEY value with spaces`
        key, _, value = args.partition(" ")
        return {key: value.strip()}
    return dict(tok.split("=", 1) for tok in tokens)


def parse_dockerfile(path: Path) -> Dockerfile:
    df = Dockerfile()
    for instr, args in dockerfile_instructions(path.read_text()):
        if instr == "WORKDIR":
            df.workdir = os.path.join(df.workdir, args)
        elif instr == "RUN":
            df.runs.append(args)
        elif instr == "COPY":
            assert not args.startswith("["), "JSON-form COPY not handled"
            df.copies.append(shlex.split(args))
        elif instr == "ENV":
            df.env.update(parse_env_args(args))
        elif instr == "EXPOSE":
            df.expose.extend(args.split())
        elif instr == "CMD":
            if args.startswith("["):
                df.cmd, df.cmd_is_exec_form = json.loads(args), True
            else:
                df.cmd, df.cmd_is_exec_form = ["/bin/sh", "-c", args], False
    return df


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd unit -> {section: {key: [values...]}}; backslash continuations joined with a space."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    buf: str | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith(("#", ";")) or (buf is None and not line):
            continue
        if buf is None and line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        piece = line[:-1] if line.endswith("\\") else line
        buf = piece if buf is None else buf + " " + piece
        if line.endswith("\\"):
            continue
        assert current is not None, f"assignment outside a section: {buf!r}"
        key, sep, value = buf.partition("=")
        assert sep, f"not an assignment: {buf!r}"
        current.setdefault(key.strip(), []).append(value.strip())
        buf = None
    assert buf is None, "unit file ends inside a line continuation"
    return sections


def rewrite_gunicorn_args(argv: list[str], bind: str, workers: int | None) -> tuple[list[str], dict]:
    """Replace the bind address (and, optionally, the worker count); report what was there."""
    out: list[str] = []
    seen: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        for short, long, name, new in (("-b", "--bind", "bind", bind), ("-w", "--workers", "workers", workers)):
            if arg in (short, long):
                seen[name] = argv[i + 1]
                out += [arg, str(new) if new is not None else argv[i + 1]]
                i += 2
                break
            if arg.startswith(long + "="):
                seen[name] = arg.split("=", 1)[1]
                out.append(f"{long}={new if new is not None else seen[name]}")
                i += 1
                break
        else:
            out.append(arg)
            i += 1
    return out, seen


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def tail(path: Path, n: int = 80) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "<no output file>"
    return "\n".join(lines[-n:])


def run_logged(argv: list[str], log: Path, timeout: float, **kwargs) -> None:
    with open(log, "wb") as fh:
        res = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, **kwargs)
    assert res.returncode == 0, f"{shlex.join(argv)} failed ({res.returncode}):\n{tail(log)}"


def runtime_env(venv_bin: str | None, extra: dict[str, str], home: Path) -> dict[str, str]:
    """A clean environment (nothing of the test runner's leaks in, e.g. no LITELLM_MASTER_KEY)."""
    env = {
        "PATH": (venv_bin + ":" if venv_bin else "") + SYSTEM_PATH,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        # No internet on CI: use the bundled model cost map instead of downloading it.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    env.update(extra)
    return env


def proxy_test_config(upstream: str) -> str:
    return (
        "model_list:\n"
        "  - model_name: demo\n"
        "    litellm_params:\n"
        "      model: openai/demo\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: sk-mock-upstream\n"
        "litellm_settings:\n"
        "  num_retries: 0\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )


def active_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ACTIVE_RE.match(ln.strip())]


def assert_active_components(stderr: Path, at_least: int) -> None:
    try:
        wait_for(lambda: len(active_lines(stderr.read_text(errors="replace"))) >= at_least, 60,
                 what=f"{at_least} 'fast_litellm: active components' lines")
    except TimeoutError:
        pass  # the assertion below reports
    text = stderr.read_text(errors="replace")
    lines = active_lines(text)
    assert len(lines) >= at_least, (
        f"expected >= {at_least} lines 'fast_litellm: active components = [...]' (master + each "
        f"worker) on stderr, found {len(lines)}:\n{tail(stderr)}"
    )
    for ln in lines:
        listed = ast.literal_eval(ln.split(" = ", 1)[1])
        assert isinstance(listed, list) and all(isinstance(c, str) for c in listed), ln
        assert listed == sorted(listed), f"component list not sorted: {ln}"


def chat(base: str, key: str | None) -> tuple[int, bytes]:
    body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "hi"}]}).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return http(base + "/v1/chat/completions", data=body, headers=headers, method="POST", timeout=60)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DEPLOY / "Dockerfile")


@pytest.fixture(scope="session")
def sdist(tmp_path_factory) -> Path:
    """Our sdist, built once; installing it in the clean venv compiles the C extension
    there, which proves that the sdist carries everything the build needs. Built from a copy
    of the repo so that no build/ or *.egg-info is left in the working tree (and no in-tree
    compiled extension is picked up)."""
    base = tmp_path_factory.mktemp("sdist")
    src = base / "src"
    shutil.copytree(
        REPO, src,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                      ".pytest_cache", ".hypothesis", "*.so", "*.o"),
    )
    out = base / "dist"
    run_logged([sys.executable, "setup.py", "-q", "sdist", "-d", str(out)],
               base / "sdist.log", timeout=900, cwd=src)
    dists = sorted(out.glob("fast_litellm-*.tar.gz")) or sorted(out.glob("fast-litellm-*.tar.gz"))
    assert len(dists) == 1, f"expected one fast_litellm sdist, got {sorted(out.iterdir())}"
    return dists[0]


@pytest.fixture(scope="session")
def clean_venv(tmp_path_factory, sdist: Path, dockerfile: Dockerfile) -> Path:
    """A fresh venv (outside the repo) into which the Dockerfile's RUN line installs, as written,
    except that `fast-litellm` is our freshly built sdist instead of the PyPI release."""
    venv = tmp_path_factory.mktemp("clean-venv") / "venv"
    run_logged([sys.executable, "-m", "venv", str(venv)], venv.parent / "venv.log", timeout=300)
    env = dict(os.environ, PATH=f"{venv}/bin:{SYSTEM_PATH}", VIRTUAL_ENV=str(venv))
    env.pop("PYTHONPATH", None)
    assert dockerfile.runs, "Dockerfile has no RUN line"
    replaced = 0
    for n, run in enumerate(dockerfile.runs):
        argv = shlex.split(run)
        replaced += argv.count("fast-litellm")
        argv = [str(sdist) if tok == "fast-litellm" else tok for tok in argv]
        exe = shutil.which(argv[0], path=env["PATH"])
        assert exe and exe.startswith(str(venv)), f"RUN {run!r}: {argv[0]} is not the venv's"
        argv[0] = exe
        run_logged(argv, venv.parent / f"run{n}.log", timeout=1800, env=env, cwd=venv.parent)
    assert replaced == 1, "the Dockerfile should install `fast-litellm` exactly once"
    for tool in ("python", "gunicorn"):
        assert (venv / "bin" / tool).exists(), f"{tool} missing from the clean venv"
    return venv


@pytest.fixture
def mock_upstream(clean_venv: Path, tmp_path: Path):
    """fast_litellm.mock_upstream from the clean venv; yields its base URL."""
    ready = tmp_path / "mock.port"
    log = tmp_path / "mock.log"
    with open(log, "wb") as fh:
        proc = start([str(clean_venv / "bin" / "python"), "-m", "fast_litellm.mock_upstream",
                      "--port", "0", "--ready-file", str(ready)],
                     cwd=tmp_path, env=runtime_env(None, {}, tmp_path), stdout=fh, stderr=fh)
    try:
        try:
            port = int(wait_file(ready, 60, proc=proc))
        except (TimeoutError, ProcessDied) as err:
            pytest.fail(f"mock upstream did not start: {err}\n{tail(log)}")
        yield f"http://127.0.0.1:{port}"
    finally:
        kill_group(proc)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_dockerfile_parses_as_the_guide_has_it(dockerfile: Dockerfile):
    """Static: the guide's Dockerfile, one instruction each (cheap; runs before the slow ones)."""
    assert dockerfile.workdir == "/app"
    assert [shlex.split(r) for r in dockerfile.runs] == [
        ["pip", "install", "--no-cache-dir", "fast-litellm", "gunicorn", "uvicorn"]]
    assert dockerfile.copies == [["app.py", "config.yaml", "./"]]
    assert dockerfile.env == {"LITELLM_CONFIG": "/app/config.yaml"}
    assert dockerfile.expose == ["4000"]
    assert dockerfile.cmd_is_exec_form
    assert dockerfile.cmd == ["gunicorn", "app:app", "--preload", "-w", "4",
                              "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:4000"]
    assert (DEPLOY / "app.py").read_text().splitlines() == [
        "import fast_litellm  # 1. accelerate first",
        "from litellm.proxy.proxy_server import app  # 2. then load the proxy",
    ]


def test_dockerfile_image_serves(dockerfile: Dockerfile, clean_venv: Path, mock_upstream: str,
                                 tmp_path: Path):
    """The Dockerfile, played without Docker: WORKDIR -> temp dir, COPY, ENV, CMD as written."""
    workdir = tmp_path / "app"
    workdir.mkdir()
    # COPY app.py config.yaml ./   (config.yaml: the test's own, routing "demo" to the mock)
    for copy in dockerfile.copies:
        *sources, dest = copy
        target = workdir / dest if not os.path.isabs(dest) else workdir / os.path.relpath(dest, dockerfile.workdir)
        assert set(sources) >= {"app.py", "config.yaml"}, copy
        for name in sources:
            if name == "config.yaml":
                (target / name).write_text(proxy_test_config(mock_upstream))
            else:
                shutil.copy(DEPLOY / name, target / name)

    # ENV, with the image's WORKDIR (/app) mapped onto the temp dir.
    env_lines = {k: (str(workdir) + v[len(dockerfile.workdir):] if v.startswith(dockerfile.workdir + "/") else v)
                 for k, v in dockerfile.env.items()}
    assert env_lines.get("LITELLM_CONFIG") == str(workdir / "config.yaml")
    env = runtime_env(str(clean_venv / "bin"), env_lines, tmp_path)

    # CMD as written, except: bind to loopback on a free port, and -w 4 -> -w 2 (memory).
    port = free_port()
    argv, seen = rewrite_gunicorn_args(dockerfile.cmd, f"127.0.0.1:{port}", TEST_WORKERS)
    assert seen.get("bind") == "0.0.0.0:4000" and seen.get("workers") == "4", seen
    assert seen["bind"].rsplit(":", 1)[1] in dockerfile.expose, "CMD binds a port the image does not EXPOSE"
    exe = shutil.which(argv[0], path=env["PATH"])
    assert exe == str(clean_venv / "bin" / "gunicorn"), exe
    argv[0] = exe

    out, err = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = start(argv, cwd=workdir, env=env, stdout=fo, stderr=fe)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(base + "/health/readiness", STARTUP_TIMEOUT, proc=proc)
        except (TimeoutError, ProcessDied) as exc:
            pytest.fail(f"proxy not ready: {exc}\n--- stderr ---\n{tail(err)}")

        # The master key comes only from config.yaml (the proxy refuses to boot without one), so
        # serving at all proves LITELLM_CONFIG was honoured. A request with no key must be refused.
        # (Not asserted == 401: stock LiteLLM 1.108.7 answers 500 here when `prisma` is not
        # installed, which litellm[proxy] does not pull: its auth error handler imports prisma.)
        status, body = chat(base, None)
        assert status != 200, (status, body[:300])
        status, body = chat(base, MASTER_KEY)
        assert status == 200, (status, body[:500], tail(err))
        expected = json.loads(chat(mock_upstream, None)[1])["choices"][0]["message"]["content"]
        assert json.loads(body)["choices"][0]["message"]["content"] == expected

        assert_active_components(err, at_least=1 + TEST_WORKERS)
        text = err.read_text(errors="replace")
        assert any(CONFIG_MAPPED_RE.search(ln) for ln in text.splitlines()), (
            f"no stderr line says LITELLM_CONFIG was mapped:\n{tail(err)}")
        assert proc.poll() is None, "gunicorn exited"
    finally:
        kill_group(proc)


def _recv_notify(sock: socket.socket, proc: subprocess.Popen, timeout: float) -> list[tuple[int, bytes]]:
    """Datagrams (sender pid, payload) until one holds READY=1."""
    creds = struct.calcsize("3i")
    got: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while True:
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(creds))
        except socket.timeout:
            if proc.poll() is not None:
                raise ProcessDied(f"gunicorn exited ({proc.returncode}) before READY=1; got {got}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no READY=1 within {timeout:.0f}s; got {got}")
            continue
        pid = -1
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", cdata[:creds])[0]
        got.append((pid, data))
        if "READY=1" in data.decode(errors="replace").split("\n"):
            return got


def test_systemd_unit_type_notify(clean_venv: Path, mock_upstream: str, tmp_path: Path):
    """The unit's ExecStart under a stand-in for systemd: NOTIFY_SOCKET, READY=1, then serving."""
    unit = parse_unit(DEPLOY / "litellm-proxy.service")
    service = unit["Service"]
    assert service["Type"] == ["notify"]
    assert "multi-user.target" in unit["Install"]["WantedBy"]
    (workdir_orig,) = service["WorkingDirectory"]
    (exec_start,) = service["ExecStart"]
    environment: dict[str, str] = {}
    for value in service.get("Environment", []):
        environment.update(tok.split("=", 1) for tok in shlex.split(value))
    assert environment.get("LITELLM_CONFIG") == workdir_orig + "/config.yaml", environment

    workdir = tmp_path / "srv"
    workdir.mkdir()
    shutil.copy(DEPLOY / "app.py", workdir / "app.py")
    (workdir / "config.yaml").write_text(proxy_test_config(mock_upstream))
    environment = {k: (str(workdir) + v[len(workdir_orig):] if v.startswith(workdir_orig + "/") else v)
                   for k, v in environment.items()}

    argv = shlex.split(exec_start.lstrip("-@:+!"))
    assert argv[0] == workdir_orig + "/.venv/bin/gunicorn", argv[0]
    argv[0] = str(clean_venv / "bin" / "gunicorn")
    port = free_port()
    # bind to loopback on a free port; -w 4 -> -w 2 to keep memory down.
    argv, seen = rewrite_gunicorn_args(argv, f"127.0.0.1:{port}", TEST_WORKERS)
    assert seen.get("bind") == "0.0.0.0:4000" and "--preload" in argv, argv

    # systemd's side of sd_notify: a datagram socket named by $NOTIFY_SOCKET. gunicorn 23's
    # arbiter sends "READY=1\nSTATUS=Gunicorn arbiter booted" once listening (after --preload
    # imported app.py). Under the default NotifyAccess=main systemd only accepts it from the main
    # PID, so the sender's credentials are checked. (Short dir: sun_path holds 107 bytes.)
    sockdir = tempfile.mkdtemp(prefix="sdn-")
    sock_path = os.path.join(sockdir, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(sock_path)
    env = runtime_env(None, {**environment, "NOTIFY_SOCKET": sock_path}, tmp_path)

    out, err = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = start(argv, cwd=workdir, env=env, stdout=fo, stderr=fe)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            messages = _recv_notify(sock, proc, STARTUP_TIMEOUT)
        except (TimeoutError, ProcessDied) as exc:
            pytest.fail(f"{exc}\n--- stderr ---\n{tail(err)}")
        sender, _ = messages[-1]
        assert sender == proc.pid, f"READY=1 came from pid {sender}, not the main pid {proc.pid}"
        try:
            wait_http(base + "/health/readiness", 60, proc=proc)
        except (TimeoutError, ProcessDied) as exc:
            pytest.fail(f"READY=1 sent but the proxy does not serve: {exc}\n{tail(err)}")
        assert_active_components(err, at_least=1 + TEST_WORKERS)
    finally:
        kill_group(proc)
        sock.close()
        shutil.rmtree(sockdir, ignore_errors=True)


def test_example_config_and_gunicorn_conf(clean_venv: Path, tmp_path: Path):
    """deploy/config.yaml boots LiteLLM 1.108.7 under deploy/gunicorn.conf.py (PORT, WEB_CONCURRENCY)."""
    workdir = tmp_path / "app"
    workdir.mkdir()
    for name in ("app.py", "config.yaml", "gunicorn.conf.py"):
        shutil.copy(DEPLOY / name, workdir / name)
    port = free_port()
    key = "sk-" + os.urandom(16).hex()
    env = runtime_env(str(clean_venv / "bin"), {
        "LITELLM_CONFIG": str(workdir / "config.yaml"),
        "LITELLM_MASTER_KEY": key,
        "OPENAI_API_KEY": "sk-not-used",  # no upstream call is made
        "PORT": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }, tmp_path)
    out, err = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = start([str(clean_venv / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
                     cwd=workdir, env=env, stdout=fo, stderr=fe)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(base + "/health/readiness", STARTUP_TIMEOUT, proc=proc)
        except (TimeoutError, ProcessDied) as exc:
            pytest.fail(f"proxy not ready with deploy/config.yaml: {exc}\n{tail(err)}")
        status, body = http(base + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert status == 200, (status, body[:300])
        assert "gpt-4o-mini" in [m["id"] for m in json.loads(body)["data"]]
        # A wrong key is refused (LiteLLM 1.108.7 says 400 "No connected db" with no database, not 401).
        status, _ = http(base + "/v1/models", headers={"Authorization": "Bearer sk-wrong"})
        assert status != 200
        assert_active_components(err, at_least=2)  # master (preload_app) + 1 worker
    finally:
        kill_group(proc)
