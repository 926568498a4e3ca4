"""Unit tests of the JD Cloud provider package (hook, errors, models, rate limiter)."""
