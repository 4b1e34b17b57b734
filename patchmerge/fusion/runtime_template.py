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
# each in-source branch's patch_import and condition (TARGET#INDEX -> (patch_import, condition)), for its probe
BRANCHES = {branches!r}
_LOCK = threading.RLock()  # guards the pending classes and values; each fused binding has its own lock
_PENDING = []  # settlers of classes and values, run when the args are set
_STATE = {{"args_ready": False}}
_ORIGINALS = {{}}  # (module, name) -> the object bound before any fused patch, as the adaptor registered it
_MISSING = object()
_INHERITED = object()  # a routed inherited member that no patch changed: it is looked up on the base again


def unpatched(module_name, name):
    """A patch that is itself a patched name: the runtime registered the object bound before patching."""
    module = importlib.import_module(module_name)
    return _ORIGINALS.get((module_name, name), getattr(module, name))


TAKEN = []  # (target, patch id or "TARGET#original"), in the order the fused branches were first taken


_RAN = set()  # first branch id of each in-source binding that has run in this process


def first_run(module_name, *ids):
    """An in-source fused definition runs: the first time, probe each branch it holds (TARGET#INDEX, or
    TARGET#original when no replacement applies). After that a call costs one set lookup."""
    if ids[0] in _RAN:
        return
    _RAN.add(ids[0])
    for pid in ids:
        _probe(module_name, pid.rpartition("#")[0], pid, *BRANCHES.get(pid, ("", "")))


_SELECTED = set()  # conditional branches chosen when their module was imported


def select(*ids):
    """A conditional branch was chosen at import: the first run of its code is now a run of that branch."""
    _SELECTED.update(ids)


def first_run_selected(module_name, *ids):
    """`first_run` for the code of a conditional branch, which MindSpeed code may also call directly: only a
    run of the branch that was chosen counts."""
    if ids[0] in _RAN or ids[0] not in _SELECTED:
        return
    first_run(module_name, *ids)


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


_ADAPTATION_ARGS = []


def adaptation_args():
    """The args the adaptor parses itself from the command line (its parse_known_args of sys.argv), for the
    options fused conditions read, as its parser defines them: parsed once per process, no later than the first
    import of a module whose fused definitions depend on them."""
    if not _ADAPTATION_ARGS:
        import argparse

        parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
{adaptor_options}
        _ADAPTATION_ARGS.append(parser.parse_known_args(sys.argv[1:])[0])
    return _ADAPTATION_ARGS[0]


class NotReady(Exception):
    """The args are not parsed yet, so a condition cannot be decided."""


def args():
    """The parsed args, read through the accessor the profile names."""
    module_name, _, attr = ARGS_ACCESSOR.rpartition(".")
    accessor = getattr(importlib.import_module(module_name), attr)  # an import failure is a real error
    try:
        value = accessor()
    except RecursionError:
        raise
    except (AssertionError, RuntimeError, ValueError, AttributeError, KeyError) as exc:
        raise NotReady(str(exc)) from None  # the accessor asserts or raises until the args are set
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


def _keep_renamed_originals(router, original, name, patches):
    """A patch module that imported the target under another name (`from m import f as megatron_f`) did so
    before the runtime patched: it holds the original, so its stand-in there becomes the original again."""
    for _, patch_import in patches:
        parts = patch_import.split(".")
        for end in range(len(parts) - 1, 0, -1):
            holder = sys.modules.get(".".join(parts[:end]))
            if holder is not None:
                break
        else:
            continue
        for attr, value in list(vars(holder).items()):
            if value is router and attr != name:
                setattr(holder, attr, original)


class _Settling(Exception):
    """A patch used its own target while its chain was being built: the runtime still had the original there."""


