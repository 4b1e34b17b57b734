class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed.routes import scale_tp2d as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.scale', patch_0)
    pass
    from mindspeed.routes import scale_wrapper as patch_1
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.scale', patch_1)
    pass
    from mindspeed.routes import forward as patch_2
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer.forward', patch_2)
    pass
