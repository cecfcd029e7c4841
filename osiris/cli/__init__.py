"""The command line: one module per command group; parsing, prompts and output only."""
