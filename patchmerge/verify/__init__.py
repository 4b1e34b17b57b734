"""Tools that prove a fusion faithful: a runtime patcher that does what MindSpeed's patch_utils does."""
