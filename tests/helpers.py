"""Test helpers: where the real data lives, and running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "amfi-data"
NAVALL = SHARED_DATA / "navall"
MFAPI = SHARED_DATA / "mfapi"
HISTORY = SHARED_DATA / "history-report"


def mfapi_file(code: int) -> Path:
    matches = sorted(MFAPI.glob(f"mfapi_{code}_*.json"))
    assert matches, f"no mfapi file for {code}"
    return matches[0]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run the real `mftrack` entry point in-process, with stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from mftrack.cli import app

    runner = CliRunner()
    result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> CliResult:
    """Run `python -m mftrack` in a child process (a real process: exit codes, streams, tty)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "mftrack", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=REPO,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def run_in_pty(*args: str, env: dict[str, str] | None = None, columns: int = 80) -> CliResult:
    """Run `python -m mftrack` with stdout on a pseudo-terminal `columns` wide (stderr and
    stdin are not terminals). The terminal's output comes back as `stdout`."""
    import pty

    main, child = pty.openpty()
    full_env = dict(os.environ, COLUMNS=str(columns), LINES="40", **(env or {}))
    try:
        proc = subprocess.Popen([sys.executable, "-m", "mftrack", *args], cwd=REPO, env=full_env,
                                stdout=child, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(main)
    out = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return CliResult(proc.returncode, out, err.decode("utf-8", "replace"))


def run_at_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run `python -m mftrack` with stdin, stdout and stderr on one pseudo-terminal, as a
    person would; type `answer` once a `[y/N]` prompt shows. Returns the exit code and the
    screen."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mftrack", *args], stdin=slave,
                            stdout=slave, stderr=slave, cwd=REPO, env=dict(os.environ))
    os.close(slave)
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output from mftrack for 60 s; so far: {seen!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
    os.close(master)
    return proc.wait(timeout=60), seen.decode()
