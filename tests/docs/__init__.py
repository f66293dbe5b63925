"""The documentation checked against the code: README.md and docs/ stay true and self-contained."""
