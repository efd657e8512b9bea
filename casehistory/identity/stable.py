"""Give each cluster of subjects a person id that survives nightly runs, and say what changed.

A cluster keeps the id most of its subjects had last run. When two earlier people now form one
cluster, the id with more subjects survives and the other is recorded as merged into it; when an
earlier person's subjects now sit in several clusters, the largest part keeps the id and the others
get new ones, recorded as split from it. Ids are never reused: a retired id stays retired.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass(slots=True)
class Change:
    """created: person_id is new. merged: person_id retired into other_person_id.
    split: person_id received subjects from other_person_id, which lives on.
    retired: person_id has no subjects left (its records left the ledger's current view)."""

    action: str
    person_id: str
    other_person_id: str | None
    subjects: int


@dataclass
class Assignment:
    person_of: dict[str, str]  # subject -> person id
    new_ids: list[str]
    changes: list[Change]


def assign(clusters: list[list[str]], previous: dict[str, str], next_number: int) -> Assignment:
    """The rule in plain Python. clusters: subject keys per cluster; previous: subject -> person id
    of the last run. (The pipeline runs assign_in_store, which settles most clusters in SQL and
    hands the contested ones to the same keep_earlier and changes_of; tests compare the two.)"""
    clusters = sorted(sorted(c) for c in clusters)  # new ids in order of the clusters' least subject, as in the store
    id_of_cluster, earlier_of, used = keep_earlier(clusters, previous)
    changes: list[Change] = []
    new_ids: list[str] = []
    person_of: dict[str, str] = {}
    for i, cluster in enumerate(clusters):
        pid = id_of_cluster.get(i)
        if pid is None:
            pid = new_id(next_number)
            next_number += 1
            new_ids.append(pid)
        for s in cluster:
            person_of[s] = pid
        changes.extend(changes_of(len(cluster), earlier_of[i], pid, used))
    changes.extend(Change("retired", old, None, 0) for old in sorted(set(previous.values()) - _accounted(id_of_cluster, changes)))
    return Assignment(person_of, new_ids, changes)


def new_id(number: int) -> str:
    return f"P{number:09d}"


def keep_earlier(clusters: list[list[str]], previous: dict[str, str]) -> tuple[dict[int, str], list[dict[str, int]], set[str]]:
    """Which clusters keep an earlier id: the cluster with the most of an earlier person's subjects
    (then the larger cluster, then the lesser id) keeps it. Returns cluster index -> id kept, each
    cluster's earlier ids with their subjects there, and the ids kept. (Plain loops: at a million
    children this once ran over a million clusters.)"""
    overlaps: list[tuple[int, int, str, int]] = []  # (-count, -cluster size, previous id, cluster index)
    earlier_of: list[dict[str, int]] = []  # per cluster: previous id -> its subjects here
    get = previous.get
    for i, cluster in enumerate(clusters):
        earlier: dict[str, int] = {}
        for s in cluster:  # not Counter: its overhead is most of the cost
            pid = get(s)
            if pid is not None:
                earlier[pid] = earlier.get(pid, 0) + 1
        earlier_of.append(earlier)
        for pid, count in earlier.items():
            overlaps.append((-count, -len(cluster), pid, i))
    overlaps.sort()
    id_of_cluster: dict[int, str] = {}
    used: set[str] = set()
    for _, _, pid, i in overlaps:
        if i not in id_of_cluster and pid not in used:
            id_of_cluster[i] = pid
            used.add(pid)
    return id_of_cluster, earlier_of, used


def changes_of(size: int, earlier: dict[str, int], pid: str, used: set[str]) -> list[Change]:
    """What became of a cluster of `size` subjects, now person `pid`, whose subjects were earlier
    the persons `earlier` (id -> subjects); `used`: the earlier ids some cluster kept."""
    if not earlier:
        return [Change("created", pid, None, size)]
    changes = []
    for old, count in sorted(earlier.items()):
        if old == pid:
            continue
        if old in used:  # the earlier person lives on elsewhere: these subjects split from it
            changes.append(Change("split", pid, old, count))
        else:  # the earlier person is wholly absorbed: its id retires into this one
            changes.append(Change("merged", old, pid, count))
    return changes


def _accounted(id_of_cluster: dict[int, str], changes: list[Change]) -> set[str]:
    return set(id_of_cluster.values()) | {c.person_id for c in changes if c.action == "merged"}


@dataclass
class StoreAssignment:
    persons: str  # a temp table (subject_key, person_id): every current subject's person
    new_ids: str  # a temp table (person_id): the ids issued this run
    created: str  # a temp table (person_id, subjects): the "created" changes (a million on a first run)
    changes: list[Change]  # the others


def assign_in_store(con: duckdb.DuckDBPyConnection, members: str, next_number: int) -> StoreAssignment:
    """assign() over the store: `members` is a table (subject_key, cluster_key) of every current
    subject, cluster_key its cluster's least subject; the previous run's persons are
    identity.subject_person. Most clusters are settled in SQL: one that holds the subjects of one
    earlier person, and the only one holding any of them, keeps its id; one holding no earlier
    person's subject is created. The rest (merges, splits: contested ids) go through
    keep_earlier(), as in assign(). New ids are issued in order of cluster_key, as assign() issues
    them in the order of its sorted clusters."""
    con.execute(f"""create or replace temp table _earlier as
                    select m.cluster_key, p.person_id, count(*) as subjects
                    from {members} m join identity.subject_person p using (subject_key) group by all""")
    con.execute("""create or replace temp table _contested as
                   select distinct cluster_key from _earlier
                   where cluster_key in (select cluster_key from _earlier group by 1 having count(*) > 1)
                      or person_id in (select person_id from _earlier group by 1 having count(*) > 1)""")
    rows = con.execute(f"""select m.cluster_key, m.subject_key, p.person_id
                           from {members} m semi join _contested using (cluster_key)
                           left join identity.subject_person p using (subject_key)
                           order by m.cluster_key, m.subject_key""").fetchall()
    keys: list[str] = []
    clusters: list[list[str]] = []
    previous: dict[str, str] = {}
    for cluster_key, subject, pid in rows:
        if not keys or keys[-1] != cluster_key:
            keys.append(cluster_key)
            clusters.append([])
        clusters[-1].append(subject)
        if pid is not None:
            previous[subject] = pid
    id_of_cluster, earlier_of, used = keep_earlier(clusters, previous)
    kept = [(keys[i], pid) for i, pid in id_of_cluster.items()]
    con.register("_kept", pa.table({"cluster_key": pa.array([k for k, _ in kept], pa.string()),
                                    "person_id": pa.array([p for _, p in kept], pa.string())}))
    try:
        con.execute(f"""create or replace temp table _cluster_person as
                        with settled as (  -- uncontested: the one earlier person's id
                            select cluster_key, person_id from _earlier anti join _contested using (cluster_key)
                            union all from _kept),
                        fresh as (
                            select cluster_key from (select distinct cluster_key from {members}) anti join settled using (cluster_key))
                        select cluster_key, person_id, false as new from settled
                        union all
                        select cluster_key, 'P' || lpad(({next_number} - 1 + row_number() over (order by cluster_key))::varchar, 9, '0'),
                               true
                        from fresh""")
    finally:
        con.unregister("_kept")
    con.execute("create or replace temp table _new_ids as select person_id from _cluster_person where new")
    con.execute(f"""create or replace temp table _persons as
                    select m.subject_key, c.person_id from {members} m join _cluster_person c using (cluster_key)""")
    # created: every fresh cluster with no earlier subject (contested ones had some); contested: merges and splits
    con.execute(f"""create or replace temp table _created as
                    select c.person_id, count(*) as subjects from _cluster_person c join {members} m using (cluster_key)
                    where c.new and c.cluster_key not in (select cluster_key from _contested)
                    group by c.cluster_key, c.person_id order by c.cluster_key""")
    changes: list[Change] = []
    final = dict(con.execute("select cluster_key, person_id from _cluster_person semi join _contested using (cluster_key)").fetchall())
    for i, cluster in enumerate(clusters):
        changes.extend(changes_of(len(cluster), earlier_of[i], final[keys[i]], used))
    # retired: an earlier person none of whose subjects is current (every other earlier id is kept or merged)
    changes.extend(Change("retired", pid, None, 0) for (pid,) in con.execute(
        """select distinct person_id from identity.subject_person anti join _earlier using (person_id)
           order by person_id""").fetchall())
    con.execute("drop table _earlier")
    con.execute("drop table _contested")
    con.execute("drop table _cluster_person")
    return StoreAssignment("_persons", "_new_ids", "_created", changes)
