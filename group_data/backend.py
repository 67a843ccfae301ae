"""Backend role: nothing beyond all.py yet; role-wide overrides go here."""
