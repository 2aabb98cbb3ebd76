"""The HTTP side: pages (HTML), the JSON API under /api/v1, and the command line."""
