class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from megatron.core.ops import scale as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.caller', patch_0)
    pass
    from mindspeed_llm.wrappers import scale_wrapper as patch_1
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.scale', patch_1)
    pass
