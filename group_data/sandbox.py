"""Sandbox: a small backend for trying workshops."""
USERMAX = 10
