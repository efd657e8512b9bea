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

At a million children most linked groups hold one NHS number, one UPN, one date of birth, one sex
and one record per agency: no rail can refuse any union inside them. `link_all` finds those by a
plain union-find first and applies their links unchecked, loading records' attributes only for the
groups where a rail could refuse (and, later, for the groups the review queue asks about).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from casehistory.identity.rules import dobs_compatible, identifiers_compatible, sexes_conflict

NAME_METHODS = ("exact_name_dob", "corroborated_typo")  # candidates.py
WEAK_METHODS = ("model", *NAME_METHODS)


@dataclass(slots=True)
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


# A subject's attributes, as the rails read them: (subject, NHS numbers, UPNs, dates of birth, sexes)
Attributes = tuple[str, Iterable[str], Iterable[str], Iterable[date], Iterable[str]]


@dataclass(slots=True)
class _Group:
    members: list[str]
    # None until read: a group link_all settled unchecked (most, at a million children) never needs them
    nhs: set[str] | None = None
    upns: set[str] | None = None
    dobs: set[date] | None = None
    sexes: set[str] | None = None

    @property
    def loaded(self) -> bool:
        return self.nhs is not None

    def take(self, nhs: Iterable[str] | None, upns: Iterable[str] | None, dobs: Iterable[date] | None,
             sexes: Iterable[str] | None) -> None:  # None: none recorded (an empty list filtered in SQL)
        if self.nhs is None:
            self.nhs, self.upns, self.dobs, self.sexes = set(), set(), set(), set()
        self.nhs.update(nhs or ())
        self.upns.update(upns or ())
        self.dobs.update(dobs or ())
        self.sexes.update(sexes or ())


@dataclass
class Clusters:
    parent: dict[str, str] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    applied: list[Link] = field(default_factory=list)
    _apart: dict[str, set[str]] = field(default_factory=dict)  # record -> records a person said differ
    _attributes: Callable[[list[str]], Iterable[Attributes]] | None = None  # link_all's loader

    def add(self, record: str, nhs: Iterable[str], upns: Iterable[str], dobs: Iterable[date],
            sexes: Iterable[str] = ()) -> None:
        self.parent[record] = record
        self.groups[record] = _Group([record], set(nhs), set(upns), set(dobs), set(sexes))

    def link_all(self, links: list[Link], subjects: Iterable[str], *,
                 attributes: Callable[[list[str]], Iterable[Attributes]],
                 may_refuse: Callable[[dict[str, str]], set[str]]) -> None:
        """Add `subjects` (every subject a link names, and any other) and apply `links` in order:
        the same groups, applied links and refusals as add() and union() one by one.
        `attributes(subjects)`: their attributes; `may_refuse(component_of)`: of the connected
        components the links make (subject -> a component's name), those whose subjects hold more
        than one NHS number, UPN, date of birth or recorded sex, or two subjects of one agency. Only
        in those (and in components holding a pair a person said differ) can a rail refuse a union,
        so only theirs are checked; in any other, every link joining two groups is applied."""
        self._attributes = attributes
        component = {s: s for s in subjects}
        joins = []  # per link: did it join two components (then, unchecked, it is applied)

        def find(x: str) -> str:
            while component[x] != x:
                component[x] = component[component[x]]
                x = component[x]
            return x

        for link in links:  # (a million links at a million children: the roots are looked up inline)
            ra, rb = component[link.a], component[link.b]
            if component[ra] != ra:
                ra = find(ra)
            if component[rb] != rb:
                rb = find(rb)
            joins.append(ra != rb)
            if ra != rb:
                component[rb] = ra
        for s in component:
            component[s] = find(s)
        checked = may_refuse(component) | {component[a] for a, others in self._apart.items() if a in component
                                           for b in others if component.get(b) == component[a]}
        members_of: dict[str, list[str]] = {}
        for s, root in component.items():
            members_of.setdefault(root, []).append(s)
        to_check = []
        self.parent = component  # each subject's root: the unchecked ones' final parents (add() resets the rest)
        for root, members in members_of.items():
            if root in checked:
                to_check.extend(members)
            else:
                self.groups[root] = _Group(members)
        checked_subjects = set(to_check)
        for subject in to_check:
            self.add(subject, (), (), ())
        for subject, nhs, upns, dobs, sexes in attributes(to_check):
            self.groups[subject].take(nhs, upns, dobs, sexes)
        for link, joined in zip(links, joins):
            if link.a in checked_subjects:
                self.union(link)
            elif joined:
                self.applied.append(link)

    def load(self, subjects: Iterable[str]) -> None:
        """Read the attributes of the groups holding `subjects` that link_all settled unchecked,
        in one call of its loader (forbids() reads them one group at a time otherwise)."""
        groups = {id(g): g for g in (self.groups[self.find(s)] for s in subjects) if not g.loaded}
        members = {m: g for g in groups.values() for m in g.members}
        if not members:
            return
        for g in groups.values():  # a subject with no records' attributes still leaves its group read
            g.take((), (), (), ())
        for subject, nhs, upns, dobs, sexes in self._attributes(list(members)):
            members[subject].take(nhs, upns, dobs, sexes)

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
        if ra == rb:
            return None
        self.load([a, b])
        return self._absolute(self.groups[ra], self.groups[rb])

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
