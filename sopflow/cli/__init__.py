"""The `sop` command line."""
