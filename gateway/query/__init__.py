"""Query service: FastAPI app over the audit store and control plane."""
