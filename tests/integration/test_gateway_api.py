"""schemathesis over the gateway's OpenAPI document, against the real gateway and services.

Every operation of /api/v1 is called with generated requests by a signed-in resident (their
session cookie and CSRF token): no answer is a 5xx and every answer matches the document
(status, content type, body schema; errors are problem+json). Bounded for `make test`:
LINLI_GATEWAY_API_EXAMPLES examples per operation (default 12).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("LINLI_GATEWAY_API_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_session(gateway_people) -> Iterator[requests.Session]:  # type: ignore[no-untyped-def]
    """A requests session carrying a signed-in resident's cookie, and its CSRF token."""
    people = gateway_people
    page = people.page_of(people.resident("冯雪", org_unit="grid-api/b1"))
    session = requests.Session()
    for cookie in page.context.cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    token = session.get(f"{people.gateway.url}/api/v1/session", timeout=10).json()["csrf_token"]
    session.headers["X-CSRF-Token"] = token
    yield session
    session.close()


def test_every_answer_matches_the_document_and_none_is_a_5xx(
    gateway, api_session: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_url(f"{gateway.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=gateway.url, session=api_session, checks=CHECKS, timeout=30
            )

        call()
