"""The gateway's own rules without any service: languages, CSRF, errors, limits, assets."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from linli_gateway.config import GatewaySettings
from linli_gateway.entrypoints.pages.login import local_path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "linli_gateway"
ROOT = Path(__file__).resolve().parents[4]


def test_pages_are_in_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "欢迎来到邻里" in page.text
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Welcome to Linli" in english.text
    assert "lang=en" in english.headers["set-cookie"]
    assert "Welcome to Linli" in client.get("/").text  # the choice is kept


@pytest.mark.parametrize("path", ["/login", "/login/staff", "/login?next=//evil.example"])
def test_sign_in_pages_render(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert "evil" not in page.text


def test_session_cookie_is_httponly_and_samesite_lax(client: TestClient) -> None:
    cookie = client.get("/").headers["set-cookie"].lower()
    assert cookie.startswith("linli_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_secure_cookie_by_default(settings: GatewaySettings) -> None:
    from linli_gateway.bootstrap import build_app

    secure = settings.model_copy(update={"cookie_secure": True})
    with TestClient(build_app(secure), base_url="https://127.0.0.1") as client:
        assert "secure" in client.get("/").headers["set-cookie"].lower()


def _token(client: TestClient) -> str:
    return str(client.get("/api/v1/session").json()["csrf_token"])


def test_a_form_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    _token(client)
    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "表单已过期" in refused.text and "Traceback" not in refused.text
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_a_form_with_the_sessions_token_passes(client: TestClient) -> None:
    token = _token(client)
    done = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    header = client.post(
        "/logout", headers={"X-CSRF-Token": _token(client)}, follow_redirects=False
    )
    assert header.status_code == 303


def test_another_sessions_token_is_refused(client: TestClient, settings: GatewaySettings) -> None:
    from linli_gateway.bootstrap import build_app

    with TestClient(build_app(settings), base_url="http://127.0.0.1") as other:
        theirs = _token(other)
    _token(client)
    assert client.post("/logout", data={"csrf_token": theirs}).status_code == 403


def test_api_errors_are_problem_json(client: TestClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "about:blank", "title": "未找到", "status": 404, "detail": "", "code": "",
    }  # fmt: skip
    refused = client.post("/api/v1/session")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_page_error_is_a_friendly_page(client: TestClient) -> None:
    missing = client.get("/no-such-page?lang=en")
    assert missing.status_code == 404
    assert "<h1>Not found</h1>" in missing.text and "Back to the start page" in missing.text


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, settings: GatewaySettings
) -> None:
    big = b"x" * (settings.max_body_bytes + 1)
    assert client.post("/logout", content=big).status_code == 413
    api = client.post("/api/v1/me/redemptions", content=big)
    assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/me", "/me"), ("/me?x=1", "/me?x=1"), ("//evil.example", "/me"),
     ("https://evil.example", "/me"), ("/\\evil", "/me"), ("", "/me"), (None, "/me")],
)  # fmt: skip
def test_after_signing_in_only_a_local_path(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_settings_need_a_session_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="session_secret"):
        GatewaySettings(community="demo")
    with pytest.raises(ValueError, match="at least 32"):
        GatewaySettings(community="demo", session_secret="short")


def _catalogue(locale: str) -> Path:
    return PACKAGE / "locale" / locale / "LC_MESSAGES"


def test_every_message_has_a_chinese_translation() -> None:
    with (_catalogue("zh_CN") / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    assert untranslated == [], "translate these in zh_CN/messages.po"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_compiled_catalogues_match_their_po(locale: str) -> None:
    with (_catalogue(locale) / "messages.po").open("rb") as po:
        source = {m.id: m.string for m in read_po(po) if m.id and m.string}
    compiled = read_mo(io.BytesIO((_catalogue(locale) / "messages.mo").read_bytes()))
    assert {m.id: m.string for m in compiled if m.id} == source, "run make gateway-mo"


def test_templates_use_no_message_missing_from_the_catalogue() -> None:
    with (_catalogue("zh_CN") / "messages.po").open("rb") as po:
        known = {m.id for m in read_po(po) if m.id}
    used = set()
    for template in (PACKAGE / "templates").rglob("*.html"):
        used |= set(re.findall(r'_\("([^"]+)"', template.read_text()))
    assert used - known == set(), "run make gateway-messages"


@pytest.mark.parametrize(
    ("package", "dist", "vendored"),
    [("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
     ("htmx-ext-sse", "dist/sse.min.js", "htmx-ext-sse.js")],
)  # fmt: skip
def test_vendored_htmx_is_npms_major_2(package: str, dist: str, vendored: str) -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = lock["packages"][f"node_modules/{package}"]["version"]
    assert version.startswith("2."), f"{package} {version}: the pages are written for htmx 2"
    installed = ROOT / "node_modules" / package / dist
    assert installed.exists(), "run npm ci (make test does)"
    assert (PACKAGE / "static" / "vendor" / vendored).read_bytes() == installed.read_bytes(), (
        "run make gateway-vendor"
    )
