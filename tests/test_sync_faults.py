"""`sync_now` against the stand-in, step by step: a crash (lost answer, failed page, lost
refresh) at every step followed by another sync loses and duplicates nothing; transient
failures raise `NetworkError` (exit 75) with the outbox intact; dead letters; resets."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mftrack.adapters.sqlite.sync_store import SyncStore
from mftrack.errors import ConfigError, LoginRequiredError, NetworkError
from mftrack.services import sips
from mftrack.services.sync import SyncBusy, SyncProgress, sync_status
from tests.auth_support import closed_port_url
from tests.standin import StandIn
from tests.sync_support import (
    FETCH,
    PULL,
    PUSH,
    REFRESH,
    TODAY,
    Device,
    assert_converged,
    make_device,
    new_user,
    purge_all_tombstones,
    save_session,
    server_rows,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def user(standin: StandIn) -> str:
    return new_user(standin)[1]


@pytest.fixture
def pair(standin: StandIn, user: str, tmp_path: Path) -> tuple[Device, Device]:
    a = make_device(standin, user, tmp_path / "a", "a")
    b = make_device(standin, user, tmp_path / "b", "b")
    yield a, b
    a.close()
    b.close()


def statuses(standin: StandIn, prefix: str) -> list[int | None]:
    return [r.status for r in standin.requests(prefix)]


def wait_for_requests(standin: StandIn, prefix: str, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(standin.requests(prefix)) < count:
        assert time.monotonic() < deadline, f"{prefix}: {statuses(standin, prefix)}"
        time.sleep(0.05)


# --- merging and the normal path ------------------------------------------------------------


def test_first_sync_of_a_device_with_sips_merges_without_duplicates(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    for label in ("a1", "a2"):
        a.add(label=label)
    a.sync()
    for label in ("b1", "b2", "b3"):  # b has used mftrack offline for a while
        b.add(label=label)
    report = b.sync()
    assert (report.pushed, report.pulled) == (3, 5)  # its own 3 come back with versions
    a.sync()
    server = assert_converged(standin, a.user_id, [a, b])
    assert sorted(r["label"] for r in server.values()) == ["a1", "a2", "b1", "b2", "b3"]
    assert b.sync().requests == 1  # nothing to do: one pull


def test_nothing_to_do_is_one_request(standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    a.sync()
    standin.clear_request_log()
    report = a.sync()
    assert report.requests == 1 and (report.pushed, report.pulled) == (0, 0)
    assert [r.path for r in standin.request_log] == [PULL]


def test_batches_follow_sync_batch_size(standin: StandIn, user: str, tmp_path: Path) -> None:
    a = make_device(standin, user, tmp_path / "a", MFTRACK_SYNC_BATCH_SIZE="2")
    for i in range(5):
        a.add(label=f"s{i}")
    report = a.sync()
    assert len(standin.requests(PUSH)) == 3 and report.pushed == 5
    assert_converged(standin, user, [a])


def test_edits_during_a_sync_stay_queued(standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.add(label="first")
    added: list[str] = []

    def meanwhile(event: SyncProgress) -> None:
        if event.stage == "pull" and not added:  # the user adds a SIP while pulling
            added.append(a.add(label="during"))

    report = a.sync(progress=meanwhile)
    assert report.pending == 1 and [m.row_id for m in a.outbox()] == added
    assert {s.label for s in a.store.list_sips()} == {"first", "during"}
    a.sync()
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_a_pulled_row_keeps_the_changes_made_while_pulling(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    shared = a.add(label="old")
    a.sync()
    b.sync()
    a.add(label="x1")
    a.add(label="x2")
    sips.edit_sip(store=a.store, sip_id=shared, today=TODAY, label="a's label")
    a.sync()  # the shared SIP now has the highest version: the last page

    def meanwhile(event: SyncProgress) -> None:
        if event.stage == "pull" and event.report.pages == 1:
            sips.edit_sip(store=b.store, sip_id=shared, today=TODAY, day=21)

    b.sync(page_size=1, progress=meanwhile)
    local = b.store.get_sip(shared)
    assert (local.label, local.day) == ("a's label", 21)  # server row + pending change
    assert [m.fields.get("sip_day") for m in b.outbox()] == [21]
    b.sync()
    a.sync()
    server = assert_converged(standin, a.user_id, [a, b])
    assert (server[shared]["label"], server[shared]["sip_day"]) == ("a's label", 21)


def test_a_refused_row_is_reloaded_with_later_changes_on_top(
        standin: StandIn, user: str, tmp_path: Path) -> None:
    a = make_device(standin, user, tmp_path / "a", MFTRACK_SYNC_BATCH_SIZE="1")
    sip_id = a.add(label="good")
    a.sync()
    a.store.update_sip(sip_id, {"label": "q" * 501})  # refused
    sips.edit_sip(store=a.store, sip_id=sip_id, today=TODAY, day=9)  # pushed in the next batch
    seen: list[tuple[str | None, int]] = []

    def after_each_batch(event: SyncProgress) -> None:
        if event.stage == "push":
            sip = a.store.get_sip(sip_id)
            seen.append((sip.label, sip.day))

    a.sync(progress=after_each_batch)
    assert seen == [("good", 9), ("good", 9)]  # reloaded, the pending day kept on top
    assert_converged(standin, user, [a])


# --- crashes at every step ----------------------------------------------------------------


def test_push_committed_but_answer_lost_is_replayed(standin: StandIn,
                                                    pair: tuple[Device, Device]) -> None:
    a, b = pair
    for i in range(3):
        a.add(label=f"s{i}")
    standin.lose_next_response(PUSH)
    with pytest.raises(NetworkError):
        a.sync()
    assert len(server_rows(standin, a.user_id)) == 3  # committed on the server...
    assert len(a.outbox()) == 3  # ...but not recorded here
    report = a.sync()
    assert report.pushed == 3
    rows = server_rows(standin, a.user_id)
    assert len(rows) == 3 and {r["version"] for r in rows.values()} == {1}  # applied once
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_a_failed_page_resumes_from_the_last_applied_page(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    for i in range(7):
        a.add(label=f"s{i}")
    a.sync()

    def fail_second_page(event: SyncProgress) -> None:
        if event.stage == "pull" and event.report.pages == 1:
            standin.fail_next(PULL, 500)

    with pytest.raises(NetworkError):
        b.sync(page_size=3, progress=fail_second_page)
    assert len(b.rows()) == 3  # page 1 and its cursor were committed together
    standin.clear_request_log()
    report = b.sync(page_size=3)
    assert report.pulled == 4  # the rest only, not everything again
    assert_converged(standin, a.user_id, [a, b])


def test_a_lost_pull_answer_changes_nothing(standin: StandIn,
                                            pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.add()
    a.sync()
    standin.lose_next_response(PULL)
    with pytest.raises(NetworkError):
        b.sync()
    assert b.rows() == {} and SyncStore(b.store).cursor().version == 0
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_a_lost_refresh_answer_is_recovered_on_the_next_sync(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.add()
    standin.clock.advance(7200)  # the server now sees a's token as expired
    standin.lose_next_response(REFRESH)
    with pytest.raises(NetworkError):
        a.sync()
    assert len(a.outbox()) == 1
    a.sync()  # the old refresh token is the parent of the active one: same new pair
    assert statuses(standin, REFRESH) == [200, 200]
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_an_expired_token_is_refreshed_and_the_call_retried_once(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    standin.clock.advance(7200)
    a.sync()
    assert statuses(standin, PUSH) == [401, 200]
    assert len(standin.requests(REFRESH)) == 1
    assert statuses(standin, PULL) == [200]


def test_a_token_about_to_expire_is_refreshed_before_the_first_call(
        standin: StandIn, user: str, tmp_path: Path) -> None:
    standin.set_jwt_expiry(30)  # less than the 60 s margin
    a = make_device(standin, user, tmp_path / "a")
    a.add()
    a.sync()
    assert [r.path for r in standin.request_log][:2] == ["/auth/v1/token", PUSH]
    assert statuses(standin, PUSH) == [200]


def test_a_tampered_token_is_replaced_by_a_refresh(standin: StandIn, user: str,
                                                   tmp_path: Path) -> None:
    a = make_device(standin, user, tmp_path / "a")
    session = standin.issue_session(user)
    session["access_token"] = standin.make_jwt(user_id=user, secret="x" * 40)
    save_session(a.paths, standin.url, session)
    a.add()
    a.sync()
    assert statuses(standin, PUSH) == [401, 200]
    assert len(standin.requests(REFRESH)) == 1


def test_a_revoked_session_needs_a_login(standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    standin.revoke_sessions(a.user_id)
    standin.clock.advance(7200)
    with pytest.raises(LoginRequiredError):
        a.sync()
    assert len(a.outbox()) == 1
    assert sync_status(store=a.store).last_result == "failed"


def test_not_logged_in_is_login_required_without_a_request(
        standin: StandIn, user: str, tmp_path: Path) -> None:
    a = make_device(standin, user, tmp_path / "a")
    for item in (a.paths.data_dir / "auth").iterdir():
        item.unlink()
    a.add()
    with pytest.raises(LoginRequiredError):
        a.sync()
    assert standin.request_log == []


# --- transient failures ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "504", "drop", "rest-429"])
def test_transient_failures_raise_network_error_and_keep_the_outbox(
        standin: StandIn, pair: tuple[Device, Device], fault: str) -> None:
    a, b = pair
    a.add()
    a.add()
    if fault == "drop":
        standin.drop_next(PUSH)
    elif fault == "rest-429":
        standin.fail_next(PULL, 429)
    else:
        standin.fail_next(PUSH, int(fault))
    before = a.rows()
    with pytest.raises(NetworkError) as caught:
        a.sync()
    assert "token" not in caught.value.message.lower()
    if fault != "rest-429":
        assert len(a.outbox()) == 2 and a.rows() == before
    a.sync()
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_connection_refused_is_network_error(standin: StandIn, user: str,
                                             tmp_path: Path) -> None:
    url = closed_port_url()
    a = make_device(standin, user, tmp_path / "a", MFTRACK_SUPABASE_URL=url)
    save_session(a.paths, url, standin.issue_session(user))
    a.add()
    with pytest.raises(NetworkError, match="cannot reach"):
        a.sync()
    assert len(a.outbox()) == 1


def test_a_time_out_is_network_error_and_the_late_push_is_harmless(
        standin: StandIn, user: str, tmp_path: Path) -> None:
    a = make_device(standin, user, tmp_path / "a", MFTRACK_NETWORK_TIMEOUT="0.5")
    a.add()
    standin.delay_next(PUSH, 1.5)
    with pytest.raises(NetworkError, match="in time"):
        a.sync()
    assert len(a.outbox()) == 1
    wait_for_requests(standin, PUSH, 1)  # the late push is processed after all
    a.sync()
    assert_converged(standin, user, [a])
    assert {r["version"] for r in server_rows(standin, user).values()} == {1}


# --- dead letters ------------------------------------------------------------------------


def test_refused_changes_become_dead_letters_and_the_queue_moves_on(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    keep = a.add(label="original")
    a.sync()
    a.store.update_sip(keep, {"label": "x" * 501})  # over the server's 500 (the CLI refuses)
    sips.edit_sip(store=a.store, sip_id=keep, today=TODAY, day=20)  # a good change after it
    now = a.store.get_sip(keep).created_at
    from dataclasses import replace

    bad = replace(a.store.get_sip(keep), id="9a5e4bb6-0000-4000-8000-00000000beef",
                  amount=Decimal("1234.567"), created_at=now)
    a.store.insert_sip(bad)  # a create the server refuses: 3 decimals
    report = a.sync()
    assert report.rejected == 2 and a.outbox() == []
    letters = sync_status(store=a.store).dead_letters
    assert [(d.row_id, d.code) for d in letters] == [(keep, "23514"), (bad.id, "22023")]
    assert "sips_label_check" in (letters[0].message or "")
    assert letters[0].fields["label"] == "x" * 501
    local = a.store.get_sip(keep)
    assert (local.label, local.day) == ("original", 20)  # the server's row, good change kept
    assert bad.id not in a.rows()  # the refused create is gone locally too
    assert len(standin.requests(FETCH)) == 1
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_a_lost_answer_with_a_rejection_gives_one_dead_letter(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    sip_id = a.add()
    a.sync()
    a.store.update_sip(sip_id, {"label": "z" * 700})
    standin.lose_next_response(PUSH)
    with pytest.raises(NetworkError):
        a.sync()
    report = a.sync()  # the replay reports the same rejection
    assert report.rejected == 1
    assert len(sync_status(store=a.store).dead_letters) == 1
    b.sync()
    assert_converged(standin, a.user_id, [a, b])


def test_a_failed_fetch_after_a_rejection_keeps_everything_for_the_next_run(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    sip_id = a.add()
    a.sync()
    a.store.update_sip(sip_id, {"label": "z" * 700})
    standin.fail_next(FETCH, 503)
    with pytest.raises(NetworkError):
        a.sync()
    assert len(a.outbox()) == 1 and sync_status(store=a.store).dead_letters == []
    assert a.sync().rejected == 1
    assert a.store.get_sip(sip_id).label is None
    assert_converged(standin, a.user_id, [a])


# --- resets -------------------------------------------------------------------------------


def test_after_a_restore_rows_the_server_lost_are_pushed_again(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, b = pair
    ids = [a.add(label=f"s{i}") for i in range(3)]
    a.sync()
    b.sync()
    # The operator restores a backup taken before ids[2] existed, and rotates the epoch.
    standin.sql("delete from public.sips where id = %s", ids[2])
    standin.sql("select public.rotate_sync_epoch(%s)", a.user_id)
    b.add(label="made during the outage")
    report = a.sync()
    assert report.reset == "restore" and report.requeued == 1
    assert ids[2] in server_rows(standin, a.user_id)
    b_report = b.sync()
    assert b_report.reset == "restore" and b_report.requeued == 0
    a.sync()
    server = assert_converged(standin, a.user_id, [a, b])
    assert len(server) == 4


def test_a_restored_server_behind_the_cursor_is_a_restore_too(
        standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    a.sync()
    # The whole sync state is lost (e.g. restored without it): the epoch disappears.
    standin.sql("delete from public.sips where user_id = %s", a.user_id)
    standin.sql("delete from public.sync_state where user_id = %s", a.user_id)
    report = a.sync()
    assert report.reset == "restore" and report.requeued == 1
    assert_converged(standin, a.user_id, [a])


def test_after_a_tombstone_purge_a_device_that_missed_the_delete_drops_the_row(
        standin: StandIn, pair: tuple[Device, Device], tmp_path: Path) -> None:
    a, b = pair
    keep = a.add(label="keep")
    gone = a.add(label="gone")
    edited = a.add(label="edited offline")
    a.sync()
    b.sync()
    sips.remove_sip(store=a.store, sip_id=gone)
    sips.remove_sip(store=a.store, sip_id=edited)
    a.sync()
    time.sleep(0.01)
    purge_all_tombstones(standin)
    # b never saw the deletes; it even edited one of the SIPs meanwhile.
    sips.edit_sip(store=b.store, sip_id=edited, today=TODAY, label="b's edit")
    report = b.sync()
    assert report.reset == "purge"
    assert report.rejected == 1  # a partial update of a purged row: 23502
    assert b.live_ids() == [keep] and set(b.rows()) == {keep}
    assert [d.code for d in sync_status(store=b.store).dead_letters] == ["23502"]
    # a had already pulled the tombstones: it keeps them, hidden (no reset for it)
    a.sync()
    assert a.live_ids() == [keep] and set(a.rows()) == {keep, gone, edited}
    c = make_device(standin, a.user_id, tmp_path / "c", "c")
    c.sync()
    assert set(c.rows()) == {keep}
    assert server_rows(standin, a.user_id).keys() == {keep}


def test_a_copied_database_syncs_as_a_new_device_and_loses_nothing(
        standin: StandIn, user: str, tmp_path: Path) -> None:
    import shutil

    a = make_device(standin, user, tmp_path / "a", "a")
    shared = a.add(label="shared")
    a.sync()
    a.add(label="queued before the copy")  # pending in both copies
    # A new laptop set up by copying mftrack.db (instead of syncing it fresh)
    b_root = tmp_path / "b"
    b = make_device(standin, user, b_root, "b")
    b.close()
    a.close()  # mftrack not running: the WAL is checkpointed into the file
    shutil.copyfile(a.paths.database, b.paths.database)
    from mftrack.adapters.sqlite.store import LocalStore

    a.store = LocalStore(a.paths.database, backup_dir=a.paths.backup_dir)
    b.store = LocalStore(b.paths.database, backup_dir=b.paths.backup_dir)
    # both now make changes: their next mutation ids are the same numbers
    a.add(label="only on a")
    sips.edit_sip(store=b.store, sip_id=shared, today=TODAY, day=17)  # the same mid as a's
    b.add(label="only on b")
    assert a.outbox()[-1].mid == b.outbox()[-2].mid
    a.sync()
    warnings: list[str] = []
    report = b.sync(warn=warnings.append)
    assert report.new_device_id and "copied" in warnings[0]
    a.sync()
    server = assert_converged(standin, user, [a, b])
    labels = sorted(r["label"] for r in server.values())
    assert labels == ["only on a", "only on b", "queued before the copy", "shared"]
    assert server[shared]["sip_day"] == 17
    assert not a.sync().new_device_id and not b.sync().new_device_id
    b.close()


# --- the lock and the account -------------------------------------------------------------


def test_a_second_sync_of_the_same_database_is_busy(standin: StandIn,
                                                    pair: tuple[Device, Device]) -> None:
    from filelock import FileLock

    a, _ = pair
    lock = FileLock(str(a.paths.lock_dir / "sync.lock"))
    a.paths.lock_dir.mkdir(parents=True, exist_ok=True)
    with lock, pytest.raises(SyncBusy):
        a.sync()
    assert standin.request_log == []
    a.sync()  # released: fine again


def test_a_database_stays_with_its_account(standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    a.sync()
    _, other = new_user(standin)
    save_session(a.paths, standin.url, standin.issue_session(other))
    standin.clear_request_log()
    a.add()
    with pytest.raises(ConfigError, match="syncs with account"):
        a.sync()
    assert standin.requests("/rest") == [] and len(a.outbox()) == 1


def test_status_reports_the_last_run(standin: StandIn, pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.add()
    before = sync_status(store=a.store)
    assert (before.pending, before.last_run_at, before.server_version) == (1, None, None)
    a.sync()
    after = sync_status(store=a.store)
    assert (after.pending, after.last_result, after.server_version) == (0, "ok", 1)
    assert after.cursor_version == 1 and after.epoch and after.client_id
    assert after.account == {"url": standin.url, "user_id": a.user_id}
    data: dict[str, Any] = after.as_dict()
    assert data["last_message"].startswith("pushed 1, pulled 1")


def test_the_daemon_job_runs_the_real_sync(standin: StandIn, pair: tuple[Device, Device]) -> None:
    import threading
    from datetime import datetime

    from mftrack.daemon.jobs import JobContext, SyncJob
    from mftrack.daemon.schedule import IST, Timetable

    a, _ = pair
    a.add()
    ctx = JobContext(store=a.store, settings=a.settings, paths=a.paths,
                     timetable=Timetable.standard(), make_client=lambda: None,
                     stop=threading.Event())
    result = SyncJob(ctx).run(datetime(2025, 12, 11, 12, 0, tzinfo=IST))
    assert (result.status, result.message) == ("ok", "pushed 1, pulled 1")
    standin.revoke_sessions(a.user_id)
    standin.clock.advance(7200)
    skipped = SyncJob(ctx).run(datetime(2025, 12, 11, 12, 30, tzinfo=IST))
    assert (skipped.status, skipped.message) == ("skipped", "not logged in")
