"""The README's screenshots of the public leaderboard and a resident's page, from `make run`.

    make run    # in another terminal, then:
    .venv/bin/python services/gateway/screenshots.py [http://127.0.0.1:8080] [.run/identity.log]

Playwright drives Debian's chromium at a phone's size; the resident is the first demo resident
(13900000000), signed in with the code identity wrote to its log.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

PHONE = "13900000000"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def login_code(log: Path, phone: str) -> str:
    """The newest login code for the phone in identity's development log."""
    for _ in range(100):
        found = re.findall(
            rf"SMS to {phone} .*login code is (\d{{6}})", log.read_text(errors="replace")
        )
        if found:
            return str(found[-1])
        time.sleep(0.1)
    raise SystemExit(f"no login code for {phone} in {log}")


def main(url: str = "http://127.0.0.1:8080", log: str = ".run/identity.log") -> None:
    """Sign in as the demo resident and save docs/gateway-leaderboard.png and -resident.png."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 412, "height": 915}, device_scale_factor=2)
        page.goto(f"{url}/leaderboard")
        page.screenshot(path=str(DOCS / "gateway-leaderboard.png"), full_page=True)
        page.goto(f"{url}/login")
        page.get_by_label("手机号码").fill(PHONE)
        page.get_by_role("button", name="发送验证码").click()
        page.get_by_label("验证码").fill(login_code(Path(log), PHONE))
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{url}/me")
        page.screenshot(path=str(DOCS / "gateway-resident.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
