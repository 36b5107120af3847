"""The hosted transaction ledger (supabase/migrations/20261205150000_transactions.sql) against a
real PostgreSQL 15, called the way PostgREST calls it (tests/test_hosted_sql.py's gateway; the
migrations run as a non-superuser owner). Contract: docs/hosted-schema.md."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
from mftrack.domain.txn_record import SYNCED_FIELDS, changed_fields, txn_from_record, txn_to_record
from tests import test_hosted_sql as hosted
from tests.test_hosted_sql import Device, Gateway, sip_fields

pytestmark = pytest.mark.postgres


# The fixtures of tests/test_hosted_sql.py, for this module's own throwaway database.
@pytest.fixture(scope="module")
def dbname(pg_admin_url: str) -> Iterator[str]:
    with hosted._throwaway_database() as name:
        hosted._apply_schema(name)
        yield name


admin = hosted.admin
api = hosted.api
new_user = hosted.new_user

SCHEME = 120503  # in ../shared/amfi-data


def txn_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "scheme_code": SCHEME,
        "kind": "purchase",
        "trade_date": "2024-03-12",
        "amount": "50000",
    }
    fields.update(overrides)
    return fields


def txn_mutation(
    dev: Device, row_id: uuid.UUID | str, fields: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    return dev.mutation(row_id, fields, table="transactions", **kwargs)


def ledger_rows(admin: psycopg.Connection, user: uuid.UUID) -> dict[str, dict[str, Any]]:
    cur = admin.execute(
        "select id, to_jsonb(t) from public.transactions t where user_id = %s order by id", (user,)
    )
    return {str(r[0]): r[1] for r in cur.fetchall()}


def live_count(admin: psycopg.Connection, user: uuid.UUID) -> int | None:
    row = admin.execute(
        "select live from private.transaction_counts where user_id = %s", (user,)
    ).fetchone()
    return None if row is None else row[0]


def test_client_transaction_records_round_trip(api: Gateway, admin, new_user) -> None:
    """What the CLI's outbox holds (mftrack.domain.txn_record) is accepted and comes back equal,
    sharing the user's versions with SIPs."""
    user = new_user()
    dev = Device(api, user)
    created = datetime(2024, 3, 12, 4, 30, 15, 123456, tzinfo=UTC)
    buy = Transaction(
        id=str(uuid.uuid4()),
        scheme_code=SCHEME,
        kind=TxnKind.SIP,
        trade_date=date(2024, 3, 12),
        amount=Decimal("5000"),
        units=Decimal("51.234"),
        nav=Decimal("97.5815"),
        stamp_duty=Decimal("0.25"),
        folio="1234567/89",
        sip_id=str(uuid.uuid4()),
        source=TxnSource.CAS,
        import_key="cas:1234567/89:120503:2024-03-12:sip:51.234:5000",
        note="SIP Purchase - Instalment 3/12",
        created_at=created,
        updated_at=created,
    )
    sell = Transaction(
        id=str(uuid.uuid4()),
        scheme_code=SCHEME,
        kind=TxnKind.SWITCH_OUT,
        trade_date=date(2025, 1, 2),
        amount=Decimal("2100.5"),
        units=Decimal("20.0000"),
        stt=Decimal("0.02"),
        link_id=str(uuid.uuid4()),
        created_at=created,
        updated_at=created,
    )
    sip = uuid.uuid4()
    mutations = [dev.mutation(sip, sip_fields())]
    for txn in (buy, sell):
        record = txn_to_record(txn)
        mutations.append(txn_mutation(dev, txn.id, {n: record[n] for n in SYNCED_FIELDS}))
    result = dev.push(mutations)
    assert result["rejected"] == [] and result["applied"] == 3 and result["version"] == 1
    rows = {r["id"]: r for r in dev.pull_all()}
    assert {(r["table"], r["version"]) for r in rows.values()} == {("sips", 1), ("transactions", 1)}
    for txn in (buy, sell):
        back = txn_from_record(rows[txn.id])
        assert replace(back, updated_at=None) == replace(txn, updated_at=None)
        assert back.updated_at != txn.updated_at  # server-stamped
        # decimals keep the text the device sent (no typmod padding)
        assert {n: rows[txn.id][n] for n in ("amount", "units", "nav", "stamp_duty", "stt")} == {
            n: txn_to_record(txn)[n] for n in ("amount", "units", "nav", "stamp_duty", "stt")
        }

    # An edit as the store queues it; then a removal; "deleted": false never undeletes.
    after = replace(buy, note="corrected", units=Decimal("51.235"), updated_at=datetime.now(UTC))
    result = dev.push([txn_mutation(dev, buy.id, changed_fields(buy, after), base_version=1)])
    assert result["rejected"] == [] and result["conflicts"] == []
    dev.push([txn_mutation(dev, buy.id, base_version=2, deleted=True)])
    dev.push([txn_mutation(dev, buy.id, {"deleted": False, "note": "again"}, base_version=3)])
    stored = ledger_rows(admin, user)[buy.id]
    assert (stored["deleted"], stored["note"], stored["units"]) == (True, "again", 51.235)
    assert [r["id"] for r in dev.pull_all()] == [buy.id]


