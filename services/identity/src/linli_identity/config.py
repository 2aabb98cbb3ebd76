"""Identity settings from LINLI_IDENTITY_* variables."""

from __future__ import annotations

import binascii
import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from linli_identity.domain.openset import DEFAULT_RULES, FarCurve, OpenSetBook, OpenSetRule
from linli_identity.domain.relatives import PersonKeys
from linli_identity.domain.template_keys import Keyring
from linli_kit.errors import InvalidArgument
from linli_kit.paseto import dev_seeds
from linli_kit.settings import (
    PHOTO_REQUEST_BYTES,
    MessageBytes,
    ServiceSettings,
    SigningKeysSetting,
)


class KeyringSetting(BaseModel):
    """One community's template keys: {"current": "k2", "keys": {"k1": "<base64>", ...}}."""

    current: str
    keys: dict[str, str]

    def keyring(self) -> Keyring:
        """The keyring, validated (32-byte keys, current key present)."""
        try:
            keys = {
                key_id: binascii.a2b_base64(value, strict_mode=True)
                for key_id, value in self.keys.items()
            }
        except binascii.Error as exc:
            raise ValueError(f"a template key is not valid base64: {exc}") from None
        try:
            return Keyring(keys, self.current)
        except InvalidArgument as exc:
            raise ValueError(str(exc)) from None


class OpenSetSetting(BaseModel):
    """One engine's identification thresholds, as `linli-identity evaluate` prints them."""

    verification_threshold: float = Field(gt=-1, lt=1)
    # (threshold, per-pair FAR) points, thresholds rising.
    far_curve: list[tuple[float, float]] = Field(min_length=2, max_length=200)
    target_fpir: float = Field(default=0.01, gt=0, lt=1)
    margin: float = Field(default=0.02, ge=0, lt=1)
    agreement: float = Field(default=0.8, gt=0, le=1)

    def rule(self) -> OpenSetRule:
        """The domain rule, validated (a FAR curve that never rises)."""
        try:
            return OpenSetRule(
                self.verification_threshold,
                FarCurve(tuple(self.far_curve)),
                self.target_fpir,
                self.margin,
                self.agreement,
            )
        except InvalidArgument as exc:
            raise ValueError(str(exc)) from None


class IdentitySettings(ServiceSettings):
    """Everything the identity service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_IDENTITY_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50051, ge=0, le=65535)
    # "dlib" (default, bundled models) or "insightface" (needs face_model_dir).
    face_engine: Literal["dlib", "insightface"] = "dlib"
    # Directory of the operator's licensed insightface pack (buffalo_l layout: det_10g.onnx,
    # w600k_r50.onnx, and 1k3d68.onnx for liveness landmarks if present); never downloaded.
    face_model_dir: Path | None = None
    # Face calls (EnrolFace, VerifyFace, IdentifyFace) analysed at once: threads of the server,
    # and as many worker processes, each holding the models (~140 MB with dlib).
    face_workers: int = Field(default=2, ge=1, le=32)
    # Face calls that may wait beyond those; the next one is refused with RESOURCE_EXHAUSTED.
    face_queue: int = Field(default=4, ge=0, le=1000)
    # The largest request accepted: a 4 MiB field (a photo, a frame, a CSV) and the rest. A
    # kiosk's burst is ~1 MB (the gateway caps it at 2 MiB); 16 MB ones held up every other call.
    max_message_bytes: MessageBytes = PHOTO_REQUEST_BYTES
    # JSON {community_id: {"current": key_id, "keys": {key_id: base64 32-byte key}}}, from a
    # secret. Old keys stay listed until every template is re-encrypted under the current one.
    template_keys: dict[str, KeyringSetting] = Field(default_factory=dict)
    # Derive a public, insecure key for communities without one. For `make run` only.
    dev_template_keys: bool = False
    # JSON signing keyring, from a secret (see SigningKeysSetting). Without one (and without
    # dev_signing_keys) login answers UNAVAILABLE and the JWKS is empty.
    signing_keys: SigningKeysSetting | None = None
    # Sign with a public, insecure key derived from a constant. For `make run` only.
    dev_signing_keys: bool = False
    # Names this replica's own consumer group on identity.events (gallery sync); unique per pod.
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=100)
    # JSON {"dlib": {...}, "insightface/c-east": {...}}: identification thresholds per engine,
    # or per engine and community, as `linli-identity evaluate` prints them. dlib has a shipped
    # default (domain/openset.py); insightface must be calibrated on the operator's pack.
    face_thresholds: dict[str, OpenSetSetting] = Field(default_factory=dict)
    # The city-wide federation secret (base64, at least 32 bytes), from a secret shared by every
    # community's identity: person keys (HMAC-SHA256 of a phone number) for the time bank's
    # recipient rule (E4). Without one (and without dev_federation_secret) the relatives and
    # person-key RPCs answer UNAVAILABLE.
    federation_secret: SecretStr | None = None
    # Use a public, insecure secret derived from a constant. For `make run` and tests only.
    dev_federation_secret: bool = False
    # How often lapsed consents are closed and their templates deleted.
    consent_sweep_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _check_face_settings(self) -> Self:
        if self.face_engine == "insightface" and self.face_model_dir is None:
            raise ValueError("face_model_dir is required when face_engine is insightface")
        if self.federation_secret is not None and self.dev_federation_secret:
            raise ValueError("federation_secret and dev_federation_secret exclude each other")
        if self.federation_secret is not None:
            try:
                self.person_keys()
            except (ValueError, InvalidArgument) as exc:
                raise ValueError(f"federation_secret: {exc}") from None
        if self.signing_keys is not None and self.dev_signing_keys:
            raise ValueError("signing_keys and dev_signing_keys exclude each other")
        if self.signing_keys is not None:
            try:
                self.signing_keys.seeds()
            except ValueError as exc:
                raise ValueError(f"signing_keys: {exc}") from None
        for key, threshold in self.face_thresholds.items():
            try:
                threshold.rule()
            except ValueError as exc:
                raise ValueError(f"face_thresholds[{key!r}]: {exc}") from None
        if self.face_engine not in DEFAULT_RULES and self.face_engine not in self.face_thresholds:
            raise ValueError(
                f"face_thresholds needs an entry for {self.face_engine!r}: run "
                "`linli-identity evaluate` on labelled faces through that engine"
            )
        for community_id, setting in self.template_keys.items():
            try:
                setting.keyring()
            except ValueError as exc:
                raise ValueError(f"template_keys[{community_id!r}]: {exc}") from None
        return self

    def open_set_book(self) -> OpenSetBook:
        """The identification thresholds of each engine (and community) configured."""
        return OpenSetBook({key: value.rule() for key, value in self.face_thresholds.items()})

    def keyrings(self) -> dict[str, Keyring]:
        """The configured template keyring of each community."""
        return {
            community_id: setting.keyring() for community_id, setting in self.template_keys.items()
        }

    def person_keys(self) -> PersonKeys | None:
        """The city's person keys from the federation secret (or the dev one), else None."""
        if self.federation_secret is not None:
            value = self.federation_secret.get_secret_value()
            return PersonKeys(binascii.a2b_base64(value, strict_mode=True))
        if self.dev_federation_secret:
            return PersonKeys(dev_seeds("federation")["dev"])
        return None
