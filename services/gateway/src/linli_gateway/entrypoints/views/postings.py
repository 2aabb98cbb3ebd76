"""A posting's reason in the reader's language, from the transaction's fields, not its text."""

from __future__ import annotations

from dataclasses import dataclass

from linli.points.v1 import points_service_pb2 as pts

from linli_gateway.entrypoints.i18n import N_, gettext
from linli_gateway.entrypoints.rendering import points
from linli_gateway.entrypoints.views.common import last


@dataclass(frozen=True)
class Rule:
    """A rule's name; complete when the transaction's fields say all that points' text says."""

    name: str
    complete: bool = False


# Every rule id points posts (services/points/README.md, linli_points.domain): earning rules,
# expiry, reservations and the time bank. The proto carries no duration, rate, memo or the
# decider's words, so points' own text stays beneath the name unless the rule is complete.
RULES: dict[str, Rule] = {
    "p1.hourly.regular": Rule(N_("Regular service")),
    "p1.hourly.professional": Rule(N_("Professional service")),
    "p1.hourly.high_risk": Rule(N_("High-risk service")),
    "p2.first_participation": Rule(N_("First participation bonus"), complete=True),
    "p2.streak.10w": Rule(N_("Bonus for 10 consecutive weeks of service"), complete=True),
    "p3.rating.5": Rule(N_("5-star rating")),
    "p4.year_end": Rule(N_("Unspent points expired at the end of the year"), complete=True),
    "p5.mentoring": Rule(N_("Mentoring")),
    "p5.project_lead": Rule(N_("Project lead")),
    "p5.training": Rule(N_("Training hours")),
    "p5.training_level": Rule(N_("Promotion to a volunteer level")),
    "p5.emergency": Rule(N_("Emergency response")),
    "p8.appeal": Rule(N_("Appeal compensation")),
    "r4.reserve": Rule(N_("Points held for a redemption")),
    "r4.commit": Rule(N_("Points spent on a redemption")),
    "r4.void": Rule(N_("Held points released")),
    "r4.refund": Rule(N_("Redemption refunded")),
    "e4.hold": Rule(N_("Points held for a time-bank transfer")),
    "e4.commit": Rule(N_("Time-bank transfer sent")),
    "e4.void": Rule(N_("Time-bank transfer returned")),
    "e4.accept": Rule(N_("Time-bank transfer received")),
}

# What a community's own rule pays for (its rule kind), when its id is none of the above.
RULE_KINDS: dict[str, str] = {
    "service": N_("Service"),
    "first_participation": N_("First participation bonus"),
    "streak": N_("Streak bonus"),
    "rating": N_("Rating"),
    "mentoring": N_("Mentoring"),
    "project_lead": N_("Project lead"),
    "training": N_("Training hours"),
    "training_level": N_("Promotion to a volunteer level"),
    "emergency": N_("Emergency response"),
    "appeal": N_("Appeal compensation"),
}


@dataclass(frozen=True)
class Reason:
    """The reason as shown: a translated line, and points' own text where that says more."""

    title: str
    detail: str


def _name(rule_id: str, rule_kind: str) -> tuple[str, bool] | None:
    rule = RULES.get(rule_id)
    if rule:
        return gettext(rule.name), rule.complete
    base, plus, rating = rule_id.partition("+")
    if plus and base in RULES and rating in RULES:
        line = gettext("%(rating)s of %(service)s")
        return line % {
            "rating": gettext(RULES[rating].name),
            "service": gettext(RULES[base].name),
        }, False
    if rule_kind in RULE_KINDS:
        return gettext(RULE_KINDS[rule_kind]), False
    return None


def reason(transaction: pts.Transaction, change_centipoints: int) -> Reason:
    """The posting's reason in the request's language; points' text for a rule it cannot name."""
    named = _name(transaction.rule_id, transaction.rule_kind)
    if named is None:
        return Reason(title=transaction.reason or transaction.kind, detail="")
    title, complete = named
    if transaction.kind == "reversal":
        title = gettext("Reversed: %(rule)s") % {"rule": title}
    figures = []
    if transaction.coefficient_percent not in (0, 100):
        factor = f"{transaction.coefficient_percent / 100:.2f}".rstrip("0").rstrip(".")
        figures.append(gettext("coefficient ×%(factor)s") % {"factor": factor})
    # An award credits both yearly and lifetime: the amount is the largest single posting.
    moved = max((p.amount_centipoints for p in transaction.postings), default=0)
    if moved and moved != abs(change_centipoints):
        figures.append(gettext("%(points)s points moved") % {"points": points(moved)})
    if transaction.session:
        figures.append(gettext("session %(session)s") % {"session": last(transaction.session)[:9]})
    if figures:
        line = gettext("%(rule)s (%(figures)s)")
        title = line % {"rule": title, "figures": gettext(", ").join(figures)}
    return Reason(title=title, detail="" if complete else transaction.reason)
