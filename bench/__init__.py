"""`make bench`: wod-deploy measured beside upstream's Ansible on throwaway hosts (bench/run.py)."""
