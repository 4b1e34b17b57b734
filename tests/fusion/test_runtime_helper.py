"""The runtime helper on its own: a binding settles once even when many threads call it first."""

from __future__ import annotations

import sys
import threading
import types

from patchmerge.fusion.runtime_template import render


def helper_module() -> types.ModuleType:
    module = types.ModuleType("patchmerge_test_helper")
    exec(compile(render("patchmerge_test_args.get_args", None), "helper", "exec"), module.__dict__)
    return module


def test_concurrent_first_calls_settle_once_and_all_get_the_patched_function():
    helper = helper_module()
    target = types.ModuleType("patchmerge_test_target")
    sys.modules[target.__name__] = target
    try:
        settles = []
        barrier = threading.Barrier(8)

        def original(x):
            return x

        def settle(unpatched):
            settles.append(1)
            return lambda x: unpatched(x) * 10

        target.f = helper.fused_function(target.__name__, "f", original, settle)
        results = []

        def call(x):
            barrier.wait()
            results.append(target.f(x) if x % 2 else router(x))

        router = target.f
        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert settles == [1]
        assert sorted(results) == [i * 10 for i in range(8)]
        assert target.f is not router  # rebound to the settled function
    finally:
        del sys.modules[target.__name__]
