"""No answer a partner can get carries personal data (E2): walk the response descriptors."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor
from linli.partners.v1 import partners_service_pb2 as pb

from linli_kit.principals import Kind
from linli_partners.entrypoints.grpc_api import POLICY

SERVICE = pb.DESCRIPTOR.services_by_name["PartnersService"]
# Fields that would tell a partner who a resident is or what they have.
PERSONAL = ("resident", "phone", "birth", "household", "balance", "yearly", "lifetime", "face")
# A benefit's rule names thresholds, not anyone's standing.
RULE_FIELDS = {"min_yearly_centipoints", "min_lifetime_centipoints"}


def _field_names(message: Descriptor, seen: set[str]) -> set[str]:
    if message.full_name in seen:
        return set()
    seen.add(message.full_name)
    names = {f.name for f in message.fields} - RULE_FIELDS
    for field in message.fields:
        if field.message_type is not None:
            names |= _field_names(field.message_type, seen)
    return names


def _partner_rpcs() -> list[str]:
    return [
        name
        for name, rules in POLICY.items()
        if any(rule.kind in (Kind.PARTNER, Kind.ANONYMOUS) for rule in rules)
    ]


def test_the_partner_api_has_no_field_that_could_carry_personal_data() -> None:
    rpcs = _partner_rpcs()
    assert "CheckEligibility" in rpcs and "GetCsrBoard" in rpcs
    for rpc in rpcs:
        names = _field_names(SERVICE.methods_by_name[rpc].output_type, set())
        leaks = sorted(n for n in names if any(word in n for word in PERSONAL))
        assert leaks == [], f"{rpc} answers {leaks}"


def test_an_eligibility_answer_is_the_answer_and_its_proof_only() -> None:
    fields = {f.name for f in pb.CheckEligibilityResponse.DESCRIPTOR.fields}
    assert fields == {"qualifies", "honour_tier", "valid_until", "proof"}
