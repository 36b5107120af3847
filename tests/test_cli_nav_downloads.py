"""Downloads that end early or drag on (issue 9 items 3 and 4), through the real CLI and a real
loopback server serving real AMFI and mfapi.in bytes: a cut-short body is refused with exit 75
and nothing stored, even when no Content-Length shows the cut; a whole download has a deadline;
retries are announced on stderr."""

from __future__ import annotations

from mftrack.config import resolve_paths
from tests.helpers import HISTORY, NAVALL, mfapi_file, run_cli
from tests.loopback import LoopbackServer, Reply
from tests.test_cli_nav import env_for, nav_rows

DEC_10 = (NAVALL / "NAVAll_2025-12-10.txt").read_bytes()
DEC_11 = (NAVALL / "NAVAll_2025-12-11.txt").read_bytes()
REPORT = (HISTORY / "NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt").read_bytes()
NAVALL_PATH = "/spages/NAVAll.txt"


def mid_row(body: bytes, fraction: float) -> int:
    """A byte offset near `fraction` of `body` that falls inside a row (not after a line end)."""
    at = int(len(body) * fraction)
    while body[at - 1 : at] in (b"\n", b"\r") or body[at : at + 1] in (b"\n", b"\r"):
        at += 1
    return at


def line_end(body: bytes, fraction: float) -> int:
    """The offset just after the line ending nearest after `fraction` of `body`."""
    return body.index(b"\n", int(len(body) * fraction)) + 1


def schemes_stored() -> int:
    import sqlite3

    db = resolve_paths().database
    if not db.exists():
        return 0
    return sqlite3.connect(db).execute("select count(*) from schemes").fetchone()[0]


def test_a_body_cut_mid_row_without_content_length_is_refused(loopback: LoopbackServer) -> None:
    cut = mid_row(DEC_11, 0.6)
    loopback.route(NAVALL_PATH, Reply(body=DEC_11, no_length=True, drop_after=cut))
    result = run_cli("nav", "pull", env=env_for(loopback))
    assert result.exit_code == 75, result.stderr
    assert f"the download was cut short ({cut:,} bytes; its last line is cut)" in result.stderr
    assert len(loopback.requests) == 2  # retried once (MFTRACK_NETWORK_RETRIES=1)
    assert (nav_rows(), schemes_stored()) == (0, 0)


def test_a_chunked_body_that_ends_early_is_refused(loopback: LoopbackServer) -> None:
    cut = line_end(DEC_11, 0.5)  # even at a line boundary: the final chunk never came
    loopback.route(NAVALL_PATH, Reply(body=DEC_11, chunked=True, chunk_size=4096, drop_after=cut))
    result = run_cli("nav", "pull", env=env_for(loopback))
    assert result.exit_code == 75, result.stderr
    assert "could not download AMFI's NAVAll.txt" in result.stderr
    assert (nav_rows(), schemes_stored()) == (0, 0)


def test_a_file_far_smaller_than_the_last_pull_is_refused(loopback: LoopbackServer) -> None:
    """Cut exactly after a line with no Content-Length: only the row count can tell."""
    loopback.route(NAVALL_PATH, Reply(body=DEC_10))
    assert run_cli("nav", "pull", env=env_for(loopback)).exit_code == 0
    rows_before, schemes_before = nav_rows(), schemes_stored()
    full_rows = DEC_11.count(b"\n")
    cut = line_end(DEC_11, 0.6)
    loopback.route(NAVALL_PATH, Reply(body=DEC_11, no_length=True, drop_after=cut))
    result = run_cli("nav", "pull", env=env_for(loopback))
    assert result.exit_code == 75, result.stderr
    assert "far fewer than the 14,150 of the previous pull" in result.stderr
    assert "nothing was stored" in result.stderr
    assert DEC_11[:cut].count(b"\n") < 0.9 * full_rows
    assert (nav_rows(), schemes_stored()) == (rows_before, schemes_before)
    # the whole file is accepted again
    loopback.route(NAVALL_PATH, Reply(body=DEC_11, no_length=True))
    assert run_cli("nav", "pull", env=env_for(loopback)).exit_code == 0
    assert nav_rows() > rows_before


def test_a_cut_short_history_report_is_refused(loopback: LoopbackServer) -> None:
    code = 145488  # ABSL overnight: in the 27-Sep-2026 report
    navall = NAVALL / "NAVAll_2026-08-21_8col-plan-option.txt"  # knows the fund house
    assert run_cli("nav", "import", str(navall)).exit_code == 0
    rows_before = nav_rows()
    cut = mid_row(REPORT, 0.5)
    loopback.route(
        "/DownloadNAVHistoryReport_Po.aspx", Reply(body=REPORT, no_length=True, drop_after=cut)
    )
    result = run_cli(
        "nav", "history", str(code), "--source", "amfi", "--from", "2026-09-27",
        "--to", "2026-09-27", env=env_for(loopback),
    )  # fmt: skip
    assert result.exit_code == 75, result.stderr
    assert "AMFI's NAV history report: the download was cut short" in result.stderr
    assert nav_rows() == rows_before


def test_a_cut_short_mfapi_answer_is_refused(loopback: LoopbackServer) -> None:
    body = mfapi_file(120503).read_bytes()
    loopback.route("/mfapi/mf/120503", Reply(body=body, no_length=True, drop_after=len(body) // 2))
    result = run_cli(
        "nav", "history", "120503", "--source", "mfapi", "--from", "2024-01-01",
        env=env_for(loopback),
    )  # fmt: skip
    assert result.exit_code == 75, result.stderr
    assert "the JSON stops before its `}`" in result.stderr
    assert nav_rows() == 0


def test_a_trickling_server_meets_the_whole_download_deadline(loopback: LoopbackServer) -> None:
    # 4 KB every 0.2 s: each read comes well within network.timeout, the whole file would take
    # over a minute; the deadline (1 s here) ends it.
    loopback.route(NAVALL_PATH, Reply(body=DEC_11, chunk_size=4096, pace=0.2))
    env = {**env_for(loopback), "MFTRACK_NETWORK_DEADLINE": "1"}
    result = run_cli("nav", "pull", env=env)
    assert result.exit_code == 75, result.stderr
    assert "gave up on AMFI's NAVAll.txt after 1 s, the network.deadline" in result.stderr
    assert "raise network.deadline" in result.stderr
    assert len(loopback.requests) == 1  # no retry once the deadline has passed
    assert (nav_rows(), schemes_stored()) == (0, 0)


def test_retries_are_announced_on_stderr(loopback: LoopbackServer) -> None:
    loopback.route(NAVALL_PATH, Reply(status=503), Reply(status=503), Reply(body=DEC_11))
    env = {**env_for(loopback), "MFTRACK_NETWORK_RETRIES": "2"}
    result = run_cli("nav", "pull", env=env)
    assert result.exit_code == 0, result.stderr
    assert "AMFI's NAVAll.txt: HTTP 503; retrying in 0.5 s (1 of 2)" in result.stderr
    assert "AMFI's NAVAll.txt: HTTP 503; retrying in 1 s (2 of 2)" in result.stderr
    quiet = run_cli("--quiet", "nav", "pull", env=env)
    assert quiet.exit_code == 0 and "retrying" not in quiet.stderr
