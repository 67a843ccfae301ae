"""Production: WoD's upstream student count per backend."""
USERMAX = 100
