"""The root command group through real processes: usage errors, --debug, -q, Ctrl-C, a closed
pipe, an unexpected crash, and how values are converted (no pydantic)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from mftrack.cli.errors import ExitCode
from tests.helpers import REPO, mfapi_file, run_cli, run_subprocess
from tests.loopback import closed_port_url


def _log_text(home: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((home / "logs").glob("*.log")))


def test_an_out_of_range_value_is_the_products_one_line_error() -> None:
    result = run_subprocess("scheme", "search", "axis", "--limit", "500")
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: Invalid value for '--limit' / '-n': 500 is not between 1 and 200."
    assert lines[1].startswith("Hint: see `") and "scheme search --help`" in lines[1]
    assert len(lines) == 2
    assert "Input should be" not in result.stderr and "Usage:" not in result.stderr


def test_a_count_that_is_not_a_whole_number_is_refused_in_plain_words() -> None:
    for text in ("ten", "1_0", "2.5"):
        result = run_cli("scheme", "search", "axis", "--limit", text)
        assert result.exit_code == ExitCode.USAGE
        assert f"{text!r} is not a whole number" in result.stderr


def test_unknown_commands_and_options_get_the_same_two_lines() -> None:
    for args in (["nosuch"], ["sips", "--bogus"], ["--bogus"], ["add-sip"]):
        result = run_subprocess(*args)
        assert result.exit_code == ExitCode.USAGE, args
        assert result.stderr.startswith("Error: "), args
        assert result.stderr.splitlines()[1].startswith("Hint: see `"), args


def test_mftrack_debug_takes_the_usual_yes_and_no_words() -> None:
    assert run_cli("sips", env={"MFTRACK_DEBUG": "yes"}).exit_code == 0
    assert run_cli("sips", env={"MFTRACK_DEBUG": "0"}).exit_code == 0
    bad = run_cli("sips", env={"MFTRACK_DEBUG": "maybe"})
    assert bad.exit_code == ExitCode.USAGE
    assert "'maybe' is not a yes/no value" in bad.stderr


def test_debug_adds_the_traceback_and_keeps_the_exit_code_and_log_line(
    isolated_home: Path,
) -> None:
    """Issue 9 item 9: cron recipes branch on 75; --debug must not turn it into 1."""
    env = {"MFTRACK_AMFI_NAVALL_URL": closed_port_url() + "/NAVAll.txt",
           "MFTRACK_NETWORK_RETRIES": "1"}
    plain = run_subprocess("nav", "pull", env=env)
    assert plain.exit_code == ExitCode.TRANSIENT
    assert "Traceback" not in plain.stderr
    for how in ({"args": ("--debug",), "env": {}}, {"args": (), "env": {"MFTRACK_DEBUG": "1"}}):
        before = _log_text(isolated_home).count("nav failed (exit 75)")
        result = run_subprocess(*how["args"], "nav", "pull", env={**env, **how["env"]})
        assert result.exit_code == ExitCode.TRANSIENT, how
        assert "Traceback (most recent call last)" in result.stderr
        assert "Error: " in result.stderr  # the message is still printed after the traceback
        assert _log_text(isolated_home).count("nav failed (exit 75)") == before + 1


def _a_sip_in_year_9999() -> dict[str, str]:
    """A SIP due on the 31st of December 9999 valued 'today' in year 9999: stepping to the
    next month's due date (days 29-31 are clamped month by month) goes past the last date
    Python has (a real, unforeseen error, reached through the real CLI)."""
    env = {"MFTRACK_TODAY": "9999-12-31"}
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    assert run_cli("-q", "add-sip", "120503", "-a", "1000", "-s", "9999-12-01", "--day", "31",
                   env=env).exit_code == 0
    return env


def test_an_unexpected_crash_is_one_line_exit_1_and_a_logged_traceback(
    isolated_home: Path,
) -> None:
    env = _a_sip_in_year_9999()
    result = run_subprocess("summary", env=env)
    assert result.exit_code == ExitCode.FAILURE
    (line,) = result.stderr.splitlines()[-1:]
    assert line.startswith("Error: unexpected ")
    assert "Re-run with --debug for the traceback." in line
    assert "Traceback" not in result.stderr
    assert "unexpected error" in _log_text(isolated_home)
    assert "Traceback (most recent call last)" in _log_text(isolated_home)
    debug = run_subprocess("--debug", "summary", env=env)
    assert debug.exit_code == ExitCode.FAILURE
    assert "Traceback (most recent call last)" in debug.stderr
    assert "Re-run with --debug" not in debug.stderr


def test_ctrl_c_exits_130_with_one_word() -> None:
    # `logs --follow` waits for new lines until interrupted; a logged failure gives it a first
    # line to print, so the test knows the process is inside the command before it sends SIGINT.
    env = dict(os.environ, MFTRACK_AMFI_NAVALL_URL=closed_port_url(), MFTRACK_NETWORK_RETRIES="1")
    assert run_subprocess("nav", "pull", env=env).exit_code == ExitCode.TRANSIENT
    proc = subprocess.Popen(
        [sys.executable, "-m", "mftrack", "logs", "--follow"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert "nav failed" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED
    assert err.strip() == "Interrupted."


def test_a_reader_that_left_is_not_an_error() -> None:
    """`mftrack config show --json | true`: the pipe is closed before mftrack writes."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "mftrack", "config", "show", "--json"],
                              cwd=REPO, stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == b""


def test_quiet_works_after_every_command() -> None:
    from typer.main import get_command

    from mftrack.cli import app
    from mftrack.cli.conversion import add_quiet_option

    group = get_command(app)
    add_quiet_option(group)

    def leaves(command, path):  # type: ignore[no-untyped-def]
        subs = getattr(command, "commands", None)
        if subs is None or command.invoke_without_command:  # `mftrack logs` runs by itself
            yield path, command
        for name, sub in (subs or {}).items():
            yield from leaves(sub, [*path, name])

    missing = [" ".join(path) for path, command in leaves(group, [])
               if not any({"-q", "--quiet"} <= set(p.opts) for p in command.params)]
    assert missing == []
    # and it takes effect: the confirmation of add-sip goes, the SIP id (data) stays
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    result = run_cli("add-sip", "120503", "-a", "1000", "-s", "2024-01-05", "-q")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(result.stdout.strip()) == 36  # the new SIP's UUID


def test_summary_and_sips_do_not_import_pydantic() -> None:
    """Typer 0.29 would convert values through pydantic (~70 ms); cli/conversion.py does it."""
    probe = (
        "import sys\nfrom mftrack.cli import app\n"
        "for args in (['sips'], ['summary', '--as-of', '2025-01-01'], "
        "['scheme', 'search', 'x', '-n', '3'], ['nav', 'history', '-h']):\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO, env=dict(os.environ, MFTRACK_DEBUG="1"), timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr


def test_a_summary_of_sips_alone_does_not_load_the_ledger() -> None:
    """The ledger (and its lots) load only for schemes with transactions (~9 ms, issue 10)."""
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    assert run_cli("-q", "add-sip", "120503", "-a", "1000", "-s", "2024-01-05").exit_code == 0
    probe = (
        "import sys\nfrom mftrack.cli import app\n"
        "try:\n    app(['summary', '--json', '--as-of', '2025-01-10'])\nexcept SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.endswith(('.ledger', '.lots'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO, env=dict(os.environ), timeout=60)
    assert '"instalments": 13' in out.stdout, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
