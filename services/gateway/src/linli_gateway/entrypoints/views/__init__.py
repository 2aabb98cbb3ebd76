"""What a page and its JSON counterpart both show: pydantic models filled from the services."""
