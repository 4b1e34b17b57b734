"""Helpers of the MindSpore adaptation."""

from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation


def reset_patch(original_func_name):
    """Drop the wrappers registered on a target: the MindSpore adaptation registers its own in their place."""
    target_patch = MegatronAdaptation._patch_info_collection[original_func_name]
    target_patch.wrappers = []
