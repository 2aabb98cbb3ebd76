"""The kiosk: an operator binds the browser to an activity and kiosk, then volunteers sign in
and out by face (a burst of camera frames with a blink) or with the activity's QR code or PIN.

The operator is a staff member or core volunteer signed in on the kiosk (attendance decides);
the face burst goes to attendance's FaceSignIn/FaceSignOut with the operator's token. A close
call is shown as "staff will confirm"; the QR code on the screen opens /kiosk/code on the
volunteer's own phone, where they sign themself in with the code (QR) or type the PIN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from linli_gateway.entrypoints.i18n import N_
from linli_gateway.entrypoints.i18n import gettext as _
from linli_gateway.entrypoints.pages.resident import qr_data_uri
from linli_gateway.entrypoints.rendering import render, render_fragment
from linli_gateway.entrypoints.sessions import SignedIn, Svc
from linli_gateway.entrypoints.views import kiosk as views
from linli_gateway.entrypoints.views.common import ID, checked_id

router = APIRouter(prefix="/kiosk")
SESSION_KEY = "kiosk"
RequestId = Annotated[str, Form(min_length=1, max_length=200)]
Direction = Annotated[str, Form(pattern="^(in|out)$")]
CODE = r"^[A-Za-z0-9]{1,12}$"
# A refusal the person in front of the kiosk can act on, by the service's status.
REFUSALS = {
    grpc.StatusCode.FAILED_PRECONDITION: N_("Not done"),
    grpc.StatusCode.NOT_FOUND: N_("Not recognised"),
    grpc.StatusCode.INVALID_ARGUMENT: N_("The pictures could not be used"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: N_("Busy: please try again in a moment"),
    grpc.StatusCode.PERMISSION_DENIED: N_("This kiosk may not do this"),
}
RESULT_HEADER = {"x-kiosk-result": "1"}


def binding_of(request: Request) -> views.Binding | None:
    """The activity and kiosk this browser is bound to, if any."""
    found = request.session.get(SESSION_KEY)
    return views.Binding(**found) if isinstance(found, dict) else None


def _result(context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = render_fragment("kiosk/result.html", context)
    return HTMLResponse(html, status_code=status, headers=RESULT_HEADER)


def refusal(exc: grpc.aio.AioRpcError) -> HTMLResponse:
    """The service's refusal on the kiosk's screen; anything else is the error handlers'."""
    if exc.code() not in REFUSALS:
        raise exc
    context = {"outcome": None, "headline": _(REFUSALS[exc.code()]), "detail": exc.details() or ""}
    return _result(context, 409 if exc.code() is grpc.StatusCode.FAILED_PRECONDITION else 400)


