"""What the gateway does besides mapping a request onto one call (no framework, no I/O)."""
