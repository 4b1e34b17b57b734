from megatron.core.ops import LIMIT


# patchmerge: limit moved to megatron.core.ops.limit
from megatron.core.ops import limit


# patchmerge: describe moved to megatron.core.ops.Layer.describe
from megatron.core.ops import Layer
describe = Layer.describe
