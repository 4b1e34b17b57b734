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


def test_threads_keep_it_paused_until_the_last_one_ends():
    import threading

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with gc_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first ended": False} and gc.isenabled()
