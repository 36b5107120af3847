"""Limits shared with the hosted schema (supabase/migrations/20261205090200_limits.sql and
20261205150000_transactions.sql; the table in docs/hosted-schema.md "Limits").

They are far above real use and exist so that one account cannot make the server slow for
everyone (a SIP with 100,000 pauses took 6.9 s to push and then made `sip_summary` hit the
statement timeout). The client checks them before it writes, so a change the server would
refuse is refused at once with a clear message, instead of becoming a dead letter at the
next sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mftrack.errors import InvalidInputError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.sips import Sip

MAX_PAUSES = 500  # per SIP
MAX_AMOUNT_CHANGES = 500  # per SIP
MAX_SIPS = 5000  # live (not removed) SIPs per account
MAX_DEVICES = 50  # devices per account: enforced by the server only (`sync_push`)
MAX_TRANSACTIONS = 100_000  # live (not removed) transactions per account


def check_sip_size(before: Sip, after: Sip) -> None:
    """A change that adds pauses or amount changes keeps them within MAX_PAUSES and
    MAX_AMOUNT_CHANGES. (A SIP already over a limit, pulled from a server that stored it before
    the limits existed, can still be edited otherwise and removed: the server allows that too.)"""
    checks = ((len(before.pauses), len(after.pauses), MAX_PAUSES, "pauses",
               "record a long break as one pause with --from and --to"),
              (len(before.amount_changes), len(after.amount_changes), MAX_AMOUNT_CHANGES,
               "amount changes", "end this SIP (`mftrack stop-sip`) and add a new one"))
    for old, new, limit, what, hint in checks:
        if new > limit and new > old and not after.deleted:
            raise InvalidInputError(
                f"SIP {after.id[:8]} would have {new} {what}; a SIP keeps at most {limit}",
                hint=hint)


def check_room_for_sip(store: LocalStore) -> None:
    """Adding one more live SIP stays within MAX_SIPS."""
    live = store.live_sip_count()
    if live >= MAX_SIPS:
        raise InvalidInputError(
            f"you already have {live} SIPs; mftrack keeps at most {MAX_SIPS}",
            hint="remove SIPs you no longer need (`mftrack rm-sip`)")


def check_room_for_transactions(store: LocalStore, adding: int) -> None:
    """Adding `adding` live transactions stays within MAX_TRANSACTIONS (a 10-year statement of
    20 schemes is about 2,500 rows)."""
    live = store.live_transaction_count()
    if adding > 0 and live + adding > MAX_TRANSACTIONS:
        raise InvalidInputError(
            f"you have {live} transactions and would add {adding}; mftrack keeps at most "
            f"{MAX_TRANSACTIONS}",
            hint="remove transactions you no longer need, or keep older years in another data "
                 "folder (MFTRACK_HOME)")
