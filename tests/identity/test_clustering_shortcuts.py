"""The million-children shortcuts give exactly what the plain rules give.

Clusters.link_all checks the rails only in components where one could refuse a union, and
assign_in_store settles uncontested person ids in SQL. Each is compared here with the plain
definition on random cases full of what the rails exist for (two NHS numbers, two UPNs, dates of
birth no typo of each other, two records of one agency, conflicting sexes, a person's "different"):
add() and union() link by link, and assign() in Python.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import duckdb
import pytest

from casehistory.identity.cluster import NAME_METHODS, Clusters, Link
from casehistory.identity.resolve import _attributes, _may_refuse
from casehistory.identity.stable import assign, assign_in_store

NAMESPACES = ("csc", "police", "health", "school", "eh", "cafcass")
METHODS = ("nhs_number", "upn", "human", *NAME_METHODS, "model")
# 4 March, its day/month swap, the next day, and two dates no typo of either
DOBS = (date(2019, 3, 4), date(2019, 4, 3), date(2019, 3, 5), date(2016, 8, 20), date(2021, 12, 1))


def _subjects(rng: random.Random, n: int) -> dict[str, tuple]:
    """subject -> (NHS numbers, UPNs, dates of birth, sexes), mostly one value or none of each."""
    def some(pool, none_share):
        return [] if rng.random() < none_share else [rng.choice(pool)]
    return {f"{rng.choice(NAMESPACES)}:{i:04d}": (some(["NHS1", "NHS2"], 0.85), some(["UPN1", "UPN2"], 0.9),
                                                  some(DOBS, 0.1), some(["M", "F"], 0.3))
            for i in range(n)}


def _links(rng: random.Random, subjects: list[str], n: int) -> list[Link]:
    links = []
    for _ in range(n):
        a, b = rng.sample(subjects, 2)
        method = rng.choice(METHODS)
        links.append(Link(min(a, b), max(a, b), method, round(rng.uniform(0.9, 1.0), 3) if method == "model" else 1.0,
                          one_family=method in NAME_METHODS and rng.random() < 0.3))
    return links


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema identity")
    con.execute("""create table identity.subject_records (subject_key varchar, subject_namespace varchar,
                   nhs_number varchar, upn varchar, date_of_birth date, sex varchar)""")
    yield con
    con.close()


def _store(con, subjects: dict[str, tuple]) -> None:
    """Each subject as one record per value it holds (an agency's records of one subject may differ)."""
    rows = []
    for s, (nhs, upns, dobs, sexes) in subjects.items():
        for i in range(max(1, len(nhs), len(upns), len(dobs), len(sexes))):
            pick = lambda values: values[i] if i < len(values) else None  # noqa: E731
            rows.append((s, s.split(":")[0], pick(nhs), pick(upns), pick(dobs), pick(sexes)))
    con.executemany("insert into identity.subject_records values (?, ?, ?, ?, ?, ?)", rows)


def _plain(subjects: dict[str, tuple], links: list[Link], apart: list[tuple[str, str]]) -> Clusters:
    clusters = Clusters()
    for s, attributes in subjects.items():
        clusters.add(s, *attributes)
    for a, b in apart:
        clusters.keep_apart(a, b)
    for link in links:
        clusters.union(link)
    return clusters


def _shortcut(con, subjects: dict[str, tuple], links: list[Link], apart: list[tuple[str, str]], may_refuse=None) -> Clusters:
    clusters = Clusters()
    for a, b in apart:
        clusters.keep_apart(a, b)
    clusters.link_all(links, subjects, attributes=lambda asked: _attributes(con, asked),
                      may_refuse=may_refuse or (lambda component: _may_refuse(con, component)))
    return clusters


def _outcome(clusters: Clusters) -> tuple:
    return (sorted(clusters.clusters()), [(l.a, l.b, l.method) for l in clusters.applied],
            [(r.link.a, r.link.b, r.rule) for r in clusters.refused])


@pytest.mark.parametrize("seed", range(6))
def test_link_all_gives_the_groups_links_and_refusals_of_union_link_by_link(con, seed):
    rng = random.Random(seed)
    subjects = _subjects(rng, 400)
    _store(con, subjects)
    keys = sorted(subjects)
    links = _links(rng, keys, 300)  # sparse: many small components, some with a rail to break
    apart = [tuple(rng.sample(keys, 2)) for _ in range(15)]
    plain = _plain(subjects, links, apart)
    shortcut = _shortcut(con, subjects, links, apart)
    assert _outcome(shortcut) == _outcome(plain)
    assert plain.refused and len({r.rule for r in plain.refused}) >= 4  # the case holds what the rails are for
    # the rails, asked after clustering (the review queue asks), answer alike
    for a, b in (rng.sample(keys, 2) for _ in range(300)):
        assert shortcut.forbids(a, b) == plain.forbids(a, b), (a, b)
    # and the cases tell: with no component checked, link_all would join what the rails keep apart
    unchecked = _shortcut(con, subjects, links, apart, may_refuse=lambda component: set())
    assert _outcome(unchecked) != _outcome(plain)


def test_a_component_is_checked_when_two_of_its_subjects_differ_in_any_rail_and_only_then(con):
    base = ([], [], [date(2019, 3, 4)], ["F"])
    cases = {  # component -> a second subject's attributes beside "csc:1" (base)
        "clean": ("police:2", ([], [], [date(2019, 3, 4)], [])),
        "two_nhs": ("police:3", (["NHS1"], [], [], [])),
        "two_upn": ("police:4", ([], ["UPN1"], [], [])),
        "two_dobs": ("police:5", ([], [], [date(2019, 4, 3)], [])),
        "two_sexes": ("police:6", ([], [], [], ["M"])),
        "one_agency_twice": ("csc:7", ([], [], [], [])),
    }
    subjects, component = {}, {}
    for name, (other, attributes) in cases.items():
        first = f"csc:1{name}"
        subjects[first] = (["NHS0"] if name == "two_nhs" else [], ["UPN0"] if name == "two_upn" else [], *base[2:])
        subjects[other] = attributes
        component[first] = component[other] = name
    _store(con, subjects)
    assert _may_refuse(con, component) == set(cases) - {"clean"}


def _random_assignment_case(rng: random.Random) -> tuple[list[list[str]], dict[str, str]]:
    """Last run's persons, then tonight's clusters: unchanged, merged, split, new, and subjects gone."""
    people = [[f"s{p:03d}{k}" for k in range(rng.choice((1, 1, 2, 3, 4)))] for p in range(120)]
    previous = {s: f"P{p + 1:09d}" for p, members in enumerate(people) for s in members}
    pool = [s for members in people for s in members if rng.random() > 0.05]  # some subjects left the ledger
    pool += [f"new{i:03d}" for i in range(40)]
    rng.shuffle(pool)
    clusters, i = [], 0
    by_person = sorted(pool)  # mostly keep people together (sorted keys sit by person), cut at random
    while i < len(by_person):
        size = rng.choice((1, 1, 2, 3, 4, 5, 7))
        clusters.append(by_person[i:i + size])
        i += size
    return clusters, previous


@pytest.mark.parametrize("seed", range(6))
def test_person_ids_settled_in_the_store_are_those_assign_gives(con, seed):
    rng = random.Random(seed)
    clusters, previous = _random_assignment_case(rng)
    expected = assign(clusters, previous, next_number=500)
    con.execute("create table identity.subject_person (subject_key varchar, person_id varchar, person_key varchar)")
    con.executemany("insert into identity.subject_person values (?, ?, 'k')", list(previous.items()))
    con.execute("create table members (subject_key varchar, cluster_key varchar)")
    con.executemany("insert into members values (?, ?)", [(s, min(c)) for c in clusters for s in c])
    got = assign_in_store(con, "members", next_number=500)
    assert dict(con.execute(f"select * from {got.persons}").fetchall()) == expected.person_of
    assert sorted(p for (p,) in con.execute(f"select * from {got.new_ids}").fetchall()) == sorted(expected.new_ids)
    created = [("created", p, None, n) for p, n in con.execute(f"select * from {got.created}").fetchall()]
    as_rows = lambda changes: [(c.action, c.person_id, c.other_person_id, c.subjects) for c in changes]  # noqa: E731
    assert Counter(created + as_rows(got.changes)) == Counter(as_rows(expected.changes))
    assert {c.action for c in expected.changes} >= {"created", "merged", "split", "retired"}  # the case holds each
