"""Security through the stand-in (real RLS, grants and JWT checks): user B can neither read nor
change nor overwrite user A's SIPs or transactions, through the sync RPCs or the tables; the
anon key gets nothing; expired and tampered tokens are refused; and the client copes with all
of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mftrack.domain.sip_record import sip_from_record
from mftrack.services.sync import sync_status
from tests.standin import StandIn
from tests.sync_support import Device, make_device, new_user, server_rows, server_txns

pytestmark = pytest.mark.postgres


class Caller:
    """Raw HTTP as PostgREST sees it, with the anon key and optionally a user's token."""

    def __init__(self, standin: StandIn, token: str | None) -> None:
        self.standin = standin
        self.headers = {"apikey": standin.anon_key,
                        "Authorization": f"Bearer {token or standin.anon_key}"}

    def rpc(self, name: str, **params: Any) -> httpx.Response:
        return httpx.post(f"{self.standin.rest_url}/rpc/{name}", json=params,
                          headers=self.headers, timeout=10)

    def table(self, method: str, query: str = "", body: Any = None,
              prefer: str | None = None, *, name: str = "sips") -> httpx.Response:
        headers = dict(self.headers)
        if prefer:
            headers["Prefer"] = prefer
        return httpx.request(method, f"{self.standin.rest_url}/{name}{query}", headers=headers,
                             content=None if body is None else json.dumps(body), timeout=10)


@pytest.fixture
def world(standin: StandIn, tmp_path: Path) -> dict[str, Any]:
    _, alice = new_user(standin)
    _, bob = new_user(standin)
    device = make_device(standin, alice, tmp_path / "alice", "alice")
    ids = [device.add(label=f"alice {i}") for i in range(3)]
    device.sync()
    yield {"alice": alice, "bob": bob, "ids": ids, "device": device,
           "bob_token": standin.issue_session(bob)["access_token"],
           "before": server_rows(standin, alice)}
    device.close()


def unchanged(standin: StandIn, world: dict[str, Any]) -> bool:
    return bool(server_rows(standin, world["alice"]) == world["before"])


def test_b_sees_none_of_a_s_rows(standin: StandIn, world: dict[str, Any]) -> None:
    bob = Caller(standin, world["bob_token"])
    pulled = bob.rpc("sync_pull", p_since=0)
    assert pulled.status_code == 200 and pulled.json()["rows"] == []
    fetched = bob.rpc("sync_fetch", p_table="sips", p_ids=world["ids"])
    assert fetched.status_code == 200 and fetched.json() == {"rows": []}
    listed = bob.table("GET", "?select=*")
    assert listed.status_code == 200 and listed.json() == []
    assert bob.table("GET", "?select=id", prefer=None).json() == []
    state = httpx.get(f"{standin.rest_url}/sync_state?select=*", headers=bob.headers)
    assert state.json() == []  # B has never written: A's sync state is invisible


def test_b_cannot_change_or_overwrite_a_s_rows(standin: StandIn,
                                               world: dict[str, Any]) -> None:
    bob = Caller(standin, world["bob_token"])
    target = world["ids"][0]
    pushed = bob.rpc("sync_push", p_client_id="00000000-0000-4000-8000-0000000000b0",
                     p_mutations=[{"mid": 1, "table": "sips", "id": target,
                                   "fields": {"label": "pwned"}},
                                  {"mid": 2, "table": "sips", "id": target, "deleted": True}])
    assert pushed.status_code == 200
    assert [(r["mid"], r["code"]) for r in pushed.json()["rejected"]] == [(1, "42501"),
                                                                        (2, "42501")]
    patched = bob.table("PATCH", f"?id=eq.{target}", {"label": "pwned"},
                        prefer="return=representation")
    assert patched.status_code == 200 and patched.json() == []  # 0 rows: invisible
    upsert = bob.table("POST", "?on_conflict=id",
                       [{"id": target, "scheme_code": 1, "amount": 1, "start_date": "2024-01-01",
                         "sip_day": 1, "label": "pwned"}],
                       prefer="resolution=merge-duplicates,return=minimal")
    assert upsert.status_code == 403 and upsert.json()["code"] == "42501"
    foreign = bob.table("POST", "", [{"user_id": world["alice"], "scheme_code": 1, "amount": 1,
                                      "start_date": "2024-01-01", "sip_day": 1}],
                        prefer="return=minimal")
    assert foreign.status_code == 403 and foreign.json()["code"] == "42501"
    deleted = bob.table("DELETE", f"?id=eq.{target}")
    assert deleted.status_code == 403
    assert unchanged(standin, world)


def test_the_anon_key_gets_nothing(standin: StandIn, world: dict[str, Any]) -> None:
    anon = Caller(standin, None)
    for name, params in (("sync_pull", {"p_since": 0}),
                         ("sync_fetch", {"p_table": "sips", "p_ids": world["ids"]}),
                         ("sync_push", {"p_client_id": "00000000-0000-4000-8000-0000000000a0",
                                        "p_mutations": []})):
        answer = anon.rpc(name, **params)
        assert answer.status_code == 401, name
        assert answer.json()["code"] == "42501", name
    assert anon.table("GET", "?select=*").status_code == 401
    assert anon.table("POST", "", [{"scheme_code": 1, "amount": 1, "start_date": "2024-01-01",
                                    "sip_day": 1}]).status_code == 401
    assert unchanged(standin, world)


