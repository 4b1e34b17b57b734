"""The cyclic garbage collector paused for a computation that builds large graphs freed by reference counting.

CPython's collector runs a full pass over every tracked object each time enough new ones have survived, so a
computation that builds many large, mostly acyclic graphs (`ast` and libcst trees, an index, scope analyses)
pays for passes that traverse a growing heap to free nothing. A real r0.8.0 merge spent about 30% of its time
there; paused, its peak memory grew by 3% (26.1.0: 10%): the few cycles it leaves wait for the next pass."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off inside the block, back as it was after it (nested blocks leave it to the outermost)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
