"""Random multi-device scenarios: two or three devices of one user edit SIPs offline (through
the SIP services), sync in random orders with random faults, and must end up holding exactly
the server's rows, which must equal a model of per-field last-writer-wins in server commit
order (deletes sticky; a merge that breaks a CHECK is rejected and dead-lettered).

Each device is a real SQLite database; `sync_now` runs in-process against the stand-in on the
real PostgreSQL. Which mutations a sync got applied is read from the server's watermark
(`sync_clients.last_mutation_id` before and after), so lost answers and faults need no
guessing; the model then replays exactly those mutations in commit order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mftrack.adapters.sqlite.sync_store import CLIENT_ID, Mutation
from mftrack.domain.sips import StepUp, StepUpKind
from mftrack.errors import InvalidInputError, NetworkError
from mftrack.services import sips
from mftrack.services.sync import SyncProgress
from tests.standin import StandIn
from tests.sync_support import (
    PULL,
    PUSH,
    REFRESH,
    SCHEMES,
    TODAY,
    Device,
    assert_converged,
    make_device,
    new_user,
    normalise,
    server_rows,
)

pytestmark = pytest.mark.postgres

LABELS = ("Nifty", "Midcap", "Tax saver", "")
STEP_UPS = (StepUp(StepUpKind.PERCENT, Decimal("10")), StepUp(StepUpKind.PERCENT, Decimal("20")),
            StepUp(StepUpKind.AMOUNT, Decimal("500")), None)
EFFECTIVE = (None, date(2024, 7, 1), date(2025, 1, 1))

edit_op = st.tuples(
    st.just("edit"), st.integers(0, 2), st.integers(0, 50),
    st.sampled_from(("label", "day", "amount", "end", "step_up", "pause", "resume")),
    st.integers(0, 11))
create_op = st.tuples(st.just("create"), st.integers(0, 2), st.integers(0, 4), st.just(""),
                      st.integers(0, 3))
delete_op = st.tuples(st.just("delete"), st.integers(0, 2), st.integers(0, 50), st.just(""),
                      st.just(0))
plain_sync = st.tuples(st.just("sync"), st.integers(0, 2), st.just(0), st.just(""), st.just(0))
bad_op = st.tuples(st.just("bad"), st.integers(0, 2), st.integers(0, 50),
                  st.sampled_from(("label", "amount", "lone_step", "create")), st.just(0))
faulty_sync = st.tuples(
    st.just("sync"), st.integers(0, 2), st.just(0),
    st.sampled_from(("lose_push", "fail_push", "drop_push", "fail_pull2", "lose_pull", "expire",
                     "lose_refresh", "rotate_epoch", "429", "edit_during_pull",
                     "delete_during_pull")),
    st.integers(0, 11))


# --- the model: what the server must hold ----------------------------------------------------


class Model:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.rejected: dict[str, set[int]] = {}  # device name -> mids the server refused

    def apply(self, device: str, m: Mutation) -> None:
        fields = {k: v for k, v in m.fields.items() if k not in ("updated_at", "deleted")}
        delete = m.deleted or bool(m.fields.get("deleted"))
        row = self.rows.get(m.row_id)
        if row is None:
            if not fields:
                return  # a delete of a row the server never had: no-op
            candidate = {"end_date": None, "step_up_kind": None, "step_up_value": None,
                         "pauses": [], "amount_changes": [], "label": None, **fields,
                         "deleted": delete}
        else:
            candidate = {**row, **fields, "deleted": row["deleted"] or delete}
        if not self.valid(candidate, fields):
            self.rejected.setdefault(device, set()).add(m.mid)
            return
        self.rows[m.row_id] = candidate

    @staticmethod
    def valid(row: dict[str, Any], fields: dict[str, Any]) -> bool:
        """The server's checks that random scenarios can trip."""
        if any(row.get(name) is None for name in ("scheme_code", "amount", "start_date",
                                                  "sip_day")):
            return False  # 23502: a partial update of a row the server does not have
        if "amount" in fields and Decimal(str(fields["amount"])).as_tuple().exponent < -2:
            return False  # 22023: more than 2 decimals
        if row["label"] is not None and len(row["label"]) > 500:
            return False  # 23514 sips_label_check
        return (row["step_up_kind"] is None) == (row["step_up_value"] is None)  # 23514

    def expected(self) -> dict[str, dict[str, Any]]:
        out = {}
        for rid, row in self.rows.items():
            norm = normalise({**row, "version": None})
            out[rid] = {k: v for k, v in norm.items() if k not in ("version", "updated_at")}
        return out


