"""Give each cluster of subjects a person id that survives nightly runs, and say what changed.

A cluster keeps the id most of its subjects had last run. When two earlier people now form one
cluster, the id with more subjects survives and the other is recorded as merged into it; when an
earlier person's subjects now sit in several clusters, the largest part keeps the id and the others
get new ones, recorded as split from it. Ids are never reused: a retired id stays retired.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """clusters: subject keys per cluster; previous: subject -> person id of the last run.
    (Plain loops throughout, and a fast path for the one-subject clusters most people are: at a
    million children this runs over a million clusters.)"""
    overlaps: list[tuple[int, int, str, int]] = []  # (-count, -cluster size, previous id, cluster index)
    earlier_of: list[dict[str, int]] = []  # per cluster: previous id -> its subjects here
    get = previous.get
    for i, cluster in enumerate(clusters):
        if len(cluster) == 1:
            pid = get(cluster[0])
            earlier = {pid: 1} if pid is not None else {}
        else:
            earlier = {}
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

    changes: list[Change] = []
    new_ids: list[str] = []
    person_of: dict[str, str] = {}
    for i, cluster in enumerate(clusters):
        earlier = earlier_of[i]
        pid = id_of_cluster.get(i)
        if pid is None:
            pid = id_of_cluster[i] = f"P{next_number:09d}"
            next_number += 1
            new_ids.append(pid)
            if not earlier:
                changes.append(Change("created", pid, None, len(cluster)))
        for s in cluster:
            person_of[s] = pid
        if not earlier:
            continue
        for old, count in sorted(earlier.items()) if len(earlier) > 1 else earlier.items():
            if old == pid:
                continue
            if old in used:  # the earlier person lives on elsewhere: these subjects split from it
                changes.append(Change("split", pid, old, count))
            else:  # the earlier person is wholly absorbed: its id retires into this one
                changes.append(Change("merged", old, pid, count))
    accounted = set(id_of_cluster.values()) | {c.person_id for c in changes if c.action == "merged"}
    for old in sorted(set(previous.values()) - accounted):
        changes.append(Change("retired", old, None, 0))  # its subjects are gone from the ledger
    return Assignment(person_of, new_ids, changes)