def fused_function(module_name, name, original, settle, patches=()):
    """A stand-in for a module-level function: settles on first call, then rebinds itself away."""
    module = sys.modules[module_name]
    settled = []
    settling = []
    # one lock per binding: a settle imports patch modules, and a global lock held across imports could
    # deadlock with another thread importing one of them and calling a different fused function meanwhile
    lock = threading.RLock()
    _ORIGINALS.setdefault((module_name, name), original)

    def final():
        if settled:  # settled already: no lock on the hot path
            return settled[0]
        with lock:
            if settled:
                return settled[0]
            if settling:
                raise _Settling
            settling.append(True)
            try:
                result = settle(original)
            finally:
                settling.clear()
            settled.append(result)
            if result is None:
                if getattr(module, name, None) is router:
                    delattr(module, name)
            else:
                setattr(module, name, result)
            _rebind_aliases(name, [router] + ([original] if original is not None else []), result, module)
            if original is not None:
                _keep_renamed_originals(router, original, name, patches)
            return result

    def router(*args, **kwargs):
        try:
            target = final()
        except (NotReady, _Settling):
            if original is None:
                raise AttributeError(f"module {{module_name!r}} has no attribute {{name!r}}") from None
            return original(*args, **kwargs)  # before the args are set, or while settling: the original
        if target is None:
            raise AttributeError(f"module {{module_name!r}} has no attribute {{name!r}}")
        return target(*args, **kwargs)

    if original is not None:
        functools.update_wrapper(router, original)
    else:
        router.__name__ = router.__qualname__ = name
        router.__module__ = module_name
    router.__patchmerge_patches__ = patches
    return router


def _bind(descriptor, obj, objtype):
    """What looking the attribute up gives when `descriptor` is the class attribute."""
    get = getattr(type(descriptor), "__get__", None)
    return get(descriptor, obj, objtype) if get is not None else descriptor


class _MemberRouter:
    """A stand-in class attribute: the first lookup settles the member and puts the result on the class.

    Lookups that reach the stand-in (the first one, a reference taken before, `super()`) bind the settled object
    directly, never by looking the name up again, which could find a subclass's override."""

    def __init__(self, owner, name, raw, settle, patches):
        self.owner, self.name, self.raw, self.settle = owner, name, raw, settle
        self.own = raw is not _MISSING and owner.__dict__.get(name) is raw
        self.__patchmerge_patches__ = patches
        self.settled = []
        self.settling = []
        self.lock = threading.RLock()  # per binding, as for functions

    def _original(self):
        # what getattr(owner, name) gives now: the runtime's original (an inherited member may be patched too)
        if self.own:
            return _bind(self.raw, None, self.owner)
        return getattr(super(self.owner, self.owner), self.name, None)

    def _final(self):
        """The object now bound on the owner (the raw member when no patch applied)."""
        if self.settled:
            return self.settled[0]
        with self.lock:
            if self.settled:
                return self.settled[0]
            if self.settling:
                raise _Settling
            self.settling.append(True)
            try:
                original = self._original()
                result = self.settle(original)
            finally:
                self.settling.clear()
            if result is original:  # no patch applied: leave the member as it was (descriptor and all)
                if self.own:
                    setattr(self.owner, self.name, self.raw)
                    result = self.raw
                else:
                    delattr(self.owner, self.name)
                    result = _INHERITED
            elif result is None:
                delattr(self.owner, self.name)
            else:
                setattr(self.owner, self.name, result)
            self.settled.append(result)
            return result

    def __get__(self, obj, objtype=None):
        try:
            descriptor = self._final()
        except (NotReady, _Settling):
            descriptor = self.raw
        if descriptor is _INHERITED:
            descriptor = self.raw
        if descriptor is _MISSING or descriptor is None:
            raise AttributeError(self.name)
        return _bind(descriptor, obj, objtype)


