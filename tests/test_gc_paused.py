import gc

import pytest

from patchmerge.fusion import engine
from patchmerge.gc_paused import gc_paused


def test_paused_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outer one
        raise RuntimeError
    assert gc.isenabled()


def test_left_off_when_it_was_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_merge_runs_with_the_collector_paused(monkeypatch):
    seen = []

    def fake_merge(session, patch_set, probes):
        seen.append(gc.isenabled())
        return "merged"

    monkeypatch.setattr(engine, "_merge", fake_merge)
    assert engine.merge(None, None) == "merged"
    assert seen == [False] and gc.isenabled()
