class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed_llm.fast import scale_fast as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.scale', patch_0)
    pass
