"""Planner, channels, delivery ledger, KPIs and statistics. Imports only sop_models."""
