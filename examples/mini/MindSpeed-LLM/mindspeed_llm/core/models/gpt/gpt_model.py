"""MindSpeed-LLM's GPT model: Megatron's, plus an auxiliary z-loss on the output."""

from megatron.core.calllog import record
from megatron.core.models.gpt.gpt_model import GPTModel as MegatronCoreGPTModel


class GPTModel(MegatronCoreGPTModel):
    def __init__(self, config, transformer_layer_spec, pre_process=True, post_process=True):
        super().__init__(config, transformer_layer_spec, pre_process=pre_process, post_process=post_process)
        record("mindspeed_llm:GPTModel.__init__")
        self.z_loss_coeff = 0.05

    def compute_loss(self, output, labels):
        record("mindspeed_llm:GPTModel.compute_loss")
        values = [x for row in output for x in row]
        return super().compute_loss(output, labels) + self.z_loss_coeff * sum(x * x for x in values) / len(values)