def watermark(standin: StandIn, device: Device) -> int:
    client = device.store.get_meta(CLIENT_ID)
    if client is None:
        return 0
    value = standin.sql_value(
        "select last_mutation_id from public.sync_clients where client_id = %s", client)
    return int(value or 0)


# --- local edits --------------------------------------------------------------------------


def edit(device: Device, pick: int, kind: str, value: int) -> None:
    ids = device.live_ids()
    if not ids:
        return
    sip_id = ids[pick % len(ids)]
    store = device.store
    try:
        if kind == "label":
            sips.edit_sip(store=store, sip_id=sip_id, today=TODAY, label=LABELS[value % 4])
        elif kind == "day":
            sips.edit_sip(store=store, sip_id=sip_id, today=TODAY, day=1 + value * 2)
        elif kind == "amount":
            sips.edit_sip(store=store, sip_id=sip_id, today=TODAY,
                          amount=Decimal(1000 + 500 * value), effective=EFFECTIVE[value % 3])
        elif kind == "end":
            if value % 3 == 0:
                sips.edit_sip(store=store, sip_id=sip_id, today=TODAY, clear_end=True)
            else:
                sips.edit_sip(store=store, sip_id=sip_id, today=TODAY,
                              end=date(2025, 1 + value, 28))
        elif kind == "step_up":
            step = STEP_UPS[value % 4]
            if step is None:
                sips.edit_sip(store=store, sip_id=sip_id, today=TODAY, clear_step_up=True)
            else:
                sips.edit_sip(store=store, sip_id=sip_id, today=TODAY, step_up=step)
        elif kind == "pause":
            sips.pause_sip(store=store, sip_id=sip_id, start=date(2024, 1 + value, 1),
                           end=None if value % 2 else date(2024, 1 + value, 20))
        elif kind == "resume":
            sips.resume_sip(store=store, sip_id=sip_id, on=date(2024, 1 + value, 10))
    except InvalidInputError:
        pass  # nothing to change / already paused: no outbox entry either


def bad_edit(device: Device, pick: int, kind: str) -> None:
    """Changes the server refuses, written straight into the local database (the services
    would refuse them), or one it may refuse depending on what other devices did."""
    if kind == "create":
        from mftrack.domain.sips import Sip

        now = datetime.now(UTC)
        device.store.insert_sip(Sip(id=str(uuid.uuid4()), scheme_code=120503,
                                    amount=Decimal("100"), start_date=date(2024, 1, 1), day=1,
                                    label="x" * 501, created_at=now, updated_at=now))
        return
    ids = device.live_ids()
    if not ids:
        return
    sip_id = ids[pick % len(ids)]
    if kind == "label":
        device.store.update_sip(sip_id, {"label": "y" * 600})
    elif kind == "amount":
        device.store.update_sip(sip_id, {"amount": "1234.567"})
    elif kind == "lone_step":  # refused only if the server's row has no step-up kind
        device.store.update_sip(sip_id, {"step_up_value": "15"})


# --- one sync, with a fault -----------------------------------------------------------------


