"""Pausing Python's cycle collector around work that allocates many objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector for the block, then restore it as it was.

    A summary of 1,000 SIPs (hundreds of thousands of rows, lists and tuples) and a NAVAll
    import (a `SchemeInfo` and a `NavQuote` per row of 14,000) allocate many objects that form
    no reference cycles, and the collector's passes over that growing heap cost ~80 ms of a
    ~580 ms summary and ~25 ms of a ~350 ms `nav import` (CPU, issue 10). Reference counting
    still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
