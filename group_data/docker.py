"""Throwaway Docker hosts (inventories/docker.py): small, with the test workshops and hooks."""

WODNOBO = "tests/fixtures/workshops"
WORKSHOP_PORTS = {"WKSHP-Test101": {"HTTPPORT": 20000}}
HOOKS_DIR = "tests/fixtures/hooks"
