"""One asyncio channel per service, on the mutual TLS the services require.

The gateway presents `spiffe://linli/<community>/gateway`; it is no service any policy table
names, so every call that is not public carries the person's own access token and the service
decides what that person may do (ARCHITECTURE §5, §8). The calls made for nobody signed in
(login, refresh, logout) name the browser's address instead, so that identity's limits count
each browser, not the gateway.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import grpc
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2_grpc as prt_grpc
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.points.v1 import timebank_service_pb2_grpc as tb_grpc
from linli.rewards.v1 import recognition_service_pb2_grpc as rcg_grpc
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_kit import auth


def open_channel(address: str, tls: auth.TlsFiles | None) -> grpc.aio.Channel:
    """An asyncio channel: mutual TLS when configured, else plaintext (tests only)."""
    if tls is None:
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, tls.channel_credentials())


def browser_metadata(address: str | None) -> auth.Metadata:
    """Call metadata naming the browser's IP address (none for what is not an IP address)."""
    try:
        return auth.client_address_metadata(str(ipaddress.ip_address(address or "")))
    except ValueError:
        return ()


@dataclass
class Services:
    """The stubs of every service; calls take `metadata=person.metadata` and a timeout."""

    channels: dict[str, grpc.aio.Channel]
    timeout: float

    @classmethod
    def connect(
        cls, addresses: dict[str, str], tls: auth.TlsFiles | None, timeout: float
    ) -> Services:
        """Channels to every service (they connect lazily, on the first call)."""
        return cls({name: open_channel(a, tls) for name, a in addresses.items()}, timeout)

    @property
    def identity(self) -> idn_grpc.IdentityServiceStub:
        """IdentityService: residents, login, consent."""
        return idn_grpc.IdentityServiceStub(self.channels["identity"])

    @property
    def attendance(self) -> att_grpc.AttendanceServiceStub:
        """AttendanceService: activities and sessions."""
        return att_grpc.AttendanceServiceStub(self.channels["attendance"])

    @property
    def points(self) -> pts_grpc.PointsServiceStub:
        """PointsService: balances, history, leaderboards, appeals."""
        return pts_grpc.PointsServiceStub(self.channels["points"])

    @property
    def timebank(self) -> tb_grpc.TimeBankServiceStub:
        """TimeBankService (in points): transfers to peer communities, settlement."""
        return tb_grpc.TimeBankServiceStub(self.channels["points"])

    @property
    def rewards(self) -> rwd_grpc.RewardsServiceStub:
        """RewardsService: catalogue, redemptions, vouchers."""
        return rwd_grpc.RewardsServiceStub(self.channels["rewards"])

    @property
    def recognition(self) -> rcg_grpc.RecognitionServiceStub:
        """RecognitionService (in rewards): high-score benefits."""
        return rcg_grpc.RecognitionServiceStub(self.channels["rewards"])

    @property
    def training(self) -> trn_grpc.TrainingServiceStub:
        """TrainingService: courses, enrolment, levels."""
        return trn_grpc.TrainingServiceStub(self.channels["training"])

    @property
    def partners(self) -> prt_grpc.PartnersServiceStub:
        """PartnersService: partners, eligibility checks."""
        return prt_grpc.PartnersServiceStub(self.channels["partners"])

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels.values():
            await channel.close()
