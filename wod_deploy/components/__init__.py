"""One module per thing a WoD host runs. Each has `deploy(settings)` (pyinfra operations) and
`checks(settings, probe)` (read-only, from the same settings and renderers); roles.py orders them."""
