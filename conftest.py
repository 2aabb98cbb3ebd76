"""Fixtures shared by every test in the repository."""

import pytest

pytest_plugins = ["linli_kit.testing"]

# Playwright's sync API keeps its event loop set as running for the rest of the session once a
# browser has started, and every asyncio test after it would fail to start its own.
BROWSER_FIXTURES = {"page", "context", "browser", "playwright"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last, otherwise in the order collected."""
    items.sort(key=lambda item: bool(BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))))
