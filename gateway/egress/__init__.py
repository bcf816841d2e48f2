"""Egress decisions: the real destination, the policy verdict, the refusal body."""
