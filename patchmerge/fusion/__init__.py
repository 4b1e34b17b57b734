"""Fusing a Plan into the source: strategies build the code, then registrations are disabled, fixups run,
every file is validated, and all files are written in one transaction."""
