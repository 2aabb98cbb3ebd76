"""Fixtures shared by every test in the repository."""

import pytest

pytest_plugins = ["linli_kit.testing"]

# Playwright's sync API keeps its event loop set as running for the rest of the session once a
# browser has started, and every asyncio test after it would fail to start its own.
BROWSER_FIXTURES = {"page", "context", "browser", "playwright"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with browser tests last, each whole (its module fixtures once); else as collected."""
    browser_modules = {
        item.path for item in items if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))
    }
    first: dict[object, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)

    def place(item: pytest.Item) -> tuple[int, int]:
        return (1, first[item.path]) if item.path in browser_modules else (0, 0)

    items.sort(key=place)
