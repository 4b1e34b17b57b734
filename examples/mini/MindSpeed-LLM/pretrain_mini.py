"""Pretrain a mini GPT: the model script of patchmerge's bundled example (what pretrain_gpt.py is to MindSpeed-LLM).

Megatron is imported first, before any argument is parsed, as in a real pretrain script. Then MindSpeed-LLM's
adaptation patches it at run time, unless MINI_NO_PATCHES=1 (how a tree with the patches fused into its source runs).
Prints one loss line per iteration, a checkpoint checksum and the call log.
"""

import os

import megatron.legacy.model
from megatron.core import calllog, parallel_state
from megatron.core.models.gpt import GPTModel
from megatron.core.models.gpt.gpt_layer_specs import (
    get_gpt_layer_local_spec,
    get_gpt_layer_with_transformer_engine_spec,
)
from megatron.training import get_args, pretrain
from megatron.training.arguments import core_transformer_config_from_args


def model_provider(pre_process=True, post_process=True):
    args = get_args()
    config = core_transformer_config_from_args(args)
    if args.use_legacy_models:
        return megatron.legacy.model.GPTModel(config, pre_process=pre_process, post_process=post_process)
    if args.transformer_impl == "local":
        spec = get_gpt_layer_local_spec(args.num_experts)
    else:
        spec = get_gpt_layer_with_transformer_engine_spec(args.num_experts)
    return GPTModel(config, spec, pre_process=pre_process, post_process=post_process)


def data_iterator_provider():
    args = get_args()

    def batches():
        step = 0
        while True:
            step += 1
            hidden = [
                [((s * 5 + h * 3 + step + args.seed) % 7 - 3) / 4 for h in range(args.hidden_size)]
                for s in range(args.seq_length)
            ]
            labels = [
                [((s + h * 2 + step) % 5 - 2) / 5 for h in range(args.hidden_size)] for s in range(args.seq_length)
            ]
            yield hidden, labels

    return batches()


def forward_step(batch, model):
    hidden, labels = batch
    return model(hidden, labels=labels)


def main():
    if os.environ.get("MINI_NO_PATCHES") != "1":
        from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation

        MegatronAdaptation.execute()
    pretrain(model_provider, forward_step, data_iterator_provider)
    parallel_state.destroy_model_parallel()
    print(calllog.summary(), flush=True)


if __name__ == "__main__":
    main()
