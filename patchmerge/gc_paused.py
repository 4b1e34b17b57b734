"""The cyclic garbage collector paused for a computation that builds large, mostly acyclic graphs.

CPython's collector runs a full pass over every tracked object each time enough new ones have survived, so a
computation that keeps many large graphs alive (`ast` and libcst trees, an index, scope analyses) pays for
passes that traverse a growing heap and free little: those graphs go by reference counting. A real r0.8.0
merge spent about 30% of its time there. What does form cycles (pyflakes' bindings, libcst's scope accesses)
waits for the first pass after the pause: peak memory grew by 3% on r0.8.0, 10% on 26.1.0.

The collector is one per process: the pause is counted, so that merges run in threads (bisect's jobs) keep it
paused until the last one ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0  # blocks running inside a pause, in every thread
_was_enabled = False  # whether the collector ran before the first of them


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off inside the block; once the last block running in the process ends, back as it was
    before the first began (on an error too)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
