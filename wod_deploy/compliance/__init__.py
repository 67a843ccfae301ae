"""Read-only compliance: run each role's component checks on each host (runner), gather them
(model), show them to people and CI (reporters), and add what a converge would change (drift).

Exit codes: 0 compliant, 2 drift, 1 could not check (unreachable host, bad settings, a probe
that failed). An error is never counted as compliant, and it wins over drift.
"""
