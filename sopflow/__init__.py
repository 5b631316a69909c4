"""Wiring layer: settings, workspace bootstrap, database, CLI."""
