"""Ctrl-C in tests that start patchmerge as a child and interrupt it."""

from __future__ import annotations

import signal


def default_ctrl_c() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: the child gets SIGINT as a terminal delivers it. A shell that
    starts the test run in the background without job control leaves SIGINT ignored, and a child inherits
    that, so Python in it would never see the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
