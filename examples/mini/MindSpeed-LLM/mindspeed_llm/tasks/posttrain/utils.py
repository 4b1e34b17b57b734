def is_enable_qlora(args):
    return bool(getattr(args, "qlora", False))
