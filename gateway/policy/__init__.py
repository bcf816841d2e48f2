"""Policy: bundle building, the OPA process and the decision client."""
