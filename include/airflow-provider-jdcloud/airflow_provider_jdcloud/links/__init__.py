"""Operator extra links: console pages of the resources a task created or adopted."""
