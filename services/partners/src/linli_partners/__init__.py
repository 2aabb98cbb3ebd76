"""Linli partners service: enterprises, agreements, eligibility checks and the CSR board (E1-E3)."""