def test_per_field_last_writer_wins_and_conflicts(api: Gateway, admin, new_user) -> None:
    user = new_user()
    a, b = Device(api, user), Device(api, user)
    txn = uuid.uuid4()
    a.push([txn_mutation(a, txn, txn_fields())])  # v1
    b.pull_all()
    a.push([txn_mutation(a, txn, {"note": "from a", "folio": "F1"}, base_version=1)])  # v2
    result = b.push([txn_mutation(b, txn, {"note": "from b"}, base_version=1)])  # v3
    assert [(c["id"], c["server_version"]) for c in result["conflicts"]] == [(str(txn), 2)]
    stored = ledger_rows(admin, user)[str(txn)]
    assert (stored["note"], stored["folio"], stored["version"]) == ("from b", "F1", 3)
    # deletes win over a later edit from a device that had not heard of them
    a.push([txn_mutation(a, txn, base_version=3, deleted=True)])
    b.push([txn_mutation(b, txn, {"amount": "1"}, base_version=3)])
    stored = ledger_rows(admin, user)[str(txn)]
    assert stored["deleted"] is True and stored["amount"] == 1
    # only an explicit undelete brings it back
    a.push([txn_mutation(a, txn, base_version=5, undelete=True)])
    assert ledger_rows(admin, user)[str(txn)]["deleted"] is False


BAD_TRANSACTIONS = [
    ({"kind": "gift"}, "23514", "transactions_kind_check"),
    ({"source": "email"}, "23514", "transactions_source_check"),
    ({"scheme_code": 0}, "23514", "transactions_scheme_code_check"),
    ({"amount": "-5"}, "23514", "transactions_amount_check"),
    ({"amount": "0"}, "23514", "transactions_amount_check"),
    ({"amount": "100.001"}, "23514", "transactions_amount_check"),
    ({"amount": "1000000000000"}, "23514", "transactions_amount_check"),
    ({"amount": "NaN"}, "22023", "must be a number"),
    ({"units": "0"}, "23514", "transactions_units_check"),
    ({"units": "1.12345678901"}, "23514", "transactions_units_check"),
    ({"nav": "-1"}, "23514", "transactions_nav_check"),
    ({"stamp_duty": "-0.01"}, "23514", "transactions_stamp_duty_check"),
    ({"stt": "0.001"}, "23514", "transactions_stt_check"),
    ({"kind": "redemption", "units": None}, "23514", "transactions_sale_units_check"),
    ({"kind": "switch_out"}, "23514", "transactions_sale_units_check"),
    ({"trade_date": "2024-02-30"}, "22008", "out of range"),
    ({"trade_date": "1899-12-31"}, "23514", "transactions_trade_date_check"),
    ({"folio": "F" * 501}, "23514", "transactions_folio_check"),
    ({"note": "n" * 1001}, "23514", "transactions_note_check"),
    ({"import_key": ""}, "23514", "transactions_import_key_check"),
    ({"sip_id": "not-a-uuid"}, "22P02", "uuid"),
    ({"link_id": 7}, "22023", "must be a string"),
    ({"trade_date": None}, "23502", "not-null"),
    ({"colour": "red"}, "22023", "cannot be written"),
]


