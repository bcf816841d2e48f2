"""Control plane: tenants, agents, tasks, API keys (SQLAlchemy 2)."""