def sync_with_fault(standin: StandIn, device: Device, fault: str, model: Model,
                    value: int = 0) -> None:
    before_outbox = device.outbox()
    before = watermark(standin, device)
    progress = None
    if fault == "lose_push":
        standin.lose_next_response(PUSH)
    elif fault == "fail_push":
        standin.fail_next(PUSH, 503)
    elif fault == "drop_push":
        standin.drop_next(PUSH)
    elif fault == "429":
        standin.fail_next("/rest/v1/rpc", 429)
    elif fault == "lose_pull":
        standin.lose_next_response(PULL)
    elif fault == "fail_pull2":
        def progress(event: SyncProgress) -> None:
            if event.stage == "pull" and event.report.pages == 1:
                standin.fail_next(PULL, 500)
    elif fault in ("edit_during_pull", "delete_during_pull"):
        def progress(event: SyncProgress) -> None:  # the user edits while the sync pulls
            if event.stage == "pull" and event.report.pages == 1:
                if fault == "edit_during_pull":
                    edit(device, value, "label", value)
                else:
                    ids = device.live_ids()
                    if ids:
                        sips.remove_sip(store=device.store, sip_id=ids[value % len(ids)])
    elif fault in ("expire", "lose_refresh"):
        standin.clock.advance(7200)  # the server sees every token as expired
        if fault == "lose_refresh":
            standin.lose_next_response(REFRESH)
    elif fault == "rotate_epoch":
        standin.sql("select public.rotate_sync_epoch(%s)", device.user_id)
    try:
        report = device.sync(progress=progress)
    except NetworkError:
        event(f"sync failed ({fault})")
    else:
        check_view(standin, device)
        if report.rejected:
            event("a change was dead-lettered")
        if report.conflicts:
            event("a conflict was merged")
        if report.reset:
            event(f"full re-pull after a {report.reset}")
        if report.pages > 1:
            event("paged pull")
    finally:
        standin.clear_faults()
    after = watermark(standin, device)
    for m in before_outbox:
        if before < m.mid <= after:
            model.apply(device.name, m)


def check_view(standin: StandIn, device: Device) -> None:
    """Right after a sync (nobody else syncing), a device shows the server's rows with its
    own pending changes laid on top, and nothing else but rows it created and not pushed."""
    server = server_rows(standin, device.user_id)
    local = device.rows()
    pending: dict[str, list[Mutation]] = {}
    for m in device.outbox():
        pending.setdefault(m.row_id, []).append(m)
    for rid, row in server.items():
        expected = dict(row)
        for m in pending.get(rid, []):
            for name, value in m.fields.items():
                if name == "deleted":
                    expected["deleted"] = expected["deleted"] or bool(value)
                elif name != "updated_at":
                    expected[name] = normalise({**_FILLER, name: value})[name]
            expected["deleted"] = expected["deleted"] or m.deleted
        got = dict(local.get(rid) or {})
        # updated_at is informational (the server stamps its own commit time and never merges
        # on it), as in the convergence checks below: a change pushed in a sync's last round
        # keeps the device's own timestamp until the next pull.
        expected.pop("updated_at")
        got.pop("updated_at", None)
        assert got == expected, (device.name, rid)
    for rid in set(local) - set(server):
        assert rid in pending, (device.name, rid)


_FILLER: dict[str, Any] = {"scheme_code": 1, "amount": "1", "start_date": "2024-01-01",
                           "sip_day": 1, "pauses": [], "amount_changes": [], "deleted": False}


