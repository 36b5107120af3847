"""What an import reports about a row it did not take (shared by every statement reader)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that was not imported: where it is (a line, or the transaction) and why."""

    where: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "reason": self.reason}
