"""Hooks of the JD Cloud provider."""
