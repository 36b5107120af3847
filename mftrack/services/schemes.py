"""Finding schemes: by AMFI code, by ISIN, or by a search phrase that must not be guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mftrack.errors import AmbiguousError, NotFoundError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore, StoredScheme

ISIN_RE = re.compile(r"^INF[0-9A-Z]{9}$")
MIN_FUZZY_SCORE = 60  # rapidfuzz token-set ratio below which a name is not a near match
NO_SCHEMES_HINT = "load NAVs first: `mftrack nav pull` (online) or `mftrack nav import FILE`"


@dataclass(frozen=True, slots=True)
class SearchHit:
    scheme_code: int
    name: str
    score: float


def _label(code: int, name: str, plan: str | None, option: str | None) -> str:
    parts = [name]
    for extra in (plan, option):
        if extra and extra.lower() not in name.lower():
            parts.append(extra)
    return " - ".join(parts)


def search_schemes(store: LocalStore, query: str, *, limit: int = 10) -> list[SearchHit]:
    """Exact code or ISIN first, then a fuzzy ranking over names (rapidfuzz)."""
    text = query.strip()
    if not text:
        return []
    if text.isdigit():
        scheme = store.get_scheme(int(text))
        return [SearchHit(scheme.scheme_code, scheme.display_name, 100.0)] if scheme else []
    if ISIN_RE.match(text.upper()):
        return [
            SearchHit(s.scheme_code, s.display_name, 100.0)
            for s in store.schemes_by_isin(text.upper())
        ]
    from rapidfuzz import fuzz, process, utils

    labels = {code: _label(code, name, plan, option)
              for code, name, plan, option in store.scheme_names()}
    words = text.lower().split()
    # Names holding every word of the query come first (shortest, i.e. closest, first); then
    # names that are merely similar, ranked by rapidfuzz's token-set ratio.
    containing = sorted(
        (label for label in labels.values() if all(w in label.lower() for w in words)),
        key=len,
    )
    hits: list[SearchHit] = []
    seen: set[int] = set()
    by_label = {label: code for code, label in labels.items()}
    for label in containing[:limit]:
        code = by_label[label]
        seen.add(code)
        hits.append(SearchHit(code, label, 100.0))
    if len(hits) < limit:
        matches = process.extract(
            text, labels, scorer=fuzz.token_set_ratio, processor=utils.default_process,
            limit=limit * 2,
        )
        for label, score, code in matches:
            if score < MIN_FUZZY_SCORE:
                break  # sorted best first: the rest are no closer
            if code not in seen and len(hits) < limit:
                seen.add(code)
                hits.append(SearchHit(code, label, float(score)))
    return hits


def resolve_scheme(store: LocalStore, query: str) -> StoredScheme:
    """One scheme for a code, an ISIN or a phrase; never a guess.

    A phrase resolves only when exactly one scheme name contains every word of it; several
    raise AmbiguousError listing them, none raise NotFoundError with near matches.
    """
    text = query.strip()
    if not text:
        raise NotFoundError("no scheme given", hint="pass a scheme code, an ISIN or a name")
    known = store.scheme_count()
    if known == 0:
        raise NotFoundError(f"no scheme {text!r}: the scheme list is empty", hint=NO_SCHEMES_HINT)
    # With schemes loaded, "load NAVs first" would be wrong: the code itself is the problem.
    among = f"among the {known:,} schemes in the local list"
    if text.isdigit():
        scheme = store.get_scheme(int(text))
        if scheme is None:
            raise NotFoundError(
                f"no scheme with AMFI code {text} {among}",
                hint="check the code with `mftrack scheme search WORDS OF ITS NAME`; a scheme "
                "that closed before AMFI's latest file comes in with `mftrack nav import FILE`",
            )
        return scheme
    if ISIN_RE.match(text.upper()):
        found = store.schemes_by_isin(text.upper())
        if not found:
            raise NotFoundError(
                f"no scheme with ISIN {text.upper()} {among}",
                hint="check it with `mftrack scheme search WORDS OF ITS NAME`",
            )
        if len(found) > 1:
            # One ISIN can sit under two scheme codes in AMFI's file (amfi-formats.md 1.4).
            raise AmbiguousError(
                f"ISIN {text.upper()} belongs to {len(found)} scheme codes",
                candidates=[f"{s.scheme_code}  {s.display_name}" for s in found],
                hint="pass the scheme code instead",
            )
        return found[0]
    words = text.lower().split()
    containing = [
        (code, _label(code, name, plan, option))
        for code, name, plan, option in store.scheme_names()
        if all(w in _label(code, name, plan, option).lower() for w in words)
    ]
    # A phrase that is exactly one scheme's full name (as `scheme show` prints it) is that one.
    exact = [(c, lbl) for c, lbl in containing if " ".join(lbl.lower().split()) == " ".join(words)]
    if len(exact) == 1:
        containing = exact
    if len(containing) == 1:
        scheme = store.get_scheme(containing[0][0])
        assert scheme is not None
        return scheme
    if not containing:
        near = search_schemes(store, text, limit=5)
        raise NotFoundError(
            f"no scheme name contains all of {text!r}",
            hint=(
                "closest: " + "; ".join(f"{h.scheme_code} {h.name}" for h in near)
                if near
                else "try fewer or other words: `mftrack scheme search WORDS`"
            ),
        )
    containing.sort(key=lambda item: item[1])
    shown = containing[:15]
    more = len(containing) - len(shown)
    return_candidates = [f"{code}  {label}" for code, label in shown]
    if more:
        return_candidates.append(f"… and {more} more")
    raise AmbiguousError(
        f"{text!r} matches {len(containing)} schemes",
        candidates=return_candidates,
        hint="pass the scheme code (first column) or a longer phrase",
    )
