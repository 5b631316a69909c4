"""Prefect flows wiring the engine and the version store together."""
