"""A mini MindSpeed-LLM: the adaptor that patches the mini Megatron, and the patch implementations."""