@router.get("", response_class=HTMLResponse)
async def choose(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The operator picks the activity and kiosk this browser signs people in to."""
    options = await views.bindable(svc, person, datetime.now(UTC))
    return render(request, "kiosk/bind.html", {"options": options})


@router.post("")
async def bind(
    request: Request,
    svc: Svc,
    person: SignedIn,
    binding: Annotated[
        str, Form(min_length=3, max_length=120, pattern=r"^[A-Za-z0-9_.-]+\|[A-Za-z0-9_.-]+$")
    ],
) -> Response:
    """Bind this browser to the activity and kiosk (the kiosk must be bound to the activity)."""
    chosen = await views.bind(svc, person, binding)
    if chosen is None:
        options = await views.bindable(svc, person, datetime.now(UTC))
        error = _("That kiosk is not bound to the activity.")
        return render(request, "kiosk/bind.html", {"options": options, "error": error}, 400)
    request.session[SESSION_KEY] = chosen.model_dump()
    return RedirectResponse("/kiosk/screen", status_code=303)


@router.get("/screen", response_class=HTMLResponse)
async def screen(request: Request, svc: Svc, person: SignedIn) -> Response:
    """The full-screen kiosk: camera, the blink prompt, sign-in and sign-out, the QR code."""
    binding = binding_of(request)
    if binding is None:
        return RedirectResponse("/kiosk", status_code=303)
    shown = await views.screen(svc, person, binding)
    qr = ""
    if shown.check_in_code:
        link = request.url_for("code_page").include_query_params(
            activity=binding.activity.rpartition("/")[2], code=shown.check_in_code
        )
        qr = qr_data_uri(str(link))
    context = {
        "screen": shown,
        "qr": qr,
        "max_frames": views.MAX_FRAMES,
        "request_id": views.new_request_id(),
    }
    return render(request, "kiosk/screen.html", context)


@router.post("/face")
async def face(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """A burst of frames → FaceSignIn/FaceSignOut; the result as a fragment for the screen."""
    binding = binding_of(request)
    if binding is None:
        context = {
            "outcome": None,
            "headline": _("This kiosk is not bound to an activity"),
            "detail": "",
        }
        return _result(context, 409)
    form = await request.form(max_files=views.MAX_FRAMES + 1, max_fields=8)
    direction, challenge = form.get("direction"), form.get("challenge", "blink")
    request_id = form.get("request_id")
    uploads = form.getlist("frame")
    if (
        direction not in ("in", "out")
        or challenge not in views.CHALLENGES
        or not isinstance(request_id, str)
        or not 0 < len(request_id) <= 200
        or not all(isinstance(u, UploadFile) for u in uploads)
    ):
        context = {"outcome": None, "headline": _("The pictures could not be used"), "detail": ""}
        return _result(context, 400)
    frames = []
    for upload in uploads:
        assert isinstance(upload, UploadFile)
        frames.append(await upload.read(views.MAX_FRAME_BYTES + 1))
    try:
        outcome = await views.face(
            svc, person, binding, str(direction), frames, str(challenge), request_id
        )
    except views.BurstRefused as refused:
        context = {
            "outcome": None,
            "headline": _("The pictures could not be used"),
            "detail": str(refused),
        }
        return _result(context, 400)
    except grpc.aio.AioRpcError as exc:
        return refusal(exc)
    return _result({"outcome": outcome, "headline": "", "detail": ""})


@router.post("/unbind")
async def unbind(request: Request, person: SignedIn) -> Response:
    """End this browser's binding (the operator stays signed in)."""
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse("/kiosk", status_code=303)


@router.get("/code", response_class=HTMLResponse, name="code_page")
async def code_page(
    request: Request,
    svc: Svc,
    person: SignedIn,
    activity: Annotated[str, Query(max_length=100)],
    code: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    """On the volunteer's phone: sign in or out with the code from the kiosk's QR, or the PIN."""
    activity_id = checked_id(activity, "activity")
    name = f"communities/{person.community}/activities/{activity_id}"
    title = await views.activity_title(svc, person, name)
    context = {
        "activity": activity_id,
        "title": title,
        "code": code if ID.match(code or "-") and code else "",
        "request_id": views.new_request_id(),
        "outcome": None,
    }
    return render(request, "kiosk/code.html", context)


@router.post("/code", response_class=HTMLResponse)
async def code_sign(
    request: Request,
    svc: Svc,
    person: SignedIn,
    activity: Annotated[str, Form(min_length=1, max_length=100)],
    direction: Direction,
    request_id: RequestId,
    code: Annotated[str, Form(pattern=CODE)],
    scanned: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """SignIn or SignOut of the volunteer themself with the code (QR_CODE) or the PIN."""
    activity_id = checked_id(activity, "activity")
    name = f"communities/{person.community}/activities/{activity_id}"
    title = await views.activity_title(svc, person, name)
    context: dict[str, Any] = {
        "activity": activity_id,
        "title": title,
        "code": code if scanned else "",
        "request_id": views.new_request_id(),
        "outcome": None,
    }
    command = views.CodeSignIn(name, code, scanned, direction)
    try:
        context["outcome"] = await views.code_sign(svc, person, command, request_id)
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in REFUSALS:
            raise
        context["error"] = f"{_(REFUSALS[exc.code()])}: {exc.details() or ''}"
        return render(request, "kiosk/code.html", context, 409)
    return render(request, "kiosk/code.html", context)
