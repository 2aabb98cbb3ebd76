"""The IdentityService servicer: map the request, call the use case, map the result.

One class per area (residents, org network, faces, login) holds its RPCs; this one serves them all.
"""

from __future__ import annotations

from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.entrypoints.grpc_faces import FaceRpcs
from linli_identity.entrypoints.grpc_login import LoginRpcs
from linli_identity.entrypoints.grpc_org import OrgRpcs
from linli_identity.entrypoints.grpc_residents import ResidentRpcs


class IdentityServicer(ResidentRpcs, OrgRpcs, FaceRpcs, LoginRpcs, pb_grpc.IdentityServiceServicer):
    """Communities, residents, the org network, consent, faces and login over gRPC."""
