class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed.layers import Layer2D as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer', patch_0)
    pass
    from mindspeed.layers import Layer as patch_1
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer', patch_1)
    pass
