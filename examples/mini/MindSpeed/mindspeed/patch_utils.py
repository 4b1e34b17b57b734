"""Runtime monkey-patching with the semantics of MindSpeed 2.1.0 (the example's reference behaviour).

One ``Patch`` per dotted target collects its registrations:

* a new function whose ``__name__`` ends with ``wrapper`` or ``decorator`` is a wrapper, kept in registration
  order; anything else is the replacement, and a second replacement raises unless ``force_patch`` is given;
* applying builds ``final = replacement or original`` and then ``final = wrapper(final)`` for each wrapper in order
  (the first registered wrapper is innermost), once;
* the original is looked up when the patch is applied (not when it is registered), so a patch applied again after a
  new registration starts from whatever is bound at that moment;
* ``final`` is set on the owner (module or class), then on every loaded module that holds the original object under
  the same name (the ``from x import f`` aliases);
* a missing attribute of a module is created (bound to None first); a missing attribute of a class needs
  ``create_dummy``, which stands a function that raises in for the original.
"""

import importlib
import sys
import types

WRAPPER_SUFFIXES = ("wrapper", "decorator")


def dummy_function_wrapper(func_name):
    def dummy_function(*args, **kwargs):
        raise RuntimeError(f"function {func_name} does not exist")

    return dummy_function


def is_wrapper(func):
    return getattr(func, "__name__", "").endswith(WRAPPER_SUFFIXES)


def _import_longest_prefix(parts):
    """Import the longest importable prefix of ``parts[:-1]``; return (module, how many parts it used)."""
    for end in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:end])
        try:
            return importlib.import_module(name), end
        except ModuleNotFoundError as exc:
            # A module that exists but fails to import one of its own dependencies is an error, not a shorter prefix.
            if exc.name is None or not name.startswith(exc.name):
                raise
    raise ModuleNotFoundError(f"no importable module in {'.'.join(parts)}")


class Patch:
    def __init__(self, orig_func_name, new_func, create_dummy=False):
        self.target = orig_func_name
        self.owner_path, _, self.attr_name = orig_func_name.rpartition(".")
        self.create_dummy = create_dummy
        self.orig_owner = None
        self.orig_func = None
        self.patch_func = None
        self.wrappers = []
        self.is_applied = False
        self.set_patch_func(new_func if new_func is not None else dummy_function_wrapper(orig_func_name))

    def set_patch_func(self, new_func, force_patch=False):
        if is_wrapper(new_func):
            self.wrappers.append(new_func)
        else:
            if self.patch_func is not None and not force_patch:
                raise RuntimeError(f"the patch of {self.attr_name} exist !")  # MindSpeed's own words
            self.patch_func = new_func
        self.is_applied = False

    def resolve(self):
        """(owner, what the target is bound to now), creating the attribute where the rules above say so."""
        parts = self.target.split(".")
        owner, used = _import_longest_prefix(parts)
        for part in parts[used:-1]:
            owner = getattr(owner, part)
        if hasattr(owner, self.attr_name):
            return owner, getattr(owner, self.attr_name)
        if isinstance(owner, types.ModuleType):
            setattr(owner, self.attr_name, None)
            return owner, None
        if self.create_dummy:
            return owner, dummy_function_wrapper(self.target)
        raise RuntimeError(f"{owner!r} has no attribute {self.attr_name} (register it with create_dummy=True)")

    def apply_patch(self):
        if self.is_applied:
            return
        self.orig_owner, self.orig_func = self.resolve()
        final = self.patch_func if self.patch_func is not None else self.orig_func
        for wrapper in self.wrappers:
            final = wrapper(final)
        setattr(self.orig_owner, self.attr_name, final)
        for module in sys.modules.copy().values():
            try:
                holds_original = getattr(module, self.attr_name) is self.orig_func
            except Exception:  # a module without the name, or one whose getattr misbehaves
                continue
            if holds_original:
                setattr(module, self.attr_name, final)
        self.is_applied = True


class MindSpeedPatchesManager:
    patches_info = {}

    @staticmethod
    def register_patch(orig_func_name, new_func=None, force_patch=False, create_dummy=False):
        patch = MindSpeedPatchesManager.patches_info.get(orig_func_name)
        if patch is None:
            MindSpeedPatchesManager.patches_info[orig_func_name] = Patch(orig_func_name, new_func, create_dummy)
        else:
            patch.set_patch_func(new_func if new_func is not None else dummy_function_wrapper(orig_func_name),
                                 force_patch)

    @staticmethod
    def apply_patches():
        for patch in MindSpeedPatchesManager.patches_info.values():
            patch.apply_patch()
