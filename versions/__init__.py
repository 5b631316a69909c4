"""Version store (git) and audit trail (database) for SOP documents."""
