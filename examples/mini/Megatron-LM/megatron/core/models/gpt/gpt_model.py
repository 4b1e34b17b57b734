"""The GPT model of Megatron core: decoder block, output layer, mean-squared-error loss."""

from megatron.core.calllog import record
from megatron.core.tensor_parallel.layers import ColumnParallelLinear
from megatron.core.transformer.module import MegatronModule
from megatron.core.transformer.transformer_block import TransformerBlock
from megatron.core.utils import mean_squared_error


class GPTModel(MegatronModule):
    def __init__(self, config, transformer_layer_spec, pre_process=True, post_process=True):
        super().__init__(config)
        record("megatron:GPTModel.__init__")
        self.pre_process = pre_process
        self.post_process = post_process
        self.decoder = TransformerBlock(config, transformer_layer_spec)
        self.output_layer = ColumnParallelLinear(config.hidden_size, config.hidden_size, config=config, salt=7)

    def forward(self, hidden_states, labels=None):
        record("megatron:GPTModel.forward")
        output = self.output_layer(self.decoder(hidden_states))
        if labels is None:
            return output
        return self.compute_loss(output, labels)

    def compute_loss(self, output, labels):
        return mean_squared_error(output, labels)
