"""Saving (the mini checkpoint is a checksum per weight, summed and printed)."""

from megatron.core.calllog import record
from megatron.training.utils import print_rank_0, unwrap_model


def save_checkpoint(iteration, model, optimizer):
    record("megatron:save_checkpoint")
    model = unwrap_model(model)
    state = model[0].state_dict_for_save_checkpoint()
    print_rank_0(
        f"saved checkpoint at iteration {iteration} | {len(state)} tensors | checksum: {sum(state.values()):.6f}"
    )
    return state
