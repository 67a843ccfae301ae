"""Throwaway Docker hosts (inventories/docker.py): the defaults, small and fast."""
