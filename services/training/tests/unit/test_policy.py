"""Every RPC of both training services has an entry in its policy table (deny by default)."""

from __future__ import annotations

from linli.training.v1 import assessment_service_pb2, training_service_pb2

from linli_kit.auth import missing_entries
from linli_training.entrypoints import assessment_api, grpc_api


def test_every_rpc_has_a_policy_entry() -> None:
    training = training_service_pb2.DESCRIPTOR.services_by_name["TrainingService"]
    assessment = assessment_service_pb2.DESCRIPTOR.services_by_name["AssessmentService"]
    assert missing_entries(grpc_api.POLICY, training.methods_by_name) == []
    assert missing_entries(assessment_api.POLICY, assessment.methods_by_name) == []
    assert set(grpc_api.LIMITS) <= set(grpc_api.POLICY)
    assert set(assessment_api.LIMITS) <= set(assessment_api.POLICY)
