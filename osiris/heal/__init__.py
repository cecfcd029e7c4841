"""Healing: incidents, L1 rules, runbooks, the executor and its safety rails."""
