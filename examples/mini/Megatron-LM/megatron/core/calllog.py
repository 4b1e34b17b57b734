"""A process-wide record of which implementation ran, in call order.

Every original and every patch of the example appends its name here, so a run on the runtime-patched tree and a
run on the fused tree can be compared call by call, not only by their loss.
"""

import hashlib

CALL_LOG = []


def record(name):
    CALL_LOG.append(name)


def reset():
    CALL_LOG.clear()


def summary():
    """Two lines: how many calls and a digest of the whole sequence, then each name with its count in first-call
    order."""
    digest = hashlib.sha1("\n".join(CALL_LOG).encode()).hexdigest()[:12]
    counts = {}
    for name in CALL_LOG:
        counts[name] = counts.get(name, 0) + 1
    order = ", ".join(f"{name} x{count}" for name, count in counts.items())
    return f"call log: {len(CALL_LOG)} calls | digest: {digest}\ncall order: {order}"
