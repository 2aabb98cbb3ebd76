"""Linli shared runtime used by every service."""