def test_expired_and_tampered_tokens_are_refused(standin: StandIn,
                                                 world: dict[str, Any]) -> None:
    alice = world["alice"]
    expired = Caller(standin, standin.make_jwt(user_id=alice, expires_in=-3600))
    answer = expired.rpc("sync_pull", p_since=0)
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST303"
    forged = Caller(standin, standin.make_jwt(user_id=alice, secret="not-the-secret-" * 3))
    answer = forged.rpc("sync_pull", p_since=0)
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST301"
    # B's genuine token with the subject changed to A: the signature no longer matches
    header, payload, signature = world["bob_token"].split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = alice
    swapped = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = Caller(standin, f"{header}.{swapped}.{signature}").rpc("sync_pull", p_since=0)
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST301"


def test_the_client_dead_letters_a_foreign_id_and_drops_its_copy(
        standin: StandIn, world: dict[str, Any], tmp_path: Path) -> None:
    bob: Device = make_device(standin, world["bob"], tmp_path / "bob", "bob")
    # B's database somehow holds a SIP with A's id (copied database, import, malice)
    record = dict(world["before"][world["ids"][1]])
    record.update(id=world["ids"][1], label="bob's copy", created_at=None, updated_at=None)
    copy = sip_from_record({**record, "amount": str(record["amount"])})
    from dataclasses import replace
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    bob.store.insert_sip(replace(copy, created_at=now, updated_at=now))
    report = bob.sync()
    assert report.rejected == 1
    letters = sync_status(store=bob.store).dead_letters
    assert [(d.row_id, d.code) for d in letters] == [(world["ids"][1], "42501")]
    assert "belongs to another user" in (letters[0].message or "")
    assert bob.rows() == {}  # the server has no such row for B
    assert unchanged(standin, world)
    bob.close()


def test_b_can_neither_read_nor_change_a_s_transactions(standin: StandIn, tmp_path: Path) -> None:
    _, alice = new_user(standin)
    _, bob = new_user(standin)
    a_dev = make_device(standin, alice, tmp_path / "alice", "alice")
    ids = [a_dev.record(note=f"alice {i}") for i in range(2)]
    a_dev.sync()
    before = server_txns(standin, alice)
    b = Caller(standin, standin.issue_session(bob)["access_token"])
    assert b.rpc("sync_pull", p_since=0).json()["rows"] == []
    assert b.rpc("sync_fetch", p_table="transactions", p_ids=ids).json() == {"rows": []}
    assert b.table("GET", "?select=*", name="transactions").json() == []
    patched = b.table("PATCH", f"?id=eq.{ids[0]}", {"note": "pwned"},
                      prefer="return=representation", name="transactions")
    assert patched.status_code == 200 and patched.json() == []  # 0 rows: invisible
    upsert = b.table("POST", "?on_conflict=id",
                     [{"id": ids[0], "scheme_code": 1, "kind": "purchase",
                       "trade_date": "2024-01-01", "note": "pwned"}],
                     prefer="resolution=merge-duplicates,return=minimal", name="transactions")
    assert upsert.status_code == 403 and upsert.json()["code"] == "42501"
    foreign = b.table("POST", "", [{"user_id": alice, "scheme_code": 1, "kind": "purchase",
                                    "trade_date": "2024-01-01"}],
                      prefer="return=minimal", name="transactions")
    assert foreign.status_code == 403 and foreign.json()["code"] == "42501"
    assert b.table("DELETE", f"?id=eq.{ids[0]}", name="transactions").status_code == 403
    pushed = b.rpc("sync_push", p_client_id="00000000-0000-4000-8000-0000000000b1",
                   p_mutations=[{"mid": 1, "table": "transactions", "id": ids[0],
                                 "fields": {"note": "pwned"}},
                                {"mid": 2, "table": "transactions", "id": ids[1],
                                 "deleted": True}])
    assert [r["code"] for r in pushed.json()["rejected"]] == ["42501", "42501"]
    anon = Caller(standin, None)
    assert anon.table("GET", "?select=*", name="transactions").status_code == 401
    assert anon.table("POST", "", [{"scheme_code": 1, "kind": "purchase",
                                    "trade_date": "2024-01-01"}],
                      name="transactions").status_code == 401
    assert anon.rpc("sync_fetch", p_table="transactions", p_ids=ids).status_code == 401
    assert server_txns(standin, alice) == before

    # B's client holding a transaction with A's id: a dead letter, and B's copy is dropped
    b_dev = make_device(standin, bob, tmp_path / "bob", "bob")
    copy = a_dev.store.get_transaction(ids[1])
    b_dev.store.insert_transactions([copy])
    assert b_dev.sync().rejected == 1
    assert [(d.table, d.row_id, d.code) for d in sync_status(store=b_dev.store).dead_letters] \
        == [("transactions", ids[1], "42501")]
    assert b_dev.txns() == {} and server_txns(standin, alice) == before
    a_dev.close()
    b_dev.close()
