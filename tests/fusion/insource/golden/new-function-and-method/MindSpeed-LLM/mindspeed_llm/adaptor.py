class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed.extra import limit as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.limit', patch_0)
    pass
    from mindspeed.extra import describe as patch_1
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer.describe', patch_1)
    pass
