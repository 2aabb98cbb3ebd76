"""The IdentityService servicer: map the request, call the use case, map the result.

One class per area (residents, org network, faces, login) holds its RPCs; this one serves them all.
"""

from __future__ import annotations

from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.entrypoints import (
    grpc_faces,
    grpc_login,
    grpc_org,
    grpc_relatives,
    grpc_residents,
)
from linli_identity.entrypoints.grpc_faces import FaceRpcs
from linli_identity.entrypoints.grpc_login import LoginRpcs
from linli_identity.entrypoints.grpc_org import OrgRpcs
from linli_identity.entrypoints.grpc_relatives import RelativeRpcs
from linli_identity.entrypoints.grpc_residents import ResidentRpcs
from linli_kit import auth, ratelimits

# Every area's table in one: who may call each RPC, and the per-caller limits.
POLICY: auth.Policy = {
    **grpc_residents.POLICY,
    **grpc_org.POLICY,
    **grpc_faces.POLICY,
    **grpc_login.POLICY,
    **grpc_relatives.POLICY,
}
LIMITS: ratelimits.Limits = {**grpc_faces.LIMITS, **grpc_login.LIMITS}


class IdentityServicer(
    ResidentRpcs, OrgRpcs, FaceRpcs, LoginRpcs, RelativeRpcs, pb_grpc.IdentityServiceServicer
):
    """Communities, residents, the org network, consent, faces, login and relatives over gRPC."""
