class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed.layer import forward as patch_0
    # patchmerge: fused: MegatronAdaptation.register('megatron.core.ops.Layer.forward', patch_0)
    pass
