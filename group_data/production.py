"""Production: WoD's upstream student count per backend."""
USERMAX = 100
# The backends call the api-db back with its password: over HTTPS, through the TLS proxy in front
# of it (README, "HTTPS to the api-db"); derived from the inventory it would be plain HTTP.
WODAPIDBURL = "https://wod-api.production.example.org/api"
