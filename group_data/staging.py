"""Staging: production's shape, fewer students."""
USERMAX = 50
