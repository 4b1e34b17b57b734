"""The small runtime module a merge writes into the tree (stdlib only, so importing it can never form a cycle).

Fused code registers, at the end of each module that defines a patched name, how to build the patched object
(a "settle" function holding the conditions and the patch chain as plain code). The patched object is built
once per process, as MindSpeed's adaptation builds it once, and then bound exactly where the runtime would
bind it: on the module or class, and on every loaded module that holds the original (or the stand-in) under
the same name. After that a call costs what a call to the patch costs.

- functions: a stand-in settles on first call (or first attribute access for members);
- classes and other values: settled when the args are set (the args setter calls `args_ready()`), since they
  are used before any call and a class cannot stand in for another.
"""

TEMPLATE = '''"""Fused MindSpeed patches: settled once per process, then out of the way.

Written by patchmerge; the fused stanzas at the end of each patched module say what is patched and when.
"""

import functools
import importlib
import json
import os
import sys
import threading

ARGS_ACCESSOR = {args_accessor!r}
PROBE_PREFIX = {probe_prefix!r}  # None: a tree merged with --no-probes writes no probe line
_LOCK = threading.RLock()
_PENDING = []  # settlers of classes and values, run when the args are set
_STATE = {{"args_ready": False}}
_ORIGINALS = {{}}  # (module, name) -> the object bound before any fused patch, as the adaptor registered it
_MISSING = object()


def unpatched(module_name, name):
    """A patch that is itself a patched name: the runtime registered the object bound before patching."""
    module = importlib.import_module(module_name)
    return _ORIGINALS.get((module_name, name), getattr(module, name))


TAKEN = []  # (target, patch id or "TARGET#original"), in the order the fused branches were first taken


def announce(module_name, branches, taken):
    """Every fused binding reports here once, when it settles, which of its branches it took (each patch that
    applied, or the original when no replacement did): the one place coverage probes hook into. Each branch
    is (target, id, kind, patch_import, condition)."""
    chosen = set(taken)
    for target in dict.fromkeys(branch[0] for branch in branches):
        own = [branch for branch in branches if branch[0] == target]
        if not any(pid in chosen and kind != "wrap" for _, pid, kind, _, _ in own):
            _probe(module_name, target, target + "#original", "", "")
        for _, pid, _, patch_import, condition in own:
            if pid in chosen:
                _probe(module_name, target, pid, patch_import, condition)


def _probe(module_name, target, pid, patch_import, condition):
    TAKEN.append((target, pid))
    if PROBE_PREFIX is None:
        return
    rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK"))
    payload = {{
        "id": pid, "target": target, "patch_import": patch_import, "condition": condition,
        "module": module_name, "rank": rank, "pid": os.getpid(),
    }}
    # one write and a flush per branch and process: a worker killed later loses nothing already taken
    sys.stderr.write(PROBE_PREFIX + " " + json.dumps(payload) + "\\n")
    sys.stderr.flush()


class NotReady(Exception):
    """The args are not parsed yet, so a condition cannot be decided."""


def args():
    """The parsed args, read through the accessor the profile names."""
    module_name, _, attr = ARGS_ACCESSOR.rpartition(".")
    try:
        value = getattr(importlib.import_module(module_name), attr)()
    except Exception as exc:  # the accessor asserts or raises until the args are set
        raise NotReady(str(exc)) from None
    if value is None:
        raise NotReady("args are not set")
    return value


def _rebind_aliases(name, old_values, new_value, skip=None):
    """What the runtime does after patching: every loaded module holding the old object under this name."""
    for module in list(sys.modules.values()):
        if module is None or module is skip:
            continue
        current = getattr(module, name, _MISSING)
        if current is not _MISSING and any(current is old for old in old_values):
            setattr(module, name, new_value)


def fused_function(module_name, name, original, settle, patches=()):
    """A stand-in for a module-level function: settles on first call, then rebinds itself away."""
    module = sys.modules[module_name]
    settled = []
    _ORIGINALS.setdefault((module_name, name), original)

    def final():
        if settled:  # settled already: no lock on the hot path
            return settled[0]
        with _LOCK:
            if not settled:
                result = settle(original)
                settled.append(result)
                if result is None:
                    if getattr(module, name, None) is router:
                        delattr(module, name)
                else:
                    setattr(module, name, result)
                _rebind_aliases(name, [router] + ([original] if original is not None else []), result, module)
            return settled[0]

    def router(*args, **kwargs):
        try:
            target = final()
        except NotReady:
            if original is None:
                raise
            return original(*args, **kwargs)  # used before the args are set: the unpatched function
        if target is None:
            raise AttributeError(f"module {{module_name!r}} has no attribute {{name!r}}")
        return target(*args, **kwargs)

    if original is not None:
        functools.update_wrapper(router, original)
    router.__patchmerge_patches__ = patches
    return router


class _MemberRouter:
    """A stand-in class attribute: the first lookup settles the member and puts the result on the class."""

    def __init__(self, owner, name, raw, original, settle, patches):
        self.owner, self.name, self.raw, self.original, self.settle = owner, name, raw, original, settle
        self.__patchmerge_patches__ = patches
        self.settled = []

    def _final(self):
        if self.settled:
            return self.settled[0]
        with _LOCK:
            if not self.settled:
                result = self.settle(self.original)
                self.settled.append(result)
                if result is None:
                    delattr(self.owner, self.name)
                else:
                    setattr(self.owner, self.name, result)
            return self.settled[0]

    def __get__(self, obj, objtype=None):
        try:
            self._final()
        except NotReady:
            raw = self.raw
            if raw is _MISSING:
                raise AttributeError(self.name) from None
            return raw.__get__(obj, objtype) if hasattr(raw, "__get__") else raw
        return getattr(obj, self.name) if obj is not None else getattr(objtype or self.owner, self.name)


def fused_member(owner, name, settle, patches=()):
    """Patch `owner.name` (a method, static or class method, a member a base class or @dataclass provides, or
    a new one) the way the runtime does: the original is what `getattr(owner, name)` gives."""
    raw = owner.__dict__.get(name, _MISSING)
    if raw is _MISSING:
        for base in owner.__mro__[1:]:
            if name in vars(base):
                raw = vars(base)[name]
                break
    original = getattr(owner, name, None)
    setattr(owner, name, _MemberRouter(owner, name, raw, original, settle, patches))


def fused_value(module_name, name, settle, patches=()):
    """Patch a class or other module-level value when the args are set (now, if they already are)."""
    module = sys.modules[module_name]
    _ORIGINALS.setdefault((module_name, name), getattr(module, name, None))

    def apply():
        old = getattr(module, name, _MISSING)
        result = settle(None if old is _MISSING else old)
        setattr(module, name, result)
        if old is not _MISSING:
            _rebind_aliases(name, [old], result, module)

    apply.__patchmerge_patches__ = patches
    with _LOCK:
        if _STATE["args_ready"]:
            apply()
        else:
            _PENDING.append(apply)


def args_ready():
    """Called by the args setter: settle every pending class and value, in registration order."""
    with _LOCK:
        _STATE["args_ready"] = True
        pending = list(_PENDING)
        _PENDING.clear()
    for apply in pending:
        apply()
'''


def render(args_accessor: str, probe_prefix: str | None) -> str:
    return TEMPLATE.format(args_accessor=args_accessor, probe_prefix=probe_prefix)
