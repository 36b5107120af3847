"""Whether a scheme takes purchases at all: a SIP into one that does not can never be allotted.

mftrack records the SIP anyway (the user may be tracking something real that it cannot see),
but says why its instalments will not be bought.
"""

from __future__ import annotations

from datetime import date

from mftrack.domain.schemes import SchemeInfo

# AMFI stops publishing NAVs for a scheme that is wound up, matured or merged. A scheme whose
# latest NAV is this much older than the newest NAV mftrack holds for any scheme has stopped,
# whatever the age of the user's own NAV files.
STOPPED_AFTER_DAYS = 30


def purchase_concerns(
    info: SchemeInfo, latest_nav_date: date | None, newest_nav_date: date | None
) -> list[str]:
    """Reasons a SIP into this scheme cannot buy units, one sentence each (empty: none)."""
    reasons: list[str] = []
    if "segregat" in info.name.casefold():
        # SEBI circular SEBI/HO/IMD/DF2/CIR/P/2018/160 (28 Dec 2018): units of a segregated
        # portfolio are allotted only to those who held the scheme on the credit event; no
        # subscription (or redemption) is allowed, the units are listed on an exchange instead.
        reasons.append(
            "it is a segregated portfolio, which takes no subscriptions (SEBI circular "
            "SEBI/HO/IMD/DF2/CIR/P/2018/160): its units went only to those who held the scheme "
            "when it was segregated"
        )
    if (info.scheme_type or "").casefold().startswith("close ended"):
        # A close-ended scheme sells units only in its new fund offer; afterwards its units
        # are traded on a stock exchange (SEBI (Mutual Funds) Regulations 1996, reg. 32, and
        # SEBI circular SEBI/HO/IMD/DF3/CIR/P/2020/086: every close-ended scheme is listed).
        reasons.append(
            "it is a close-ended scheme, which sells units only in its new fund offer (later "
            "buyers buy on a stock exchange, not through a SIP)"
        )
    if (
        latest_nav_date is not None
        and newest_nav_date is not None
        and (newest_nav_date - latest_nav_date).days > STOPPED_AFTER_DAYS
    ):
        reasons.append(
            f"AMFI has published no NAV for it since {latest_nav_date} (other schemes have "
            f"NAVs up to {newest_nav_date}): it looks wound up, matured or merged"
        )
    return reasons
