"""Small, generic helpers for tests that drive real processes (no mocks).

    proc = start([...], cwd=..., env=..., stdout=fh, stderr=fh)   # own session/process group
    port = free_port()
    wait_http("http://127.0.0.1:%d/health" % port, timeout=60, proc=proc)
    kill_group(proc)                                             # SIGTERM, then SIGKILL, whole group
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Sequence, TypeVar

T = TypeVar("T")


class ProcessDied(AssertionError):
    """The process under test exited while we were waiting for it."""


def start(argv: Sequence[str], **kwargs) -> subprocess.Popen:
    """Popen in a new session, so that kill_group() reaches every child (e.g. gunicorn workers)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(list(argv), start_new_session=True, **kwargs)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_alive(proc: subprocess.Popen | None, what: str) -> None:
    if proc is not None and proc.poll() is not None:
        raise ProcessDied(f"process {proc.pid} exited with {proc.returncode} while waiting for {what}")


def wait_for(predicate: Callable[[], T], timeout: float, what: str = "condition",
             proc: subprocess.Popen | None = None, interval: float = 0.2) -> T:
    """Poll predicate() until it returns something truthy; fail after timeout or if proc exits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        _check_alive(proc, what)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_file(path: str | os.PathLike, timeout: float, proc: subprocess.Popen | None = None) -> str:
    """Wait until path exists and is non-empty; return its text."""
    p = Path(path)

    def read() -> str:
        try:
            return p.read_text()
        except FileNotFoundError:
            return ""

    return wait_for(read, timeout, what=f"file {p}", proc=proc)


def http(url: str, data: bytes | None = None, headers: Mapping[str, str] | None = None,
         method: str | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    """One HTTP request with the standard library; returns (status, body), HTTP errors included."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_http(url: str, timeout: float, status: int = 200,
              proc: subprocess.Popen | None = None) -> bytes:
    """Poll GET url until it answers `status`; return the body. Fails early if proc exits."""
    last: list[object] = [None]

    def probe() -> bytes | None:
        try:
            code, body = http(url, timeout=5)
        except (OSError, urllib.error.URLError) as err:
            last[0] = err
            return None
        last[0] = (code, body[:200])
        return (body or b" ") if code == status else None

    try:
        return wait_for(probe, timeout, what=f"{status} from {url}", proc=proc, interval=0.5)
    except (TimeoutError, ProcessDied) as err:
        raise type(err)(f"{err} (last answer: {last[0]!r})") from None


def kill_group(proc: subprocess.Popen, grace: float = 15.0) -> int | None:
    """SIGTERM the process group of proc (started by start()), SIGKILL it after `grace` seconds."""
    pgid = proc.pid  # start_new_session=True: the child leads its own process group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # Workers may outlive their master; make sure nothing of the group is left.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return proc.returncode
