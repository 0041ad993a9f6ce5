"""A real Prometheus server for tests: Debian's binary on a free port with a temporary config.

The integration tests use it to prove that what the engine exposes is what Prometheus scrapes
and that the shipped rule files load and evaluate (promtool's unit tests cover each rule's
logic; this covers the wiring). Nothing in production imports this module. The config is
written as JSON, which Prometheus's YAML loader reads, so the package needs no YAML library.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from warning.core.errors import ServiceUnavailable
from warning.devtools.testing import free_port

INSTALL_HINT = "Operator action: run `make prometheus` (bash deploy/local/install-prometheus.sh)."


def binary() -> str | None:
    """Path of the `prometheus` executable, or None when it is not installed."""
    return shutil.which("prometheus")


def local_config(
    base: dict[str, Any], targets: list[str], rule_files: list[Path], interval: str = "1s"
) -> dict[str, Any]:
    """`base` (deploy/prometheus/prometheus.yml, parsed) with local targets, absolute rule paths
    and a fast scrape/evaluation interval, so a test sees a scrape within seconds."""
    config: dict[str, Any] = json.loads(json.dumps(base))  # deep copy of plain data
    config.setdefault("global", {}).update(scrape_interval=interval, evaluation_interval=interval)
    config["rule_files"] = [str(p.resolve()) for p in rule_files]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = interval
        job["static_configs"] = [{"targets": targets}]
    return config


class PrometheusServer:
    """`with PrometheusServer(config, workdir) as prom:` runs prometheus until the block ends."""

    def __init__(self, config: dict[str, Any], workdir: Path, *, timeout: float = 30.0) -> None:
        self.config = config
        self.workdir = workdir
        self.timeout = timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        exe = binary()
        if exe is None:
            raise ServiceUnavailable(f"prometheus is not installed. {INSTALL_HINT}")
        config_path = self.workdir / "prometheus.json"
        config_path.write_text(json.dumps(self.config, indent=2), encoding="utf-8")
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603  # fixed argv, our own temp paths
                [
                    exe,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServiceUnavailable(f"prometheus exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:  # noqa: S310  # local http
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        raise ServiceUnavailable(f"prometheus not ready within {self.timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` member of a successful reply."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as resp:  # noqa: S310
            body = json.loads(resp.read())
        if body.get("status") != "success":
            raise AssertionError(f"prometheus {path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def stop(self) -> None:
        """Stop the server this object started (SIGTERM, then SIGKILL after 10 s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
