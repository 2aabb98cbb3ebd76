"""Re-encrypting a community's face templates under its current key (I2 key rotation)."""

from __future__ import annotations

from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.service_layer.access import in_actors_community
from linli_identity.service_layer.commands import RotateTemplateKeys
from linli_identity.service_layer.lookups import existing_community, found
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.usecases import idempotent

ROTATION_BATCH = 200


def _run(uow: IdentityUnitOfWork, community_id: str, rotation_id: str) -> KeyRotation:
    return found(uow.key_rotations.get(community_id, rotation_id), f"key rotation {rotation_id}")


@in_actors_community
@idempotent(lambda uow, cmd, ref: _run(uow, cmd.community_id, ref))
def start_key_rotation(
    cmd: RotateTemplateKeys, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> KeyRotation:
    """Record a run towards the community's current key; a retry gets the same run back."""
    existing_community(uow, cmd.community_id)
    rotation = KeyRotation.start(
        cmd.community_id, uow.templates.current_key_id(cmd.community_id), clock()
    )
    uow.key_rotations.add(rotation)
    return rotation


def rotate_next_batch(
    rotation: KeyRotation, uow: IdentityUnitOfWork, batch: int, clock: Clock = utc_now
) -> KeyRotation:
    """Re-encrypt the next batch of a run and record its progress in the same commit."""
    with uow:
        stored = _run(uow, rotation.community_id, rotation.id)
        # A retry running beside the first request may have finished the run meanwhile.
        if not stored.finished:
            count, last_seen = uow.templates.rotate_keys(stored.community_id, stored.after, batch)
            stored.advance(count, last_seen, clock())
            uow.key_rotations.save(stored)
            uow.commit()
        return stored


def rotate_template_keys(
    cmd: RotateTemplateKeys,
    uow: IdentityUnitOfWork,
    batch: int = ROTATION_BATCH,
    clock: Clock = utc_now,
) -> KeyRotation:
    """Carry a run to its end, a batch per commit; a retry resumes (or replays) the first run.

    The templates' content does not change, so the galleries need no update. A failure leaves
    the batches before it done, and the run resumes from there when the request is retried.
    """
    rotation = start_key_rotation(cmd, uow, clock)
    while not rotation.finished:
        rotation = rotate_next_batch(rotation, uow, batch, clock)
    return rotation
