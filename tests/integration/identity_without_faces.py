"""`python identity_without_faces.py serve`: identity's own app and command line, its face
engine left out (face calls are refused), for tests whose communities never sign in by face.

dlib's models take a minute and more to load in every identity process on a busy two-core
machine; the time-bank federation runs one identity per community and needs none of them.
"""

from __future__ import annotations

import functools

from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.cli import MIGRATIONS
from linli_identity.service_layer.face_port import DetectedFace
from linli_kit.errors import Unavailable
from linli_kit.service import run_cli


class NoFaces:
    """A face engine that has no models: every analysis is refused."""

    name = "none"
    model_version = "none"
    dimension = 128
    default_threshold = 0.9

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Refused: this identity serves no face sign-in."""
        raise Unavailable("this identity has no face engine")


if __name__ == "__main__":
    run_cli(
        "identity", IdentitySettings, functools.partial(build_app, engine=NoFaces()), MIGRATIONS
    )
