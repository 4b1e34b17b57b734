"""Members of external base classes the tree cannot be read for (torch is never imported), so a patch on a
name they do not have is known to create it rather than assumed to override an inherited one."""

from __future__ import annotations

_OBJECT = frozenset(dir(object))

# torch.nn.Module's public and commonly patched private members (torch 2.x)
_MODULE = frozenset(
    """
    __init__ __call__ __getattr__ __setattr__ __delattr__ __dir__ __repr__ __getstate__ __setstate__
    _call_impl _wrapped_call_impl _apply _named_members _save_to_state_dict _load_from_state_dict
    _register_state_dict_hook _register_load_state_dict_pre_hook _get_name _get_backward_hooks
    _replicate_for_data_parallel _slow_forward _version forward extra_repr
    add_module register_module register_buffer register_parameter get_submodule get_parameter get_buffer
    get_extra_state set_extra_state apply cuda ipu xpu mtia cpu type float double half bfloat16 to to_empty
    register_forward_hook register_forward_pre_hook register_backward_hook register_full_backward_hook
    register_full_backward_pre_hook register_state_dict_pre_hook register_state_dict_post_hook
    register_load_state_dict_pre_hook register_load_state_dict_post_hook
    state_dict load_state_dict parameters named_parameters buffers named_buffers children named_children
    modules named_modules train eval requires_grad_ zero_grad share_memory compile
    training dump_patches call_super_init T_destination
    """.split()
)

# torch.autograd.Function
_FUNCTION = frozenset(
    """
    __init__ __call__ forward backward apply setup_context jvp vjp vmap mark_dirty mark_non_differentiable
    save_for_backward save_for_forward set_materialize_grads generate_vmap_rule
    """.split()
)

KNOWN = {
    "torch.nn.Module": _MODULE,
    "torch.nn.modules.module.Module": _MODULE,
    "torch.autograd.Function": _FUNCTION,
    "torch.autograd.function.Function": _FUNCTION,
}


def known_has(origin: str, name: str) -> bool | None:
    """Whether the external class `origin` has `name`; None when we do not know that class."""
    members = KNOWN.get(origin)
    if members is None:
        return None
    return name in members or name in _OBJECT
