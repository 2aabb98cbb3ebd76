"""The kiosk's edge checks and the counter's credentials and offline voucher reading."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from linli.rewards.v1 import rewards_service_pb2 as rwd

from linli_gateway.adapters.counters import Counters, CountersMisconfigured
from linli_gateway.adapters.vouchers import NotAVoucher, VoucherKeys
from linli_gateway.entrypoints.rendering import render_fragment
from linli_gateway.entrypoints.views.kiosk import (
    MAX_FRAME_BYTES,
    MAX_FRAMES,
    BurstRefused,
    Outcome,
    frames_checked,
    masked,
)
from linli_kit.paseto import PasetoKeyring, dev_seeds
from linli_kit.pki import DevelopmentCA

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100


def test_a_burst_is_3_to_12_jpeg_frames_of_bounded_size() -> None:
    assert frames_checked([JPEG] * 3) == [JPEG] * 3
    for frames, why in (
        ([JPEG] * 2, "3 to 12"),
        ([JPEG] * (MAX_FRAMES + 1), "3 to 12"),
        ([JPEG] * 2 + [b"\xff\xd8\xff" + b"\0" * MAX_FRAME_BYTES], "at most"),
        ([JPEG] * 2 + [b"\x89PNG\r\n\x1a\n"], "JPEG"),
    ):
        with pytest.raises(BurstRefused, match=why):
            frames_checked(frames)


def test_names_are_masked_as_the_board_masks_them() -> None:
    assert [masked(n) for n in ("李", "王明", "汤姆逊", " 欧阳小明 ", "")] == [
        "*",
        "王*",
        "汤*逊",
        "欧**明",
        "",
    ]


def _counter(root: Path, partner: str, key: str) -> None:
    DevelopmentCA.create().write(root / partner, f"spiffe://linli/demo/partner/{partner}")
    (root / partner / "counter-key.sha256").write_text(hashlib.sha256(key.encode()).hexdigest())


def test_a_counter_is_admitted_with_its_own_key_only(tmp_path: Path) -> None:
    key, other = "k" * 40, "o" * 40
    _counter(tmp_path, "p-market", key)
    _counter(tmp_path, "p-rival", other)
    counters = Counters.from_dir(str(tmp_path), "127.0.0.1:9")
    assert counters.admits("p-market", key)
    assert not counters.admits("p-market", other)
    assert not counters.admits("p-unknown", key)
    assert not Counters.from_dir("", "127.0.0.1:9").admits("p-market", key)


def test_a_short_key_is_never_admitted(tmp_path: Path) -> None:
    _counter(tmp_path, "p-market", "short")
    assert not Counters.from_dir(str(tmp_path), "127.0.0.1:9").admits("p-market", "short")


def test_a_bad_counters_folder_stops_the_gateway(tmp_path: Path) -> None:
    with pytest.raises(CountersMisconfigured, match="not a folder"):
        Counters.from_dir(str(tmp_path / "missing"), "127.0.0.1:9")
    _counter(tmp_path, "Not_A_Partner", "k" * 40)
    with pytest.raises(CountersMisconfigured, match="not a partner id"):
        Counters.from_dir(str(tmp_path), "127.0.0.1:9")


@dataclass
class FakeRewards:
    """GetVoucherKeys as rewards answers it, counting the calls."""

    ring: PasetoKeyring
    calls: list[str] = field(default_factory=list)

    async def GetVoucherKeys(
        self, request: rwd.GetVoucherKeysRequest, timeout: float
    ) -> rwd.GetVoucherKeysResponse:
        self.calls.append(request.parent)
        keys = [rwd.VoucherKey(key_id=k, paserk=p) for k, p in self.ring.public_keys()]
        return rwd.GetVoucherKeysResponse(keys=keys)


@dataclass
class FakeServices:
    """The one stub VoucherKeys uses."""

    rewards: FakeRewards
    timeout: float = 1.0


def test_a_voucher_reads_offline_and_an_altered_one_does_not() -> None:
    ring = PasetoKeyring(dev_seeds("vouchers"), "dev")
    now = datetime.now(UTC).replace(microsecond=0)
    voucher = ring.sign(
        {
            "sub": "communities/demo/redemptions/r1",
            "item": "communities/demo/items/soap",
            "partner": "p-market",
            "iat": now.isoformat(),
            "exp": (now + timedelta(days=30)).isoformat(),
        }
    )
    rewards = FakeRewards(ring)
    keys = VoucherKeys(FakeServices(rewards), "demo")  # type: ignore[arg-type]

    claims = asyncio.run(keys.read(voucher))

    assert (claims.item, claims.partner_id) == ("communities/demo/items/soap", "p-market")
    assert claims.expires_at == now + timedelta(days=30)
    assert rewards.calls == ["communities/demo"]
    altered = voucher[:20] + ("A" if voucher[20] != "A" else "B") + voucher[21:]
    for bad in (altered, "v4.public.nonsense", "not a voucher"):
        with pytest.raises(NotAVoucher):
            asyncio.run(keys.read(bad))
    # The keys were fetched once: an unknown key id refetches at most once a minute.
    assert rewards.calls == ["communities/demo"]


def test_a_close_call_names_nobody_and_says_staff_will_confirm() -> None:
    close_call = Outcome(direction="in", name="", confirm=True, duration_seconds=0, session="s")
    signed_out = Outcome(
        direction="out", name="汤*逊", confirm=False, duration_seconds=3600, session="s"
    )
    shown = render_fragment("kiosk/result.html", {"outcome": close_call})
    assert "将由工作人员确认" in shown and "已签" not in shown
    shown = render_fragment("kiosk/result.html", {"outcome": signed_out})
    assert "签退" in shown and "汤*逊" in shown and "60 分钟" in shown
