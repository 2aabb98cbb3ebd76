"""Communities are isolated from each other: namespaces, secrets, databases, peers."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import chartcheck
import pytest
from chartcheck import of_kind, pod_specs


def _secret_names(values: dict[str, Any], docs: list[dict[str, Any]]) -> set[str]:
    """Every Secret a community's release refers to, from its values and its manifests."""
    names = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"existingSecret", "passwordSecret", "tlsSecret"} and value:
                    names.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(values)
    for _, spec in pod_specs(docs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
        for v in spec.get("volumes", []):
            if "secret" in v:
                names.add(v["secret"]["secretName"])
    return names


def test_no_two_communities_share_namespace_release_or_id(examples):
    for field in ("namespace", "id"):
        seen = Counter(v["community"][field] for v in examples.values())
        assert all(n == 1 for n in seen.values()), f"shared community.{field}: {seen}"
    releases = Counter(chartcheck.release_of(v) for v in examples.values())
    assert all(n == 1 for n in releases.values())


def test_no_two_communities_share_a_secret_or_database_secret(examples, rendered):
    names = {f: _secret_names(examples[f], rendered[f]) for f in examples}
    for a, b in itertools.combinations(names, 2):
        assert not names[a] & names[b], f"{a} and {b} share secrets {names[a] & names[b]}"
    db = {f: v["postgresql"]["existingSecret"] for f, v in examples.items()}
    assert len(set(db.values())) == len(db), f"shared database URL secret: {db}"


def test_every_object_lands_in_its_communitys_namespace(examples, rendered):
    for f, docs in rendered.items():
        namespace = examples[f]["community"]["namespace"]
        assert {d["metadata"]["namespace"] for d in docs} == {namespace}, f


def test_communities_differ_in_rules(examples):
    rules = {
        f: tuple(sorted(tuple(sorted(r.items())) for r in v["points"]["earningRules"]))
        for f, v in examples.items()
    }
    assert len(set(rules.values())) == len(rules), rules


def test_time_bank_peers_name_each_other(examples):
    # E4 needs both sides: if A trades with B, B must list A as a peer.
    by_id = {v["community"]["id"]: v for v in examples.values()}
    for cid, values in by_id.items():
        for peer in values["points"]["timeBank"]["peers"]:
            assert peer["communityId"] != cid, f"{cid} lists itself"
            if peer["communityId"] in by_id:
                back = {
                    p["communityId"]
                    for p in by_id[peer["communityId"]]["points"]["timeBank"]["peers"]
                }
                assert cid in back, f"{cid} trades with {peer['communityId']}, not the other way"


def test_a_community_cannot_be_installed_into_another_namespace(examples):
    xinhua = examples["community-xinhua.yaml"]
    with pytest.raises(chartcheck.helm.HelmError, match="belongs in namespace linli-xinhua"):
        chartcheck.render(xinhua, name="linli-xinhua", namespace="linli-donghu")


def test_dashboards_do_not_collide_between_communities(rendered):
    uids = [
        key
        for docs in rendered.values()
        for cm in of_kind(docs, "ConfigMap")
        if cm["metadata"]["labels"].get("grafana_dashboard")
        for key in cm["data"]
    ]
    assert len(uids) == len(set(uids))
