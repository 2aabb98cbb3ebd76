"""The kiosk page in a real browser with a fake camera fed by a .y4m made from a real face.

Chromium's fake capture device plays the file in a loop (a browser per file: the file is a
launch argument). The blink file is the insightface wheel's sample face with its eyes open
and, for a few frames of every second, shut: the lids are painted over the eyes with the
skin above them and a lash line drawn, because no photo of this face with closed eyes is
available. dlib's landmarks on those frames measure an eye aspect ratio under identity's
"closed" threshold (asserted below), so identity's liveness check sees a real blink in the
pixels the kiosk sends. The still file is the same photo, unchanged: no blink.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import numpy as np
import pytest
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Browser, Page, expect

from linli_kit.processes import GatewayProcess
from linli_kit.testing import Stack, load_beside

faces = load_beside(__file__, "faces.py", "linli_integration_faces")
C = "xinhua"
PARENT = f"communities/{C}"
KIOSK_ID = "k-hall"
KIOSK = f"{PARENT}/kiosks/{KIOSK_ID}"
SIDE = 400  # the camera's picture
FPS = 10
PASSWORD = "kiosk-operator-password"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def eyes_shut(face: Image.Image, landmarks: np.ndarray) -> Image.Image:
    """The face with both eyes shut: lids of the skin above each eye, a lash line across."""
    shut = face.copy()
    draw = ImageDraw.Draw(shut)
    pixels = np.asarray(face).astype(float)
    for eye in (landmarks[36:42], landmarks[42:48]):
        left, right = eye[:, 0].min(), eye[:, 0].max()
        top, bottom = eye[:, 1].min(), eye[:, 1].max()
        width, height = right - left, bottom - top
        above = int(top - 2 * height)
        skin = pixels[above - 1 : above + 2, int(left) : int(right)].reshape(-1, 3).mean(0)
        box = (left - 0.1 * width, top - height, right + 0.1 * width, bottom + 0.3 * height)
        draw.ellipse(box, fill=tuple(int(c) for c in skin))
        corner_l, corner_r = eye[0], eye[3]
        middle = (corner_l + corner_r) / 2 + np.array([0, 0.5 * height])
        lash = [tuple(corner_l + (middle - corner_l) * t) for t in np.linspace(0, 1, 5)]
        lash += [tuple(middle + (corner_r - middle) * t) for t in np.linspace(0, 1, 5)]
        draw.line(lash, fill=(35, 30, 30), width=max(1, int(0.5 * height)))
    return shut.filter(ImageFilter.GaussianBlur(1.2))


def write_y4m(path: Path, frames: list[Image.Image]) -> Path:
    """Frames as a YUV 4:2:0 (JPEG range) .y4m file that Chromium's fake camera plays."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{SIDE} H{SIDE} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, cb, cr = frame.convert("YCbCr").split()
            half = (SIDE // 2, SIDE // 2)
            out.write(b"FRAME\n" + y.tobytes())
            out.write(cb.resize(half, Image.Resampling.BILINEAR).tobytes())
            out.write(cr.resize(half, Image.Resampling.BILINEAR).tobytes())
    return path


@pytest.fixture(scope="module")
def tom() -> Image.Image:
    """The sample face at the camera's size."""
    return faces.sample("Tom_Hanks_54745.png").resize((SIDE, SIDE), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def cameras(tom: Image.Image, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The blink file (open 0.4 s, shut 0.3 s, over and over: every phase of the kiosk's 8 frames
    150 ms apart sees open, shut, open; at open 0.6 s one in six did not) and the still file."""
    from linli_identity.adapters.face_dlib import DlibFaceEngine
    from linli_identity.domain.liveness import LivenessPolicy, face_eye_aspect_ratio

    engine = DlibFaceEngine()
    opened = engine.analyse(faces.jpeg(tom))
    shut = eyes_shut(tom, opened.landmarks)
    closed_ear = face_eye_aspect_ratio(engine.analyse(faces.jpeg(shut)).landmarks)
    policy = LivenessPolicy()
    assert (
        face_eye_aspect_ratio(opened.landmarks) > policy.open_ear > policy.closed_ear > closed_ear
    )
    folder = tmp_path_factory.mktemp("cameras")
    cycle = [tom] * 4 + [shut] * 3
    return {
        "blink": write_y4m(folder / "blink.y4m", cycle * 5),
        "still": write_y4m(folder / "still.y4m", [tom] * 4),
    }


class Staff:
    """Stubs acting as the community's first social worker."""

    def __init__(self, stack: Stack) -> None:
        staff = stack.bootstrap_staff()
        token = stack.credentials.token(C, staff.rpartition("/")[2], "social_worker")
        self.channels = {
            n: stack.credentials.channel(stack[n].address, C, token=token)
            for n in ("identity", "attendance")
        }
        self.identity = idn_grpc.IdentityServiceStub(self.channels["identity"])
        self.attendance = att_grpc.AttendanceServiceStub(self.channels["attendance"])
        self.stack = stack

    def resident(self, name: str, org_unit: str = "") -> idn.Resident:
        """A new resident of the community."""
        return self.identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=PARENT,
                display_name=name,
                phone=f"139{uuid.uuid4().int % 10**8:08d}",
                org_unit=org_unit,
                request_id=str(uuid.uuid4()),
            )
        ).resident

    def operator(self) -> idn.Resident:
        """A social worker who runs the kiosk (staff log in with a password)."""
        person = self.resident("值班社工")
        self.identity.GrantRole(
            idn.GrantRoleRequest(
                resident=person.name, role="social_worker", request_id=str(uuid.uuid4())
            )
        )
        self.identity.SetPassword(
            idn.SetPasswordRequest(
                resident=person.name, password=PASSWORD, request_id=str(uuid.uuid4())
            )
        )
        return person

    def enrol(self, resident: str, face: Image.Image) -> None:
        """Consent and a face template from the photo."""
        self.identity.GrantFaceConsent(
            idn.GrantFaceConsentRequest(
                parent=resident,
                policy_version="2026-01",
                retention_days=365,
                request_id=str(uuid.uuid4()),
            )
        )
        self.identity.EnrolFace(
            idn.EnrolFaceRequest(
                resident=resident, image=faces.jpeg(face), request_id=str(uuid.uuid4())
            )
        )

    def activity(self, start: datetime, *volunteers: str) -> att.Activity:
        """An activity running now with the kiosk bound, the volunteers on its roster."""
        planned = att.Activity(
            title=f"活动室值守 {uuid.uuid4().hex[:4]}",
            kind=att.ACTIVITY_KIND_ROUTINE,
            service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
            place="活动室",
            kiosks=[KIOSK],
        )
        planned.start_time.FromDatetime(start)
        planned.end_time.FromDatetime(start + timedelta(hours=4))
        activity = self.attendance.CreateActivity(
            att.CreateActivityRequest(parent=PARENT, activity=planned, request_id=str(uuid.uuid4()))
        ).activity
        for volunteer in volunteers:
            self.attendance.AddRosterEntry(
                att.AddRosterEntryRequest(
                    activity=activity.name,
                    occurrence_start_time=activity.start_time,
                    resident=volunteer,
                    role=att.ROSTER_ROLE_VOLUNTEER,
                    request_id=str(uuid.uuid4()),
                )
            )
        return activity

    def login_code(self, phone: str, within: float = 15.0) -> str:
        """The newest code identity's development sender logged for the phone."""
        pattern = re.compile(rf"SMS to {phone} .*login code is (\d{{6}})")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = pattern.findall(self.stack["identity"].log_path.read_text(errors="replace"))
            if found:
                return str(found[-1])
            time.sleep(0.1)
        raise AssertionError(f"no login code for {phone} in identity's log")

    def staff_sign_in(
        self, page: Page, gateway: GatewayProcess, phone: str, next_path: str
    ) -> None:
        """A staff member logs in with the password (English) and lands on next_path."""
        page.goto(f"{gateway.url}/login/staff?lang=en&next={next_path}")
        page.get_by_label("Mobile phone number").fill(phone)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{gateway.url}{next_path}")

    def sign_in(self, page: Page, gateway: GatewayProcess, phone: str, next_path: str) -> None:
        """Log in on the gateway's page (English) and land on next_path."""
        page.goto(f"{gateway.url}/login?lang=en&next={next_path}")
        page.get_by_label("Mobile phone number").fill(phone)
        page.get_by_role("button", name="Send the code").click()
        page.get_by_label("One-time code").fill(self.login_code(phone))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{gateway.url}{next_path}")


@pytest.fixture(scope="module")
def staff(shared_stack: Stack) -> Iterator[Staff]:
    """The community's staff stubs."""
    found = Staff(shared_stack)
    yield found
    for channel in found.channels.values():
        channel.close()


@pytest.fixture
def kiosk_browser(
    launch_browser: Callable[..., Browser], cameras: dict[str, Path]
) -> Callable[[str], Browser]:
    """A chromium whose camera plays one of the files."""
    opened: list[Browser] = []

    def launch(camera: str) -> Browser:
        args = [
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={cameras[camera]}",
        ]
        browser = launch_browser(args=args)
        opened.append(browser)
        return browser

    yield launch  # type: ignore[misc]
    for browser in opened:
        browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (WCAG 2 A and AA)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


def open_kiosk(
    browser: Browser, gateway: GatewayProcess, staff: Staff, activity: att.Activity
) -> Page:
    """The operator signs in, binds the kiosk to the activity and opens its screen."""
    context = browser.new_context(permissions=["camera"])
    page = context.new_page()
    staff.staff_sign_in(page, gateway, staff.operator().phone, "/kiosk")
    assert serious_violations(page) == []
    value = f"{activity.name.rpartition('/')[2]}|{KIOSK_ID}"
    page.get_by_label("Activity and kiosk").select_option(value)
    page.get_by_role("button", name="Open the kiosk screen").click()
    page.wait_for_url(f"{gateway.url}/kiosk/screen")
    # The camera is playing before anyone presses a button.
    page.wait_for_function("document.getElementById('camera').videoWidth > 0")
    return page


def test_a_volunteer_signs_out_at_the_kiosk_and_the_board_follows(
    gateway: GatewayProcess,
    staff: Staff,
    browser: Browser,
    kiosk_browser: Callable[[str], Browser],
    tom: Image.Image,
) -> None:
    grid = f"kg{uuid.uuid4().hex[:8]}"
    volunteer = staff.resident("汤姆逊", org_unit=f"{grid}/b1")
    staff.enrol(volunteer.name, tom)
    now = datetime.now(UTC).replace(microsecond=0)
    activity = staff.activity(now - timedelta(hours=1, minutes=10), volunteer.name)
    # Signed in an hour ago by staff; the kiosk signs them out by face.
    signed_in = att.SignInRequest(
        activity=activity.name,
        resident=volunteer.name,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
        request_id=str(uuid.uuid4()),
    )
    signed_in.time.FromDatetime(now - timedelta(hours=1))
    staff.attendance.SignIn(signed_in)
    board = browser.new_context().new_page()
    board.goto(f"{gateway.url}/leaderboard?grid={grid}&lang=en")
    expect(board.locator("#board")).not_to_contain_text("汤*逊")

    kiosk = open_kiosk(kiosk_browser("blink"), gateway, staff, activity)
    assert serious_violations(kiosk) == []
    kiosk.get_by_role("button", name="Sign out of the activity").click()

    result = kiosk.get_by_test_id("kiosk-result")
    expect(result).to_contain_text("Signed out", timeout=30_000)
    expect(result).to_contain_text("汤*逊")
    # One hour of regular service is one point; the board shows it without a reload.
    expect(board.locator("#board")).to_contain_text("汤*逊", timeout=30_000)
    expect(board.locator("#board li", has_text="汤*逊")).to_contain_text("1")


def test_a_still_photo_is_refused_at_the_kiosk(
    gateway: GatewayProcess,
    staff: Staff,
    kiosk_browser: Callable[[str], Browser],
    tom: Image.Image,
) -> None:
    volunteer = staff.resident("汤米")
    staff.enrol(volunteer.name, tom)
    activity = staff.activity(datetime.now(UTC) - timedelta(minutes=10), volunteer.name)

    kiosk = open_kiosk(kiosk_browser("still"), gateway, staff, activity)
    kiosk.get_by_role("button", name="Sign in at the activity").click()

    result = kiosk.get_by_test_id("kiosk-result")
    expect(result).to_contain_text("Not done", timeout=30_000)
    expect(result).to_contain_text("No blink")
    # Nothing was recorded: staff can still sign the volunteer in.
    staff.attendance.SignIn(
        att.SignInRequest(
            activity=activity.name,
            resident=volunteer.name,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id=str(uuid.uuid4()),
        )
    )


def test_a_volunteer_signs_in_with_the_pin_on_their_phone(
    gateway: GatewayProcess, staff: Staff, browser: Browser
) -> None:
    volunteer = staff.resident("李梅")
    activity = staff.activity(datetime.now(UTC) - timedelta(minutes=10), volunteer.name)
    pin = staff.attendance.GetActivity(att.GetActivityRequest(name=activity.name)).activity
    phone = browser.new_context().new_page()
    path = f"/kiosk/code?activity={activity.name.rpartition('/')[2]}"
    staff.sign_in(phone, gateway, volunteer.phone, path)
    assert serious_violations(phone) == []

    phone.get_by_label("PIN shown at the kiosk").fill("000000")
    phone.get_by_role("button", name="Sign in at the activity").click()
    expect(phone.get_by_role("alert")).to_be_visible()
    phone.get_by_label("PIN shown at the kiosk").fill(pin.check_in_code)
    phone.get_by_role("button", name="Sign in at the activity").click()

    expect(phone.get_by_test_id("code-result")).to_have_text("You are signed in.")
    with pytest.raises(grpc.RpcError) as again:
        staff.attendance.SignIn(
            att.SignInRequest(
                activity=activity.name,
                resident=volunteer.name,
                method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
                request_id=str(uuid.uuid4()),
            )
        )
    assert again.value.code() is grpc.StatusCode.FAILED_PRECONDITION  # already signed in