@pytest.mark.parametrize(("override", "code", "message"), BAD_TRANSACTIONS)
def test_bad_transaction_is_rejected_and_the_rest_applies(
    api: Gateway, admin, new_user, override: dict[str, Any], code: str, message: str
) -> None:
    user = new_user()
    dev = Device(api, user)
    good, bad = uuid.uuid4(), uuid.uuid4()
    result = dev.push(
        [txn_mutation(dev, bad, txn_fields(**override)), txn_mutation(dev, good, txn_fields())]
    )
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [(str(bad), code)]
    assert message in result["rejected"][0]["message"]
    assert set(ledger_rows(admin, user)) == {str(good)}
    assert live_count(admin, user) == 1


def test_valid_edge_values_are_accepted(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    rows = {
        uuid.uuid4(): txn_fields(kind="redemption", units="10.5", amount=None),
        uuid.uuid4(): txn_fields(kind="dividend_payout", amount="12.5", units=None),
        uuid.uuid4(): txn_fields(kind="sip_failed", amount="5000", source="cas"),
        uuid.uuid4(): txn_fields(kind="merger_out", amount=None, units="1.1234567891"),
        uuid.uuid4(): txn_fields(stamp_duty="0", stt="0", folio="F" * 500, note="n" * 1000),
        # a removed sale without units (a tombstone is exempt from the sale rule)
        uuid.uuid4(): txn_fields(kind="redemption"),
    }
    mutations = [
        txn_mutation(dev, row_id, fields, deleted=i == len(rows) - 1)
        for i, (row_id, fields) in enumerate(rows.items())
    ]
    result = dev.push(mutations)
    assert result["rejected"] == [] and result["applied"] == len(rows)
    assert live_count(admin, user) == len(rows) - 1


def test_an_import_key_is_unique_per_account(api: Gateway, admin, new_user) -> None:
    """Two devices importing the same statement: the second push of a key is refused (23505)
    and that device takes the first one's row with its pull. Another account is unaffected."""
    user, other = new_user(), new_user()
    a, b = Device(api, user), Device(api, user)
    key = "cas:1234567/89:120503:2024-03-12:purchase:-:50000"
    first, second = uuid.uuid4(), uuid.uuid4()
    assert a.push([txn_mutation(a, first, txn_fields(import_key=key))])["rejected"] == []
    result = b.push([txn_mutation(b, second, txn_fields(import_key=key))])
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [(str(second), "23505")]
    assert [r["id"] for r in b.pull_all()] == [str(first)]
    # a tombstone keeps its key (as the local unique index does)
    a.push([txn_mutation(a, first, base_version=1, deleted=True)])
    again = b.push([txn_mutation(b, uuid.uuid4(), txn_fields(import_key=key))])
    assert [r["code"] for r in again["rejected"]] == ["23505"]
    c = Device(api, other)
    assert c.push([txn_mutation(c, uuid.uuid4(), txn_fields(import_key=key))])["rejected"] == []


def test_rls_isolates_transactions(api: Gateway, admin, new_user) -> None:
    alice, bob = new_user(), new_user()
    a_dev, b_dev = Device(api, alice), Device(api, bob)
    txn = uuid.uuid4()
    a_dev.push([txn_mutation(a_dev, txn, txn_fields(note="alice's"))])
    before = ledger_rows(admin, alice)

    assert b_dev.pull_all() == []
    assert api.request("select count(*) from public.transactions", user=bob) == [(0,)]
    assert api.rpc("sync_fetch", user=bob, p_table="transactions", p_ids=[txn]) == {"rows": []}
    api.request("update public.transactions set note = 'bob' where id = %s", (txn,), user=bob)
    with pytest.raises(psycopg.Error) as exc:  # upsert onto her id through the table
        api.request(
            "insert into public.transactions (id, scheme_code, kind, trade_date)"
            " values (%s, 1, 'purchase', '2024-01-01') on conflict (id) do update set note = 'x'",
            (txn,),
            user=bob,
        )
    assert exc.value.sqlstate == "42501"
    with pytest.raises(psycopg.Error) as exc:  # a row for her
        api.request(
            "insert into public.transactions (id, user_id, scheme_code, kind, trade_date)"
            " values (%s, %s, 1, 'purchase', '2024-01-01')",
            (uuid.uuid4(), alice),
            user=bob,
        )
    assert exc.value.sqlstate == "42501"
    result = b_dev.push(
        [
            txn_mutation(b_dev, txn, {"note": "bob"}, base_version=1),
            txn_mutation(b_dev, txn, txn_fields()),
            txn_mutation(b_dev, txn, deleted=True),
        ]
    )
    assert [r["code"] for r in result["rejected"]] == ["42501"] * 3
    assert "belongs to another user" in result["rejected"][0]["message"]
    assert ledger_rows(admin, alice) == before and ledger_rows(admin, bob) == {}
    # nobody deletes rows (tombstones only), and the counter is out of reach
    for sql in (
        "delete from public.transactions",
        "select count(*) from private.transaction_counts",
        "select private.transactions_limit_per_user()",
    ):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            api.request(sql, user=alice)


def test_anon_cannot_reach_transactions(api: Gateway, new_user) -> None:
    user = new_user()
    for sql in (
        "select count(*) from public.transactions",
        "insert into public.transactions (scheme_code, kind, trade_date, user_id)"
        f" values (1, 'purchase', '2024-01-01', '{user}')",
    ):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            api.request(sql, role="anon")
    with pytest.raises(pg_errors.InsufficientPrivilege, match="permission denied for function"):
        api.rpc("sync_fetch", user=None, role="anon", p_table="transactions", p_ids=[uuid.uuid4()])


def test_direct_table_writes_get_versions_and_count(api: Gateway, admin, new_user) -> None:
    """PostgREST's POST /rest/v1/transactions: defaults fill user_id; the trigger versions it."""
    user = new_user()
    api.request(
        "insert into public.transactions (scheme_code, kind, trade_date, amount)"
        " values (%s, 'purchase', '2024-01-01', 100)",
        (SCHEME,),
        user=user,
    )
    (row,) = Device(api, user).pull_all()
    assert (row["table"], row["version"], row["amount"], row["source"]) == (
        "transactions",
        1,
        "100",
        "manual",
    )
    assert live_count(admin, user) == 1


def test_live_transactions_per_user_are_limited(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    first = uuid.uuid4()
    dev.push([txn_mutation(dev, first, txn_fields())])  # v1
    # 99,999 more as if pushed (the counter is what the trigger reads)
    admin.execute("update private.transaction_counts set live = 99999 where user_id = %s", (user,))
    last, over = uuid.uuid4(), uuid.uuid4()
    result = dev.push(
        [txn_mutation(dev, last, txn_fields()), txn_mutation(dev, over, txn_fields())]
    )
    assert result["applied"] == 1
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [(str(over), "23514")]
    assert "at most 100000" in result["rejected"][0]["message"]
    assert live_count(admin, user) == 100000
    # a removal frees a place; undeleting needs one again; edits of live rows are fine
    freed = dev.push(
        [
            txn_mutation(dev, first, base_version=1, deleted=True),
            txn_mutation(dev, over, txn_fields()),
        ]
    )
    assert freed["applied"] == 2 and freed["rejected"] == []
    back = dev.push([txn_mutation(dev, first, base_version=3, undelete=True)])
    assert [r["code"] for r in back["rejected"]] == ["23514"]
    edited = dev.push([txn_mutation(dev, over, {"note": "still editable"}, base_version=3)])
    assert edited["rejected"] == []
    assert live_count(admin, user) == 100000
    # the purge deletes tombstones only: the count stays
    with admin.transaction():
        admin.execute("set local session_replication_role = replica")
        admin.execute(
            "update public.transactions set updated_at = now() - interval '100 days' where id = %s",
            (first,),
        )
    purged = api.rpc("purge_tombstones", user=None, role="service_role", p_older_than="90 days")
    assert purged["purged"] >= 1 and str(first) not in ledger_rows(admin, user)
    assert live_count(admin, user) == 100000
    other = new_user()  # the limit is per user
    o_dev = Device(api, other)
    assert o_dev.push([txn_mutation(o_dev, uuid.uuid4(), txn_fields())])["applied"] == 1


def test_purge_and_reset_cover_transactions(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    keep, gone = uuid.uuid4(), uuid.uuid4()
    dev.push([txn_mutation(dev, keep, txn_fields()), txn_mutation(dev, gone, txn_fields())])
    late = Device(api, user)
    late.pull_all()  # cursor v1
    dev.push([txn_mutation(dev, gone, base_version=1, deleted=True)])  # v2
    with admin.transaction():
        admin.execute("set local session_replication_role = replica")
        admin.execute(
            "update public.transactions set updated_at = now() - interval '100 days' where id = %s",
            (gone,),
        )
    assert api.rpc("purge_tombstones", user=None, role="service_role", p_older_than="90 days") == {
        "purged": 1,
        "users": 1,
        "more": False,
    }
    assert admin.execute(
        "select min_version from public.sync_state where user_id = %s", (user,)
    ).fetchone() == (2,)
    assert late.pull_page()["reset"] is True
    assert [r["id"] for r in Device(api, user).pull_all()] == [str(keep)]


def test_deleting_the_account_removes_its_transactions(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    dev.push(
        [
            txn_mutation(dev, uuid.uuid4(), txn_fields()),
            txn_mutation(dev, uuid.uuid4(), txn_fields(), deleted=True),
        ]
    )
    admin.execute("delete from auth.users where id = %s", (user,))
    assert ledger_rows(admin, user) == {} and live_count(admin, user) is None


def test_summary_accounts_for_transactions(api: Gateway, new_user) -> None:
    user, other = new_user(), new_user()
    dev = Device(api, user)
    dev.push(
        [
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=1,
                    amount="1000",
                    start_date="2024-01-05",
                    sip_day=5,
                    end_date="2024-03-31",
                ),
            ),
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(
                    scheme_code=1, kind="sip", amount="1000", units="10.5", trade_date="2024-01-05"
                ),
            ),
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(scheme_code=1, amount="2500.50", units=None, trade_date="2024-02-01"),
            ),
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(
                    scheme_code=1,
                    kind="redemption",
                    amount="800",
                    units="4.25",
                    trade_date="2024-03-01",
                ),
            ),
            # ledger only: a switch, an IDCW payout and a reinvestment; a removed row; a future one
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(
                    scheme_code=2,
                    kind="switch_in",
                    amount="700",
                    units="7",
                    trade_date="2024-03-01",
                ),
            ),
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(
                    scheme_code=2, kind="dividend_payout", amount="12.34", trade_date="2024-04-01"
                ),
            ),
            txn_mutation(
                dev,
                uuid.uuid4(),
                txn_fields(
                    scheme_code=2,
                    kind="dividend_reinvest",
                    amount="20",
                    units="0.2",
                    trade_date="2024-04-02",
                ),
            ),
            txn_mutation(dev, uuid.uuid4(), txn_fields(scheme_code=2, amount="99"), deleted=True),
            txn_mutation(dev, uuid.uuid4(), txn_fields(scheme_code=2, trade_date="2024-07-01")),
        ]
    )
    other_dev = Device(api, other)
    other_dev.push([txn_mutation(other_dev, uuid.uuid4(), txn_fields(scheme_code=3))])

    summary = api.rpc("sip_summary", user=user, p_as_of="2024-06-15")
    by_code = {s["scheme_code"]: s for s in summary["schemes"]}
    assert sorted(by_code) == [1, 2]
    s1 = by_code[1]
    assert (s1["sips"], s1["instalments"], s1["invested"]) == (1, 3, "3000.00")  # the plan
    assert (s1["transactions"], s1["paid_in"], s1["withdrawn"]) == (3, "3500.50", "800.00")
    assert (s1["units_in"], s1["units_out"], s1["unpriced_buys"]) == ("10.5", "4.25", 1)
    assert (s1["first_trade"], s1["last_trade"]) == ("2024-01-05", "2024-03-01")
    s2 = by_code[2]
    assert (s2["sips"], s2["active_sips"], s2["instalments"], s2["invested"]) == (0, 0, 0, "0.00")
    assert (s2["first_due"], s2["last_due"]) == (None, None)
    assert (s2["transactions"], s2["paid_in"], s2["withdrawn"]) == (3, "700.00", "12.34")
    assert (s2["units_in"], s2["units_out"], s2["unpriced_buys"]) == ("7.2", "0", 0)
    # SIP-only schemes keep their old keys with zero ledger figures
    later = api.rpc("sip_summary", user=user, p_as_of="2024-07-01")
    assert {s["scheme_code"]: s["transactions"] for s in later["schemes"]} == {1: 3, 2: 4}

    view = api.request(
        "select scheme_code, transactions, paid_in::text from public.sip_summary"
        " order by scheme_code",
        user=user,
    )
    today = api.rpc("sip_summary", user=user)
    assert view == [(s["scheme_code"], s["transactions"], s["paid_in"]) for s in today["schemes"]]
    assert api.request("select scheme_code from public.sip_summary", user=other) == [(3,)]


