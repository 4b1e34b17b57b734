"""The part of the runtime helper only deferred bindings use: their stand-ins, settles and args hooks.

A `str.format` template (doubled braces are literal), appended to `runtime_template.TEMPLATE`'s in-source part
when a merge leaves any binding to the deferred strategy.
"""

DEFERRED_TEMPLATE = '''class NotReady(Exception):
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
        try:  # as the runtime's getattr, a module-level __getattr__ included
            current = getattr(module, name, _MISSING)
        except Exception:  # a module whose __getattr__ fails for this name holds nothing under it
            continue
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
            _rebind_aliases(name, [router, original], result, module)  # a new name's original is None
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
_FINISHED = set()  # modules whose last line ran: still marked as importing while that line runs


def _importing(module_name):
    if module_name in _FINISHED:
        return False
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
    """Called at the end of each module a settle may wait for: run what waited for it. A settle run now may
    import a target whose own settle waits for this module too: it must not wait for a line that has run."""
    with _LOCK:
        _FINISHED.add(module_name)
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
        # a missing name the runtime binds to None first: it rebinds every module holding None under it too
        _rebind_aliases(name, [None if old is _MISSING else old], result, module)

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
