"""Throwaway Docker hosts (inventories/docker.py): small, with the test workshops."""

WODNOBO = "tests/fixtures/workshops"
WORKSHOP_PORTS = {"WKSHP-Test101": {"HTTPPORT": 20000}}
