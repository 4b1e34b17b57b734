"""`check`: merge into a workspace, run the model shell there, decide by the expected line, then coverage."""
