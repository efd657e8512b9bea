"""Records into people: union-find that refuses any union breaking a guard rail or a human decision.

Links are applied strongest first (shared identifiers, then confirmed by a person, then the
model's by descending probability), so a weak link can never pull apart what a strong one joined,
and a refused union is recorded for a person to look at.

Besides the guard rails (rules.py), weak links (the model's and the name rules') may not join two
groups holding different records of one agency: an agency that keeps two records keeps them for
two people (twins, above all). Only an identifier, a person, or the agency's own family reference
can say it registered one child twice: a name rule's link between two records one agency files
under one family, with the same forename (twins never share one), may join those two records
(and only those: another record of that agency in either group still refuses it). And the name
rules never join groups whose recorded sexes conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from casehistory.identity.rules import dobs_compatible, identifiers_compatible, sexes_conflict

NAME_METHODS = ("exact_name_dob", "corroborated_typo")  # candidates.py
WEAK_METHODS = ("model", *NAME_METHODS)


@dataclass
class Link:
    a: str
    b: str
    method: str  # nhs_number | upn | la_child_id | human | exact_name_dob | corroborated_typo | model
    probability: float = 1.0
    one_family: bool = False  # a name rule's: one agency files both subjects under one family reference


@dataclass
class Refusal:
    link: Link
    rule: str  # absolute: different_nhs | different_upn | implausible_dob | human_said_different;
    # binding weak links only: same_agency_two_records | different_sex (name rules)


@dataclass
class _Group:
    members: list[str]
    nhs: set[str]
    upns: set[str]
    dobs: set[date]
    sexes: set[str]


@dataclass
class Clusters:
    parent: dict[str, str] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    applied: list[Link] = field(default_factory=list)
    _apart: dict[str, set[str]] = field(default_factory=dict)  # record -> records a person said differ

    def add(self, record: str, nhs: set[str], upns: set[str], dobs: set[date], sexes: set[str] = frozenset()) -> None:
        self.parent[record] = record
        self.groups[record] = _Group([record], set(nhs), set(upns), set(dobs), set(sexes))

    def keep_apart(self, a: str, b: str) -> None:
        self._apart.setdefault(a, set()).add(b)
        self._apart.setdefault(b, set()).add(a)

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, link: Link) -> bool:
        ra, rb = self.find(link.a), self.find(link.b)
        if ra == rb:
            return True
        ga, gb = self.groups[ra], self.groups[rb]
        rule = self._breaks(ga, gb, link)
        if rule:
            self.refused.append(Refusal(link, rule))
            return False
        if len(ga.members) < len(gb.members):
            ra, rb, ga, gb = rb, ra, gb, ga
        self.parent[rb] = ra
        ga.members.extend(gb.members)
        ga.nhs |= gb.nhs
        ga.upns |= gb.upns
        ga.dobs |= gb.dobs
        ga.sexes |= gb.sexes
        del self.groups[rb]
        self.applied.append(link)
        return True

    def forbids(self, a: str, b: str) -> str | None:
        """The absolute rail that keeps a's person and b's apart whatever the evidence, if any: such
        a pair is never offered to a person as a link."""
        ra, rb = self.find(a), self.find(b)
        return None if ra == rb else self._absolute(self.groups[ra], self.groups[rb])

    def _breaks(self, ga: _Group, gb: _Group, link: Link) -> str | None:
        rule = self._absolute(ga, gb)
        if rule:
            return rule
        if link.method in NAME_METHODS and sexes_conflict(ga.sexes, gb.sexes):
            return "different_sex"
        if link.method in WEAK_METHODS and _two_records_of_one_agency(
                ga.members, gb.members, exempt={link.a, link.b} if link.one_family else set()):
            return "same_agency_two_records"
        return None

    def _absolute(self, ga: _Group, gb: _Group) -> str | None:
        if not identifiers_compatible(ga.nhs, gb.nhs):
            return "different_nhs"
        if not identifiers_compatible(ga.upns, gb.upns):
            return "different_upn"
        if not dobs_compatible(ga.dobs, gb.dobs):
            return "implausible_dob"
        small, large = (ga, gb) if len(ga.members) <= len(gb.members) else (gb, ga)
        large_set = None
        for m in small.members:
            apart = self._apart.get(m)
            if apart:
                large_set = large_set or set(large.members)
                if apart & large_set:
                    return "human_said_different"
        return None

    def clusters(self) -> list[list[str]]:
        return [sorted(g.members) for g in self.groups.values()]


def _two_records_of_one_agency(a: list[str], b: list[str], exempt: set[str] = frozenset()) -> bool:
    """Subject keys are "<namespace>:<ref>": does some namespace appear in both (groups are
    disjoint, so with another ref)? Not when the namespace's records in both are the `exempt` pair."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    namespaces: dict[str, set[str]] = {}
    for m in small:
        namespaces.setdefault(m.split(":", 1)[0], set()).add(m)
    for m in large:
        theirs = namespaces.get(m.split(":", 1)[0])
        if theirs is not None and not (len(exempt) == 2 and m in exempt and theirs <= exempt):
            return True
    return False
