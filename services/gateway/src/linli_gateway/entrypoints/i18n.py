"""Languages: zh-CN by default, English as the second (gettext catalogues under locale/)."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = {"zh_CN": "中文", "en": "English"}
COOKIE = "lang"
_current: ContextVar[str] = ContextVar("locale", default="zh_CN")


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (messages.mo)."""
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def current_locale() -> str:
    """The locale of the request being served."""
    return _current.get()


def gettext(message: str) -> str:
    """The message in the request's language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message in the request's language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def chosen_locale(query: str | None, cookie: str | None, default: str) -> str:
    """?lang= wins, then the cookie, then the default."""
    for candidate in (query, cookie):
        if candidate in LOCALES:
            return str(candidate)
    return default


class LocaleMiddleware:
    """Sets the request's language from ?lang= or the `lang` cookie (kept when chosen)."""

    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app, self.default = app, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        query = connection.query_params.get("lang")
        locale = chosen_locale(query, connection.cookies.get(COOKIE), self.default)
        scope.setdefault("state", {})["locale"] = locale
        token = _current.set(locale)

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start" and query in LOCALES:
                cookie = f"{COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            _current.reset(token)
