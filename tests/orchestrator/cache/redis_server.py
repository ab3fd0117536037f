"""A real ``redis-server`` (Debian's package) for the tests: started on a free loopback port, with no
persistence, and stopped (or restarted on the same port) at will."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from orchestrator.cli.platform import free_port

BINARY = "redis-server"


def require_binary() -> str:
    """The server's path; else the test is skipped, or fails when ``REQUIRE_REDIS=1`` (CI)."""
    path = shutil.which(BINARY)
    if path is not None:
        return path
    message = f"{BINARY} is not installed (apt-get install redis-server): the Redis tests need a real one"
    if os.environ.get("REQUIRE_REDIS") == "1":
        pytest.fail(f"REQUIRE_REDIS=1 but {message}", pytrace=False)
    pytest.skip(message)


class RedisServer:
    """``redis-server`` on ``port`` (a free one unless given), as a child process of the tests."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary, self.port = binary, port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while self.command(b"PING") != b"+PONG":
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"{BINARY} on port {self.port} exited: {error.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{BINARY} on port {self.port} did not answer within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None

    def command(self, *words: bytes) -> bytes | None:
        """One command in RESP, its first line of answer (None when nobody answers)."""
        request = b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(request)
                return connection.recv(65536).split(b"\r\n", 1)[0]
        except OSError:
            return None


def _die_with_parent() -> None:
    """In the child, before exec: a test run that is killed takes its servers with it (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
