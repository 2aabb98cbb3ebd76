"""Fixtures shared by every test in the repository."""

pytest_plugins = ["linli_kit.testing"]
