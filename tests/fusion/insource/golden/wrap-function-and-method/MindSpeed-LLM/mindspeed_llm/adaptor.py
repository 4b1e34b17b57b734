class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed_llm.wrappers import scale_wrapper as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.scale', patch_0)
    pass
    from mindspeed_llm.wrappers import forward_decorator as patch_1
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer.forward', patch_1)
    pass
