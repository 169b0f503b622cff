"""Start ``netcds serve`` as a subprocess on a free loopback port (for crash, log and load tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    stdout_lines: list[str] = field(default_factory=list)
    log_path: Path | None = None

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, exactly like a crash or an OOM kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """Everything the server wrote: stdout lines and the stderr log (call after it stopped)."""
        err = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""
        return "".join(self.stdout_lines) + err


def start(
    db_url: str,
    workdir: Path,
    *,
    open_hooks: bool = True,
    env: dict[str, str] | None = None,
    extra: list[str] | None = None,
    name: str = "server",
    timeout_s: float = 60.0,
) -> Served:
    """Start the service on 127.0.0.1 (port 0: the OS picks a free one) and wait until it is up."""
    cmd = [sys.executable, "-m", "netcds", "serve", "--host", "127.0.0.1", "--port", "0", "--db", db_url]
    if open_hooks:
        cmd.append("--open-hooks")
    cmd += extra or []
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NETCDS_")},
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log_path = workdir / f"{name}.stderr"
    log = log_path.open("w", encoding="utf-8")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=full_env, cwd=workdir)
    log.close()
    served = Served(proc, "", log_path=log_path)
    assert proc.stdout is not None
    found = threading.Event()

    def pump() -> None:  # keep reading stdout so the pipe never fills up
        assert proc.stdout is not None
        for line in proc.stdout:
            served.stdout_lines.append(line)
            if line.startswith("netcds serving on ") and not found.is_set():
                served.url = line.split()[3]
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not found.wait(0.1):
        if time.monotonic() > deadline:
            served.kill()
            raise AssertionError("the server did not start:\n" + served.output())
    if not served.url:
        served.stop()
        raise AssertionError("the server exited before serving:\n" + served.output())
    assert served.url.startswith("http://127.0.0.1:"), served.url
    return served
