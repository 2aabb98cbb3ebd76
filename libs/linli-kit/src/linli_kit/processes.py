"""Run services as separate OS processes: used by `make run` and the cross-service tests."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from linli_kit import db


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(address: str, timeout: float = 30.0) -> None:
    """Block until the gRPC health service at address answers SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} did not become healthy in {timeout:.0f}s")
            time.sleep(0.1)


# How long a process may take to become ready: identity imports its face models, which takes
# over a minute on a busy two-core machine.
READY_SECONDS = 180.0


@dataclass
class ServiceProcess:
    """One Linli service as a child process, configured through its LINLI_<SVC>_* variables."""

    name: str
    settings: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """host:port of the service's gRPC server."""
        return f"127.0.0.1:{self.settings['grpc_port']}"

    @property
    def health_address(self) -> str:
        """Where grpc.health.v1 answers in plaintext: the health port with TLS, else the server."""
        port = self.settings.get("health_port", "0")
        return f"127.0.0.1:{port}" if port != "0" else self.address

    def run(self, *args: str) -> str:
        """Run one of the service's operator commands with its settings; its standard output."""
        done = subprocess.run(
            self._command(*args), env=self._env(), capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"linli-{self.name} {args[0]} failed:\n{done.stderr}")
        return done.stdout

    def _env(self) -> dict[str, str]:
        prefix = f"LINLI_{self.name.upper()}_"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        env.update({prefix + key.upper(): value for key, value in self.settings.items()})
        env.setdefault("OTEL_TRACES_EXPORTER", "none")
        return env

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", f"linli_{self.name}", *args]

    def migrate(self) -> None:
        """Bring the service's database to the newest revision, in this process.

        The same Alembic scripts `linli-<svc> migrate` runs, without starting an interpreter
        that imports the whole service (seconds each, several per stack).
        """
        spec = importlib.util.find_spec(f"linli_{self.name}")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"linli_{self.name} is not installed")
        package = Path(next(iter(spec.submodule_search_locations)))
        db.migrate(self.settings["database_url"], package / "migrations")

    def launch(self) -> None:
        """Start serving, without waiting."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self._command("serve"), env=self._env(), stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        """Wait until healthy; stop the process if it never gets there (or at once if it exits)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                self._close_log()
                raise RuntimeError(f"{self.name} exited while starting; see {self.log_path}")
            try:
                wait_healthy(self.health_address, min(2.0, max(deadline - time.monotonic(), 0.1)))
                return
            except TimeoutError:
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start; see {self.log_path}") from None

    def start(self, timeout: float = READY_SECONDS) -> None:
        """Start serving and wait until healthy."""
        self.launch()
        self.wait_ready(timeout)

    def terminate(self) -> None:
        """Ask for a graceful shutdown (SIGTERM) without waiting."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM for a graceful shutdown, SIGKILL if it takes too long."""
        self.terminate()
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class GatewayProcess(ServiceProcess):
    """The gateway (HTTP, no database) as a child process, ready when /healthz answers."""

    @property
    def address(self) -> str:
        """host:port of the gateway's HTTP server."""
        return f"127.0.0.1:{self.settings['http_port']}"

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://{self.address}"

    def migrate(self) -> None:
        """Nothing to migrate: the gateway has no database."""

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        """Wait until /healthz answers 200; stop the process if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")


def start_all(processes: list[ServiceProcess]) -> None:
    """Migrate every database, then start every service, in parallel.

    If one does not become ready, the others are stopped too (no orphans left serving).
    """
    for process in processes:
        process.migrate()
    for process in processes:
        process.launch()
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        stop_all(processes)
        raise


def stop_all(processes: list[ServiceProcess]) -> None:
    """Shut every service down gracefully, in parallel."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()
