"""Partners repositories on SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_kit.db import SqlUnitOfWork, dialect_insert, insert_once, locked
from linli_kit.errors import AlreadyExists
from linli_partners.adapters.orm import (
    agreements,
    benefits,
    checks,
    codes,
    contributions,
    partners,
    title_serials,
    titles,
)
from linli_partners.adapters.support_repositories import (
    SqlAgencies,
    SqlFundCalls,
    SqlLegalAid,
    SqlProposals,
    SqlResearchGrants,
)
from linli_partners.domain.eligibility import (
    EligibilityCheck,
    EligibilityCode,
    EligibilityRule,
    PartnerBenefit,
)
from linli_partners.domain.partners import (
    Agreement,
    Contribution,
    Partner,
    PartnerKind,
    PartnerTitle,
)
from linli_partners.service_layer.ports import (
    Agreements,
    Benefits,
    Contributions,
    Eligibility,
    Partners,
    PartnersUnitOfWork,
    Titles,
)


def _partner(row: Any) -> Partner:
    values = row._asdict()
    values["kind"] = PartnerKind(values["kind"])
    values["benefits"] = tuple(values["benefits"])
    return Partner(**values)


class SqlPartners(Partners):
    """Partners table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, partner: Partner) -> None:
        """Store a new partner; AlreadyExists if its id is taken."""
        statement = sa.insert(partners).values(
            community_id=partner.community_id,
            id=partner.id,
            display_name=partner.display_name,
            kind=partner.kind.value,
            benefits=list(partner.benefits),
            consume_vouchers=partner.consume_vouchers,
            checks_per_minute=partner.checks_per_minute,
            created_at=partner.created_at,
            revoked_at=partner.revoked_at,
        )
        insert_once(self.db, statement, AlreadyExists(f"partner {partner.id} already exists"))

    def get(self, community_id: str, partner_id: str, lock: bool = False) -> Partner | None:
        """A partner by id (locked for update if asked), or None."""
        query = sa.select(partners).where(
            partners.c.community_id == community_id, partners.c.id == partner_id
        )
        row = self.db.execute(locked(query, self.db) if lock else query).first()
        return None if row is None else _partner(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[Partner]:
        """A community's partners by id."""
        rows = self.db.execute(
            sa.select(partners)
            .where(partners.c.community_id == community_id)
            .order_by(partners.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_partner(row) for row in rows]

    def save(self, partner: Partner) -> None:
        """Store a partner's access and revocation."""
        self.db.execute(
            sa.update(partners)
            .where(partners.c.community_id == partner.community_id, partners.c.id == partner.id)
            .values(
                benefits=list(partner.benefits),
                consume_vouchers=partner.consume_vouchers,
                checks_per_minute=partner.checks_per_minute,
                revoked_at=partner.revoked_at,
            )
        )


class SqlAgreements(Agreements):
    """Agreements table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, agreement: Agreement) -> None:
        """Store a new agreement."""
        self.db.execute(sa.insert(agreements).values(**vars(agreement)))

    def get(self, community_id: str, partner_id: str, agreement_id: str) -> Agreement | None:
        """An agreement by id, or None."""
        row = self.db.execute(
            sa.select(agreements).where(
                agreements.c.community_id == community_id,
                agreements.c.partner_id == partner_id,
                agreements.c.id == agreement_id,
            )
        ).first()
        return None if row is None else Agreement(**row._asdict())

    def of_partner(
        self, community_id: str, partner_id: str, offset: int, limit: int
    ) -> list[Agreement]:
        """A partner's agreements, newest signed first."""
        rows = self.db.execute(
            sa.select(agreements)
            .where(agreements.c.community_id == community_id, agreements.c.partner_id == partner_id)
            .order_by(agreements.c.signed_on.desc(), agreements.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Agreement(**row._asdict()) for row in rows]

    def save(self, agreement: Agreement) -> None:
        """Store an agreement's termination."""
        self.db.execute(
            sa.update(agreements)
            .where(
                agreements.c.community_id == agreement.community_id,
                agreements.c.partner_id == agreement.partner_id,
                agreements.c.id == agreement.id,
            )
            .values(
                terminated_on=agreement.terminated_on, terminate_reason=agreement.terminate_reason
            )
        )


_CONTRIBUTION_FIELDS = ("description", "value_fen", "given_at", "year")


class SqlContributions(Contributions):
    """Contributions table and the board summed from it."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, contribution: Contribution) -> None:
        """Store a new contribution."""
        self.db.execute(
            sa.insert(contributions).values(
                community_id=contribution.community_id,
                partner_id=contribution.partner_id,
                id=contribution.id,
                **{name: getattr(contribution, name) for name in _CONTRIBUTION_FIELDS},
            )
        )

    def get(self, community_id: str, partner_id: str, contribution_id: str) -> Contribution | None:
        """A contribution by id, or None."""
        row = self.db.execute(
            sa.select(contributions).where(
                contributions.c.community_id == community_id,
                contributions.c.partner_id == partner_id,
                contributions.c.id == contribution_id,
            )
        ).first()
        return None if row is None else Contribution(**row._asdict())

    def of_partner(
        self, community_id: str, partner_id: str, offset: int, limit: int
    ) -> list[Contribution]:
        """A partner's contributions, newest first."""
        rows = self.db.execute(
            sa.select(contributions)
            .where(
                contributions.c.community_id == community_id,
                contributions.c.partner_id == partner_id,
            )
            .order_by(contributions.c.given_at.desc(), contributions.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Contribution(**row._asdict()) for row in rows]

    def year_total(self, community_id: str, partner_id: str, year: int) -> int:
        """What a partner gave in a year, in fen."""
        total = self.db.execute(
            sa.select(sa.func.coalesce(sa.func.sum(contributions.c.value_fen), 0)).where(
                contributions.c.community_id == community_id,
                contributions.c.partner_id == partner_id,
                contributions.c.year == year,
            )
        ).scalar_one()
        return int(total)

    def board(self, community_id: str, year: int, limit: int) -> list[tuple[str, str, int]]:
        """(partner id, display name, fen) of a year, most given first, then by id."""
        total = sa.func.sum(contributions.c.value_fen).label("total")
        rows = self.db.execute(
            sa.select(contributions.c.partner_id, partners.c.display_name, total)
            .join(
                partners,
                sa.and_(
                    partners.c.community_id == contributions.c.community_id,
                    partners.c.id == contributions.c.partner_id,
                ),
            )
            .where(contributions.c.community_id == community_id, contributions.c.year == year)
            .group_by(contributions.c.partner_id, partners.c.display_name)
            .order_by(total.desc(), contributions.c.partner_id)
            .limit(limit)
        ).all()
        return [(row.partner_id, row.display_name, int(row.total)) for row in rows]

    def version(self, community_id: str, year: int) -> tuple[int, int]:
        """How many contributions a year holds and their sum: changes with the board."""
        count, total = self.db.execute(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(contributions.c.value_fen), 0)
            ).where(contributions.c.community_id == community_id, contributions.c.year == year)
        ).one()
        return int(count), int(total)


class SqlTitles(Titles):
    """Titles table and the certificate numbers' counters."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, title: PartnerTitle) -> None:
        """Store a new title."""
        self.db.execute(
            sa.insert(titles).values(
                community_id=title.community_id,
                partner_id=title.partner_id,
                year=title.year,
                certificate_number=title.certificate_number,
                value_fen=title.value_fen,
                granted_at=title.granted_at,
                contribution_id=title.contribution_id,
            )
        )

    def get(self, community_id: str, partner_id: str, year: int) -> PartnerTitle | None:
        """The title of a partner and year, or None."""
        row = self.db.execute(
            sa.select(titles).where(
                titles.c.community_id == community_id,
                titles.c.partner_id == partner_id,
                titles.c.year == year,
            )
        ).first()
        return None if row is None else PartnerTitle(**row._asdict())

    def next_serial(self, community_id: str, year: int) -> int:
        """The next certificate number of the community's year (1, 2, …), taken atomically."""
        upsert = (
            dialect_insert(self.db, title_serials)
            .values(community_id=community_id, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[title_serials.c.community_id, title_serials.c.year],
                set_={"last": title_serials.c.last + 1},
            )
            .returning(title_serials.c.last)
        )
        return int(self.db.execute(upsert).scalar_one())

    def page(self, community_id: str, offset: int, limit: int) -> list[PartnerTitle]:
        """A community's titles, newest first."""
        rows = self.db.execute(
            sa.select(titles)
            .where(titles.c.community_id == community_id)
            .order_by(titles.c.granted_at.desc(), titles.c.partner_id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [PartnerTitle(**row._asdict()) for row in rows]

    def titled(self, community_id: str, year: int) -> set[str]:
        """The partners titled in a year."""
        rows = self.db.execute(
            sa.select(titles.c.partner_id).where(
                titles.c.community_id == community_id, titles.c.year == year
            )
        ).all()
        return {row.partner_id for row in rows}


def _benefit(row: Any) -> PartnerBenefit:
    rule = EligibilityRule(
        min_yearly=row.min_yearly,
        min_lifetime=row.min_lifetime,
        tiers=tuple(row.tiers),
        top_n=row.top_n,
    )
    return PartnerBenefit(
        community_id=row.community_id,
        partner_id=row.partner_id,
        id=row.id,
        title=row.title,
        description=row.description,
        rule=rule,
    )


class SqlBenefits(Benefits):
    """Partner benefits table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, benefit: PartnerBenefit) -> None:
        """Store a new benefit; AlreadyExists if its id is taken in the community."""
        rule = benefit.rule
        statement = sa.insert(benefits).values(
            community_id=benefit.community_id,
            id=benefit.id,
            partner_id=benefit.partner_id,
            title=benefit.title,
            description=benefit.description,
            min_yearly=rule.min_yearly,
            min_lifetime=rule.min_lifetime,
            tiers=list(rule.tiers),
            top_n=rule.top_n,
        )
        insert_once(self.db, statement, AlreadyExists(f"benefit {benefit.id} already exists"))

    def get(self, community_id: str, partner_id: str, benefit_id: str) -> PartnerBenefit | None:
        """A partner's benefit by id, or None."""
        row = self.db.execute(
            sa.select(benefits).where(
                benefits.c.community_id == community_id,
                benefits.c.partner_id == partner_id,
                benefits.c.id == benefit_id,
            )
        ).first()
        return None if row is None else _benefit(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[PartnerBenefit]:
        """A community's partner benefits by id."""
        rows = self.db.execute(
            sa.select(benefits)
            .where(benefits.c.community_id == community_id)
            .order_by(benefits.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_benefit(row) for row in rows]


class SqlEligibility(Eligibility):
    """Codes (by digest) and checks tables; a code is used by one conditional update."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add_code(self, code: EligibilityCode) -> None:
        """Store a new code."""
        self.db.execute(sa.insert(codes).values(**vars(code)))

    def code(self, community_id: str, digest: str) -> EligibilityCode | None:
        """A code by its digest, or None."""
        row = self.db.execute(
            sa.select(codes).where(codes.c.community_id == community_id, codes.c.digest == digest)
        ).first()
        return None if row is None else EligibilityCode(**row._asdict())

    def use_code(self, community_id: str, digest: str, at: datetime) -> EligibilityCode | None:
        """Mark an unused, unexpired code used and return it, in one conditional update."""
        row = self.db.execute(
            sa.update(codes)
            .where(
                codes.c.community_id == community_id,
                codes.c.digest == digest,
                codes.c.used_at.is_(None),
                codes.c.expires_at > at,
            )
            .values(used_at=at)
            .returning(*codes.c)
        ).first()
        return None if row is None else EligibilityCode(**row._asdict())

    def add_check(self, check: EligibilityCheck) -> None:
        """Store a check."""
        self.db.execute(sa.insert(checks).values(**vars(check)))

    def check(self, community_id: str, check_id: str) -> EligibilityCheck | None:
        """A check by id, or None."""
        row = self.db.execute(
            sa.select(checks).where(checks.c.community_id == community_id, checks.c.id == check_id)
        ).first()
        return None if row is None else EligibilityCheck(**row._asdict())

    def checks_of(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[EligibilityCheck]:
        """The checks made of a resident's codes, newest first."""
        rows = self.db.execute(
            sa.select(checks)
            .where(checks.c.community_id == community_id, checks.c.resident_id == resident_id)
            .order_by(checks.c.checked_at.desc(), checks.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [EligibilityCheck(**row._asdict()) for row in rows]


class SqlPartnersUnitOfWork(SqlUnitOfWork, PartnersUnitOfWork):
    """The partners unit of work on one SQLAlchemy session."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the partners repositories on the session."""
        self.partners = SqlPartners(session)
        self.agreements = SqlAgreements(session)
        self.contributions = SqlContributions(session)
        self.titles = SqlTitles(session)
        self.benefits = SqlBenefits(session)
        self.eligibility = SqlEligibility(session)
        self.fund_calls = SqlFundCalls(session)
        self.proposals = SqlProposals(session)
        self.agencies = SqlAgencies(session)
        self.research_grants = SqlResearchGrants(session)
        self.legal_aid = SqlLegalAid(session)