class _DataMemberRouter(_MemberRouter):
    """The stand-in for a data descriptor (a property): assignment and deletion go through it too."""

    def _descriptor(self):
        try:
            descriptor = self._final()
        except (NotReady, _Settling):
            descriptor = self.raw
        return self.raw if descriptor is _INHERITED else descriptor

    def __set__(self, obj, value):
        descriptor = self._descriptor()
        setter = getattr(type(descriptor), "__set__", None)
        if setter is None:
            obj.__dict__[self.name] = value
        else:
            setter(descriptor, obj, value)

    def __delete__(self, obj):
        descriptor = self._descriptor()
        deleter = getattr(type(descriptor), "__delete__", None)
        if deleter is None:
            del obj.__dict__[self.name]
        else:
            deleter(descriptor, obj)


def fused_member(owner, name, settle, patches=()):
    """Patch `owner.name` (a method, static or class method, property, a member a base class or @dataclass
    provides, or a new one) the way the runtime does: the original is what `getattr(owner, name)` gives."""
    raw = owner.__dict__.get(name, _MISSING)
    if raw is _MISSING:
        for base in owner.__mro__[1:]:
            if name in vars(base):
                raw = vars(base)[name]
                break
    data = raw is not _MISSING and hasattr(type(raw), "__set__")
    router = (_DataMemberRouter if data else _MemberRouter)(owner, name, raw, settle, patches)
    setattr(owner, name, router)


_WAITING = {{}}  # module still being imported -> settles that import patches from it


def _importing(module_name):
    spec = getattr(sys.modules.get(module_name), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _when_imported(apply, waits_for):
    """Run `apply` now, or once every module it imports patches from has finished importing (a patch module
    imported first imports its target, whose settle must not import the half-imported patch module)."""
    busy = [name for name in waits_for if _importing(name)]
    if busy:
        with _LOCK:
            _WAITING.setdefault(busy[0], []).append((apply, waits_for))
    else:
        apply()


def module_ready(module_name):
    """Called at the end of each patch module a settle may wait for: run what waited for it."""
    with _LOCK:
        waiting = _WAITING.pop(module_name, [])
    for apply, waits_for in waiting:
        _when_imported(apply, [name for name in waits_for if name != module_name])


def fused_value(module_name, name, settle, patches=(), waits_for=()):
    """Patch a class or other module-level value when the args are set (now, if they already are)."""
    module = sys.modules[module_name]
    _ORIGINALS.setdefault((module_name, name), getattr(module, name, None))

    def apply():
        old = getattr(module, name, _MISSING)
        result = settle(None if old is _MISSING else old)
        if old is _MISSING and result is None:
            return  # a new name whose condition does not hold: the runtime creates nothing
        setattr(module, name, result)
        if old is not _MISSING:
            _rebind_aliases(name, [old], result, module)

    apply.__patchmerge_patches__ = patches
    apply.__patchmerge_waits_for__ = waits_for
    with _LOCK:
        ready = _STATE["args_ready"]
        if not ready:
            _PENDING.append(apply)
    if ready:
        _when_imported(apply, waits_for)


def args_ready():
    """Called by the args setter: settle every pending class and value, in registration order."""
    with _LOCK:
        _STATE["args_ready"] = True
        pending = list(_PENDING)
        _PENDING.clear()
    for apply in pending:
        _when_imported(apply, getattr(apply, "__patchmerge_waits_for__", ()))
'''


# what only deferred bindings use (their stand-ins, settles and args hooks) starts here
_DEFERRED_PART = "class NotReady(Exception):"


def render(
    args_accessor: str,
    probe_prefix: str | None,
    adaptor_options: str = "",
    branches: dict[str, tuple[str, str]] | None = None,
    deferred: bool = True,
) -> str:
    """The helper module; `adaptor_options` is the body that adds the options fused conditions read, `branches`
    the patch_import and condition of each in-source branch its probes name."""
    options = "\n".join("    " + line if line else line for line in (adaptor_options or "    pass").splitlines())
    template = TEMPLATE if deferred else TEMPLATE[: TEMPLATE.index(_DEFERRED_PART)].rstrip() + "\n"
    return template.format(
        args_accessor=args_accessor,
        probe_prefix=probe_prefix,
        adaptor_options=options,
        branches=dict(sorted((branches or {}).items())) if probe_prefix is not None else {},
    )
