"""Megatron core of the mini tree."""
