"""The training loop."""

from megatron.core.calllog import record
from megatron.core.distributed import DistributedDataParallel
from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer
from megatron.training.checkpointing import save_checkpoint
from megatron.training.global_vars import get_args
from megatron.training.initialize import initialize_megatron
from megatron.training.utils import calc_params_l2_norm, print_rank_0, unwrap_model


def get_model(model_provider_func, wrap_with_ddp=True):
    record("megatron:get_model")
    model = model_provider_func(pre_process=True, post_process=True)
    if wrap_with_ddp:
        model = DistributedDataParallel(model)
    return [model]


def setup_model_and_optimizer(model_provider_func):
    args = get_args()
    model = get_model(model_provider_func)
    unwrapped_model = unwrap_model(model)
    config = OptimizerConfig(lr=args.lr, weight_decay=args.weight_decay)
    optimizer = get_megatron_optimizer(config, unwrapped_model)
    return model, optimizer


def train_step(forward_step_func, data_iterator, model, optimizer):
    loss = forward_step_func(next(data_iterator), model[0])
    optimizer.step(loss)
    return loss


def pretrain(model_provider, forward_step_func, data_iterator_provider, extra_args_provider=None):
    initialize_megatron(extra_args_provider, ignore_unknown_args=True)
    args = get_args()
    model, optimizer = setup_model_and_optimizer(model_provider)
    data_iterator = data_iterator_provider()
    iteration = 0
    while iteration < args.train_iters:
        iteration += 1
        loss = train_step(forward_step_func, data_iterator, model, optimizer)
        params_norm = calc_params_l2_norm(model)
        print_rank_0(f"iteration {iteration}/{args.train_iters} | loss: {loss:.6f} | params norm: {params_norm:.6f}")
    save_checkpoint(iteration, model, optimizer)
    return model
