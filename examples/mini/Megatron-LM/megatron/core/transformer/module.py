"""Base class of every model part: call = forward, parameters and a checkpoint state found by walking attributes."""


class MegatronModule:
    def __init__(self, config=None):
        self.config = config

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def _children(self):
        for name, value in vars(self).items():
            if isinstance(value, MegatronModule):
                yield name, value
            elif isinstance(value, list) and value and isinstance(value[0], MegatronModule):
                for index, item in enumerate(value):
                    yield f"{name}.{index}", item

    def parameters(self):
        """Every weight matrix, in construction order."""
        if "weight" in vars(self):
            yield self.weight
        for _, child in self._children():
            yield from child.parameters()

    def state_dict_for_save_checkpoint(self, prefix=""):
        """A checksum per weight (the mini checkpoint), each child asked through its own method."""
        state = {}
        if "weight" in vars(self):
            state[prefix + "weight"] = sum(abs(w) for row in self.weight for w in row)
        for name, child in self._children():
            state.update(child.state_dict_for_save_checkpoint(prefix=f"{prefix}{name}."))
        return state
