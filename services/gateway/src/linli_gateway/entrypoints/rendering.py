"""Server-rendered pages: one Jinja2 environment, the base template, the language switch."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from linli_gateway.entrypoints import i18n
from linli_gateway.entrypoints.csrf import CSRF_FIELD, csrf_token
from linli_gateway.service_layer.charts import POLICY_ZONE

PACKAGE = Path(__file__).resolve().parent.parent
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=environment)
templates.env.globals["LOCALES"] = i18n.LOCALES


def points(centipoints: int) -> str:
    """Hundredths of a point as a figure people read (400 → "4", 250 → "2.5")."""
    return f"{centipoints / 100:.2f}".rstrip("0").rstrip(".")


def local_time(at: datetime | None) -> str:
    """An instant as people here read it (Asia/Shanghai), or "—"."""
    return at.astimezone(POLICY_ZONE).strftime("%Y-%m-%d %H:%M") if at else "—"


RESOURCE = re.compile(r"communities/[\w-]+/(?:[A-Za-z]+/[\w.-]+/)*([A-Za-z]+)/([\w.-]+)")


def readable(text: str) -> str:
    """A service's reason with resource names cut to their kind and a short id."""
    return RESOURCE.sub(lambda m: f"{m.group(1)} {m.group(2)[:9]}", text)


def short_time(at: datetime | None) -> str:
    """An instant of this year as month, day and time (Asia/Shanghai)."""
    return at.astimezone(POLICY_ZONE).strftime("%m-%d %H:%M") if at else "—"


templates.env.filters.update(points=points, local=local_time, readable=readable, short=short_time)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page in the request's language, with the session's CSRF token at hand."""
    token = csrf_token(request)
    hidden = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)
    base = {
        "csrf_token": token,
        "csrf_field": hidden,
        "locale": i18n.current_locale(),
        "html_lang": i18n.current_locale().replace("_", "-"),
        "signed_in": "access" in request.session,
        "roles": request.session.get("roles", ()),
        "error": "",  # a form's refusal, shown beside its field
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status
    )


def render_fragment(name: str, context: dict[str, Any]) -> str:
    """A template fragment (for htmx swaps) in the current language, on one line."""
    html = environment.get_template(name).render(context)
    return " ".join(line.strip() for line in html.splitlines() if line.strip())
