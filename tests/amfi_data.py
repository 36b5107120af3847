"""Where the real AMFI / mfapi.in files live for tests: `../shared/amfi-data` beside the repo.

The files are third-party data, unmodified (see SOURCES.md there); formats and quirks are in
`../shared/docs/amfi-formats.md`. Tests read them, never copy or edit them.
"""

from __future__ import annotations

from pathlib import Path

AMFI_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "amfi-data"


def data_file(relative: str) -> Path:
    """The path of one data file, e.g. `navall/NAVAll_2019-06-21.txt`; fails loudly if absent."""
    path = AMFI_DATA / relative
    if not path.is_file():
        raise FileNotFoundError(f"real AMFI test data missing: {path} (see amfi_data.py)")
    return path


def read_text(relative: str) -> str:
    """A data file decoded as UTF-8 (AMFI's encoding), line ends kept as they are."""
    return data_file(relative).read_bytes().decode("utf-8")


def raw_line(relative: str, starts_with: str) -> str:
    """The first line of a data file that starts with `starts_with`, without its line end."""
    for line in read_text(relative).split("\n"):
        if line.startswith(starts_with):
            return line.rstrip("\r")
    raise LookupError(f"no line starting {starts_with!r} in {relative}")


def navall_files() -> list[str]:
    return sorted(f"navall/{p.name}" for p in (AMFI_DATA / "navall").glob("NAVAll_*.txt"))


def mfapi_files() -> list[str]:
    return sorted(f"mfapi/{p.name}" for p in (AMFI_DATA / "mfapi").glob("mfapi_*.json"))
