"""Ids and UUIDs: their shape, and no repeats across threads or a fork."""

from __future__ import annotations

import os
import re
import threading
import uuid

from linli_kit.domain import new_id, new_uuid
from linli_kit.names import RESIDENT

SHAPE = re.compile(r"r[0-9a-f]{31}")


def test_an_id_is_its_prefix_and_hex_and_fits_a_resource_name() -> None:
    made = new_id("r")
    assert SHAPE.fullmatch(made)
    assert RESIDENT.parse(f"communities/c-east/residents/{made}")["resident"] == made


def test_ids_do_not_repeat_within_a_thread_or_across_threads() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(k: int) -> None:
        made[k] = [new_id("r") for _ in range(20_000)]  # many times the bytes of one pool

    threads = [threading.Thread(target=make, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for per in made for i in per]
    assert len(set(every)) == len(every) == 80_000


def test_a_forked_child_does_not_hand_out_the_ids_its_parent_will() -> None:
    new_id("r")  # the parent holds a pool with bytes left in it
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writing, " ".join(new_id("r") for _ in range(10)).encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        childs = set(pipe.read().split())
    parents = {new_id("r") for _ in range(10)}
    assert len(childs) == 10
    assert not childs & parents


def test_a_uuid_is_a_random_version_4_uuid_that_does_not_repeat() -> None:
    made = [new_uuid() for _ in range(20_000)]
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in made)
    assert len(set(made)) == len(made)
