"""Records into people: union-find that refuses any union breaking a guard rail or a human decision.

Links are applied strongest first (shared identifiers, then confirmed by a person, then the
model's by descending probability), so a weak link can never pull apart what a strong one joined,
and a refused union is recorded for a person to look at.

Besides the guard rails (rules.py), weak links (the model's, exact name and birth date) may not
join two groups holding different records of one agency: an agency that keeps two records keeps
them for two people (twins, above all). Only an identifier or a person can say it registered one
child twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from casehistory.identity.rules import dobs_compatible, identifiers_compatible

WEAK_METHODS = ("model", "exact_name_dob")


@dataclass
class Link:
    a: str
    b: str
    method: str  # subject_ref | nhs_number | upn | la_child_id | exact_name_dob | human | model
    probability: float = 1.0


@dataclass
class Refusal:
    link: Link
    rule: str  # different_nhs | different_upn | implausible_dob | same_agency_two_records | human_said_different


@dataclass
class _Group:
    members: list[str]
    nhs: set[str]
    upns: set[str]
    dobs: set[date]


@dataclass
class Clusters:
    parent: dict[str, str] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    applied: list[Link] = field(default_factory=list)
    _apart: dict[str, set[str]] = field(default_factory=dict)  # record -> records a person said differ

    def add(self, record: str, nhs: set[str], upns: set[str], dobs: set[date]) -> None:
        self.parent[record] = record
        self.groups[record] = _Group([record], set(nhs), set(upns), set(dobs))

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
        rule = self._breaks(ga, gb, link.method)
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
        del self.groups[rb]
        self.applied.append(link)
        return True

    def _breaks(self, ga: _Group, gb: _Group, method: str) -> str | None:
        if not identifiers_compatible(ga.nhs, gb.nhs):
            return "different_nhs"
        if not identifiers_compatible(ga.upns, gb.upns):
            return "different_upn"
        if not dobs_compatible(ga.dobs, gb.dobs):
            return "implausible_dob"
        if method in WEAK_METHODS and _two_records_of_one_agency(ga.members, gb.members):
            return "same_agency_two_records"
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


def _two_records_of_one_agency(a: list[str], b: list[str]) -> bool:
    """Subject keys are "<namespace>:<ref>": does some namespace appear in both with another ref?"""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    namespaces = {m.split(":", 1)[0] for m in small}
    large_by_namespace = {m for m in large if m.split(":", 1)[0] in namespaces}
    return any(m not in small for m in large_by_namespace)
