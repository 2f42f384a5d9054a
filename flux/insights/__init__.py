"""Deterministic plain-language insights: sentences about a project's events and metrics whose every
number Flux computed itself, each linked to the API query that gives it (see docs/insights.md)."""
