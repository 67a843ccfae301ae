"""Staging: production's shape, fewer students."""
USERMAX = 50
# as production: the api-db called back over HTTPS, through its TLS proxy
WODAPIDBURL = "https://wod-api.staging.example.org/api"