def test_every_synced_table_follows_the_recipe(admin: psycopg.Connection) -> None:
    """docs/hosted-schema.md "Adding another synced table", checked in the catalog for every
    registered table (sips, transactions): the version trigger, the paging and tombstone
    indexes, RLS with one policy per command to authenticated and no delete, and the grants."""
    tables = [r[0] for r in admin.execute("select table_name from private.sync_tables")]
    assert sorted(tables) == ["sips", "transactions"]
    for name in tables:
        rel = f"public.{name}"
        triggers = {
            r[0]
            for r in admin.execute(
                "select tgname from pg_trigger where tgrelid = %s::regclass and not tgisinternal",
                (rel,),
            )
        }
        assert f"{name}_bump_version" in triggers, name
        indexes = {
            r[0]
            for r in admin.execute(
                "select pg_get_indexdef(indexrelid) from pg_index where indrelid = %s::regclass",
                (rel,),
            )
        }
        assert any("(user_id, version, id)" in i for i in indexes), name
        assert any("(updated_at) WHERE deleted" in i for i in indexes), name
        assert admin.execute(
            "select relrowsecurity from pg_class where oid = %s::regclass", (rel,)
        ).fetchone() == (True,)
        policies = sorted(
            admin.execute(
                "select cmd, roles::text from pg_policies where schemaname = 'public'"
                " and tablename = %s",
                (name,),
            ).fetchall()
        )
        assert policies == [
            ("INSERT", "{authenticated}"),
            ("SELECT", "{authenticated}"),
            ("UPDATE", "{authenticated}"),
        ], name
        for role, expected in (("authenticated", ["INSERT", "SELECT", "UPDATE"]), ("anon", [])):
            granted = sorted(
                r[0]
                for r in admin.execute(
                    "select privilege_type from information_schema.role_table_grants"
                    " where table_schema = 'public' and table_name = %s and grantee = %s",
                    (name, role),
                )
            )
            assert granted == expected, (name, role)