def run_scenario(standin: StandIn, ops: list[tuple[Any, ...]], n_devices: int,
                 batch_size: int, page_size: int) -> None:
    _, user_id = new_user(standin)
    root = Path(tempfile.mkdtemp(prefix="mftrack-sync-prop-"))
    devices = [make_device(standin, user_id, root / f"d{i}", f"d{i}",
                           MFTRACK_SYNC_BATCH_SIZE=str(batch_size)) for i in range(n_devices)]
    for device in devices:
        device.page_size = page_size
    model = Model()
    try:
        for kind, dev_i, pick, detail, value in ops:
            device = devices[dev_i % n_devices]
            if kind == "create":
                device.add(SCHEMES[pick], str(1000 * (pick + 1)),
                           label=LABELS[value] or None)
            elif kind == "edit":
                edit(device, pick, detail, value)
            elif kind == "delete":
                ids = device.live_ids()
                if ids:
                    sips.remove_sip(store=device.store, sip_id=ids[pick % len(ids)])
            elif kind == "bad":
                bad_edit(device, pick, detail)
            elif kind == "sync":
                sync_with_fault(standin, device, detail or "none", model, value)
        standin.clock.reset()
        for _ in range(2):  # drain every outbox, then everyone pulls everything
            for device in devices:
                sync_with_fault(standin, device, "none", model)
        server = assert_converged(standin, user_id, devices)
        expected = model.expected()
        assert {rid: {k: v for k, v in row.items() if k not in ("version", "updated_at")}
                for rid, row in server.items()} == expected
        for device in devices:
            letters = {d.mid for d in device_dead_letters(device)}
            assert letters == model.rejected.get(device.name, set()), device.name
        assert server_rows(standin, user_id) == server
    finally:
        for device in devices:
            device.close()
        shutil.rmtree(root, ignore_errors=True)


def device_dead_letters(device: Device) -> list[Any]:
    from mftrack.adapters.sqlite.sync_store import SyncStore

    return SyncStore(device.store).dead_letters()


def examples(n: int) -> settings:
    """`n` examples (or SYNC_PROPERTY_EXAMPLES, for a long local hunt)."""
    n = int(os.environ.get("SYNC_PROPERTY_EXAMPLES", n))
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@examples(100)
@given(ops=st.lists(st.one_of(create_op, edit_op, edit_op, delete_op, plain_sync, plain_sync),
                    min_size=5, max_size=40),
       n_devices=st.integers(2, 3), batch_size=st.integers(1, 5),
       page_size=st.sampled_from((1, 2, 3, 500)))
def test_devices_editing_offline_converge(standin: StandIn, ops: list[tuple[Any, ...]],
                                          n_devices: int, batch_size: int,
                                          page_size: int) -> None:
    run_scenario(standin, ops, n_devices, batch_size, page_size)


@examples(100)
@given(ops=st.lists(st.one_of(create_op, edit_op, delete_op, bad_op, plain_sync, faulty_sync,
                              faulty_sync), min_size=5, max_size=40),
       n_devices=st.integers(2, 3), batch_size=st.integers(1, 4),
       page_size=st.sampled_from((1, 2, 500)))
def test_devices_converge_through_faults(standin: StandIn, ops: list[tuple[Any, ...]],
                                         n_devices: int, batch_size: int,
                                         page_size: int) -> None:
    run_scenario(standin, ops, n_devices, batch_size, page_size)


# Few SIPs, many edits of the same ones: conflicting edits of one field and of different fields.
conflict_ops = st.lists(
    st.one_of(st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 1),
                        st.sampled_from(("label", "day", "step_up", "end", "amount")),
                        st.integers(0, 11)),
              delete_op, bad_op, plain_sync, faulty_sync),
    min_size=5, max_size=40)


@examples(100)
@given(seed_sips=st.integers(1, 2), ops=conflict_ops, n_devices=st.integers(2, 3))
def test_conflicting_edits_of_the_same_sips_merge_per_field(
        standin: StandIn, seed_sips: int, ops: list[tuple[Any, ...]], n_devices: int) -> None:
    # Every device starts from the same synced SIPs, then edits them concurrently.
    prefix: list[tuple[Any, ...]] = [("create", 0, i, "", 0) for i in range(seed_sips)]
    prefix += [("sync", i, 0, "", 0) for i in range(n_devices)]
    prefix += [("sync", 0, 0, "", 0)]
    run_scenario(standin, prefix + ops, n_devices, 3, 2)
