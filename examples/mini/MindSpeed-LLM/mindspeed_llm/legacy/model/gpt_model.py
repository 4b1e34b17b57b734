"""MindSpeed-LLM's legacy GPT model: a class of its own with Megatron's name."""

from megatron.core.calllog import record
from megatron.core.tensor_parallel.layers import ColumnParallelLinear
from megatron.core.transformer.module import MegatronModule
from megatron.core.utils import mean_squared_error
from megatron.legacy.model.transformer import ParallelTransformer


class GPTModel(MegatronModule):
    def __init__(self, config, pre_process=True, post_process=True):
        super().__init__(config)
        record("mindspeed_llm:legacy.GPTModel.__init__")
        self.language_model = ParallelTransformer(config)
        self.output_layer = ColumnParallelLinear(config.hidden_size, config.hidden_size, config=config, salt=8)

    def forward(self, hidden_states, labels=None):
        record("mindspeed_llm:legacy.GPTModel.forward")
        output = self.output_layer(self.language_model(hidden_states))
        return output if labels is None else mean_squared_error(output, labels)
