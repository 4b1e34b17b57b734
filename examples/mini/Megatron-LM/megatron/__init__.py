"""A mini Megatron-LM: pure Python, a few hundred lines, shaped like the real tree for patchmerge's example."""
