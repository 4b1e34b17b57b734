"""A mini MindSpeed: the runtime patcher and a few patch implementations for the mini Megatron."""
