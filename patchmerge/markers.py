"""Text a merge writes into the tree, shared by the stage that writes it and the stages that read it back."""

# The folder under ROOT_DIR that holds patchmerge's own state: backups and manifests, reports, check workspaces,
# bisect state, the collected patch JSON.
STATE_DIR = ".patchmerge"

# The name fused modules import the runtime helper under (`import megatron._patchmerge as _patchmerge`).
HELPER_ALIAS = "_patchmerge"

# Opens the block a merge appends to a module. Reading source for resolution stops here, so a merged tree
# resolves to the definitions it had before the merge (and a second merge recognises what it fused).
FUSED_BLOCK_START = "# ---- patchmerge: fused MindSpeed patches (generated; `patchmerge undo` restores this file) ----"


def without_fused_block(data: bytes) -> bytes:
    at = data.find(FUSED_BLOCK_START.encode())
    return data if at < 0 else data[:at]
