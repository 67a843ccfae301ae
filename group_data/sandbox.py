"""Sandbox: a small backend for trying workshops."""
USERMAX = 10
# a sandbox on a private network: the backend calls its api-db back in plain HTTP (the URL is
# derived from the inventory's api_db host); never for a site that faces participants
WODAPIDB_ALLOW_HTTP = True
