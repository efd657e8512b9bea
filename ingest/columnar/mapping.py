"""A source's mapping applied in SQL to a raw table, giving what ingest/mapping.py's Mapper gives.

Every mapped value is a function of a few of the row's values, and most take few distinct values
(codes, outcomes, dates). Those are worked out by the Mapper's own methods, once per distinct
value, into a lookup table joined to the rows. Values that are nearly all distinct are worked out
in SQL: text kept as the reader gave it, NHS numbers, UPNs and postcodes (ingest/columnar/sql.py),
and dates where SQL can be shown to read them as Python does.

A row SQL cannot vouch for is flagged and mapped by the Mapper itself, as on the row path: a row
with any problem (so each problem is quarantined with Python's own message), a value holding a
control character (json.dumps escapes those), an identifier with a character outside ASCII.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Callable

import duckdb
import pyarrow as pa

from ingest.columnar import sql
from ingest.columnar.raw import RAW, NotColumnar, RawTable
from ingest.mapping import NORMALISED_FIELDS, PERSON_FIELDS, DateParser, Mapper, _time_of
from ingest.readers.base import MAX_VALUE_CHARS
from ingest.registry import EventSpec, Field_, SourceSpec, TableSpec, WhenValue

_ARROW = {"varchar": pa.string(), "timestamp": pa.timestamp("us"), "time": pa.time64("us"), "boolean": pa.bool_()}
_CONTROL = re.compile(r"[\x00-\x1f]")
_NOT_PLAIN = re.compile(sql.NOT_PLAIN)


def _fields(spec: SourceSpec) -> list[Field_]:
    fields: list[Field_] = [spec.agency] if isinstance(spec.agency, Field_) else []
    for table in spec.table_specs.values():
        specs = ([table.person] if table.person else []) + list(table.events)
        fields += [f for s in specs for f in s.fields().values()]
        if table.date_of_birth is not None:
            fields.append(table.date_of_birth)
    return fields


def check_supported(spec: SourceSpec) -> None:
    """The mapping features SQL gives as the Mapper does; a source using others is mapped a row at a time."""
    for fld in _fields(spec):
        if fld.template is not None or fld.pattern is not None:
            raise NotColumnar("a field with a template or a pattern")
        texts = [fld.const or ""] + [f"{k}{v}" for k, v in (fld.codes or {}).items()]
        if any(_CONTROL.search(t) for t in texts):
            raise NotColumnar("a code or constant holding a control character")


class SqlMapping:
    """The SQL that maps RAW for one file, built from its mapping; lookups are made as it is built."""

    def __init__(self, con: duckdb.DuckDBPyConnection, raw: RawTable, spec: SourceSpec, table: TableSpec,
                 mapper: Mapper, run_date: date):
        self.con, self.raw, self.spec, self.table, self.mapper = con, raw, spec, table, mapper
        self.run_date = run_date
        self.index = {name: i for i, name in enumerate(raw.columns)}
        self.joins: list[str] = []
        self.lookups: list[str] = []
        self.flags: list[str] = []  # any true: the row is the Mapper's
        # every value a lookup can give is text of a plain row, or one of these
        constants = [t for fld in _fields(spec) for t in [fld.const or ""] + [str(v) for v in (fld.codes or {}).values()]]
        self.plain_codes = not any(_NOT_PLAIN.search(t) for t in constants)

    # ---- what a field reads ------------------------------------------------------------------------
    def column(self, name: str) -> str:
        i = self.index.get(self.mapper.cols.get(name, name))
        return f"r.c{i}" if i is not None else "null::varchar"

    def read(self, fld: Field_) -> str:
        """Mapper.raw: the field's constant, or the first of its columns that is not empty."""
        if fld.const is not None:
            return sql.literal(fld.const)
        refs = [self.column(c) for c in fld.columns]
        return refs[0] if len(refs) == 1 else f"coalesce({', '.join(refs)})"

    def values(self, fld: Field_, value: Any) -> dict:
        """A row holding `value` where the field reads it, for the Mapper's methods."""
        return {self.mapper.cols.get(fld.columns[0], fld.columns[0]): value} if fld.columns else {}

    # ---- lookups -----------------------------------------------------------------------------------
    def lookup(self, keys: list[str], fn: Callable[..., tuple[Any, bool]], out_type: str) -> tuple[str, str]:
        """(value, problem) of fn over each distinct set of the keys' values, as SQL for a row."""
        name = f"_lookup{len(self.lookups)}"
        alias = f"l{len(self.lookups)}"
        distinct = self.con.execute(
            f"select distinct {', '.join(f'{k} as k{i}' for i, k in enumerate(keys))} from {RAW} r").fetchall()
        outs = [fn(*row) for row in distinct]
        data = {f"k{i}": pa.array([row[i] for row in distinct], pa.string()) for i in range(len(keys))}
        data["value"] = pa.array([o[0] for o in outs], _ARROW[out_type])
        data["problem"] = pa.array([o[1] for o in outs], pa.bool_())
        self.con.register(f"{name}_in", pa.table(data))
        self.con.execute(f"create or replace temp table {name} as select * from {name}_in")
        self.con.unregister(f"{name}_in")
        self._join(name, alias, " and ".join(f"{alias}.k{i} is not distinct from {k}" for i, k in enumerate(keys)))
        return f"{alias}.value", f"coalesce({alias}.problem, false)"

    def _join(self, name: str, alias: str, on: str) -> None:
        self.lookups.append(name)
        self.joins.append(f"left join {name} {alias} on {on}")

    def date_lookup(self, fld: Field_, name: str) -> tuple[str, str]:
        """(timestamp, problem) for a date field: Mapper.date_of, in SQL where SQL reads the value as
        DateParser does (ingest/columnar/sql.py), by the Mapper's own parser where it does not."""
        if fld.codes is not None or fld.const is not None:
            def by_mapper(v):
                problems: list = []
                return self.mapper.date_of(fld, name, self.values(fld, v), problems)[0], bool(problems)
            return self.lookup([self.read(fld)], by_mapper, "timestamp")
        key = self.read(fld)
        formats = fld.formats or self.spec.date_formats
        parser = DateParser(formats)
        table = f"_lookup{len(self.lookups)}"
        alias = f"l{len(self.lookups)}"
        self.con.execute(f"""create or replace temp table {table} as
                             select k0, p.outcome as outcome, p.ts as ts
                             from (select k0, {sql.parse_date(self.con, 'k0', formats)} as p
                                   from (select distinct {key} as k0 from {RAW} r where {key} is not null))""")
        left = [row[0] for row in self.con.execute(
            f"select k0 from {table} where outcome = {sql.READ_BY_PYTHON}").fetchall()]
        if left:
            self.con.register(f"{table}_py", pa.table({"k0": pa.array(left, pa.string()),
                                                        "ts": pa.array([parser(v) for v in left], pa.timestamp("us"))}))
            self.con.execute(f"update {table} set ts = p.ts, outcome = {sql.READ_BY_DUCKDB} from {table}_py p "
                             f"where {table}.k0 = p.k0")
            self.con.unregister(f"{table}_py")
        self._join(table, alias, f"{alias}.k0 = {key}")
        return f"{alias}.ts", f"({key} is not null and {alias}.ts is null)"

    # ---- fields ------------------------------------------------------------------------------------
    def field(self, fld: Field_, name: str, event: EventSpec | None = None) -> tuple[str, str]:
        """(value, problem) of Mapper.mapped for a field of a person or an event."""
        value = self.read(fld)
        if fld.codes is None and fld.const is None:
            if name not in NORMALISED_FIELDS:  # text as the reader gave it (already stripped)
                return value, "false"
            if name in ("nhs_number", "upn", "postcode"):
                self.flags.append(f"not {sql.is_ascii(value)}")
                normalise = {"nhs_number": sql.nhs_number, "upn": sql.upn, "postcode": sql.postcode}[name]
                return normalise(value), "false"
        if name == "outcome" and event is not None:  # an outcome is checked against its event's type
            etype_fld = event.event_type

            def outcome(raw_type, v):
                problems: list = []
                etype = self.mapper.event_type_of(event, self.values(etype_fld, raw_type), [])
                return self.mapper.mapped(fld, name, self.values(fld, v), problems, etype), bool(problems)
            return self.lookup([self.read(etype_fld), value], outcome, "varchar")

        def mapped(v):
            problems: list = []
            return self.mapper.mapped(fld, name, self.values(fld, v), problems), bool(problems)
        return self.lookup([value], mapped, "varchar")

    def agency(self) -> tuple[str, str]:
        if isinstance(self.spec.agency, str):
            return sql.literal(self.spec.agency), "false"
        fld = self.spec.agency

        def agency_of(v):
            problems: list = []
            return self.mapper.agency_of(self.values(fld, v), problems), bool(problems)
        return self.lookup([self.read(fld)], agency_of, "varchar")

    def holds(self, cond: str | WhenValue) -> str:
        if isinstance(cond, str):
            return f"({self.column(cond)} is not null)"
        value, _ = self.lookup([self.column(cond.column)], lambda v: (cond.holds(v), False), "boolean")
        return value

    # ---- the whole row -----------------------------------------------------------------------------
    def build(self) -> None:
        """The mapped row's columns (rows()): flagged (the Mapper's), or its person and events."""
        cols: dict[str, str] = {"row_number": "r.row_number", "locator": self.raw.locator}
        problems: list[str] = []
        agency, agency_problem = self.agency()
        problems.append(agency_problem)
        namespace = sql.literal(self.spec.subject_namespace) if self.spec.subject_namespace else agency
        cols["agency"], cols["subject_namespace"] = agency, namespace
        self.fixed_agency = agency if isinstance(self.spec.agency, str) else None
        person = self.table.person
        if person is not None:
            cols["p_subject_ref"] = self.person_subject = self.read(person.subject_ref)
            problems.append("p_subject_ref is null")
            for name in PERSON_FIELDS:
                fld = getattr(person, name)
                if fld is None:
                    cols[f"p_{name}"] = "null::varchar"
                elif name == "date_of_birth":
                    ts, problem = self.date_lookup(fld, name)
                    cols["p_date_of_birth"] = f"({ts})::date"
                    problems.append(problem)
                else:
                    cols[f"p_{name}"], problem = self.field(fld, name)
                    problems.append(problem)
            if person.date_of_birth is None:
                cols["p_date_of_birth"] = "null::date"
            for name in ("nhs_number", "upn"):  # their check digits (sql.py) read ASCII digits and letters
                self.flags.append(f"not {sql.is_ascii('p_' + name)}")
        elif self.table.date_of_birth is not None:
            ts, problem = self.date_lookup(self.table.date_of_birth, "date_of_birth")
            cols["t_date_of_birth"] = f"({ts})::date"
            problems.append(problem)
        wanted: list[tuple[str, list[str]]] = []
        for k, event in enumerate(self.table.events):
            event_problems = self.event(k, event, cols)
            conditions = [self.holds(c) for c in event.conditions]
            cols[f"e{k}_wanted"] = " and ".join(f"coalesce({c}, false)" for c in conditions) or "true"
            wanted.append((f"e{k}_wanted", event_problems))
        cells = [f"r.c{i}" for i in range(len(self.raw.columns))]
        if cells:  # json.dumps escapes control characters; a value past MAX_VALUE_CHARS is value_fault's
            every = f"concat_ws('', {', '.join(cells)})"
            self.flags.append(f"case when r.plain then false else regexp_matches({every}, "
                              f"{sql.literal(sql.JSON_CONTROL)}) or length({every}) > {MAX_VALUE_CHARS} end")
        cols["plain"] = "r.plain"
        cols["original"] = self.original()
        # problems of an event count only when the row gives it (Mapper.map maps only wanted events)
        row_problems = [f"coalesce({p}, false)" for p in problems + self.flags]
        for wanted_col, event_problems in wanted:
            if event_problems:
                row_problems.append(f"({wanted_col} and ({' or '.join(f'coalesce({p}, false)' for p in event_problems)}))")
        cols["flagged"] = " or ".join(row_problems) or "false"
        self.select = ",\n       ".join(f"{expr} as {name}" for name, expr in cols.items())

    def rows(self, where: str = "true", raw: str = RAW) -> str:
        """The mapped rows (those `where` keeps, over the raw table r) as a derived table, never
        materialised: each statement computes what it reads of it, for the rows it keeps."""
        return f"(select {self.select}\nfrom {raw} r {' '.join(self.joins)}\nwhere {where})"

    def event(self, k: int, event: EventSpec, cols: dict[str, str]) -> list[str]:
        """Event k's columns (e{k}_...) into cols; returns its problems, as SQL over those columns."""
        p = f"e{k}_"
        problems = []
        for name in ("record_id", "subject_ref"):
            cols[p + name] = self.read(getattr(event, name))
            problems.append(f"{p}{name} is null")
        etype, etype_problem = self.lookup([self.read(event.event_type)], self._event_type(event), "varchar")
        cols[p + "event_type"] = etype
        cols[p + "etype_problem"] = etype_problem
        problems.append(f"{p}etype_problem")
        ts, date_problem = self.date_lookup(event.event_date, "event_date")
        cols[p + "ts"] = ts
        cols[p + "date_problem"] = date_problem
        cols[p + "event_date"] = f"({ts})::date"
        problems += [f"{p}date_problem", f"{p}ts is null", f"{p}event_date > date '{self.run_date.isoformat()}'"]
        dob = "p_date_of_birth" if self.table.person is not None else (
            "t_date_of_birth" if self.table.date_of_birth is not None else None)
        if dob is not None:
            may_precede = [name for name, t in self.mapper.vocab.items() if t.may_precede_birth]
            not_before = f"{p}event_type in ({', '.join(sql.literal(n) for n in may_precede)})" if may_precede else "false"
            problems.append(f"({dob} is not null and {p}event_date < {dob} and not ({not_before}))")
        if event.event_time is not None:
            parser = self.mapper.dates
            cols[p + "event_time"], _ = self.lookup([self.read(event.event_time)],
                                                    lambda v: (_time_of(v, parser), False), "time")
        else:
            cols[p + "event_time"] = f"case when ({ts})::time <> time '00:00:00' then ({ts})::time end"
        if event.recorded_at is not None:
            recorded, recorded_problem = self.date_lookup(event.recorded_at, "recorded_at")
            cols[p + "recorded_at"] = recorded
            cols[p + "recorded_problem"] = recorded_problem
            later = (self.run_date + timedelta(days=1)).isoformat()
            problems += [f"{p}recorded_problem", f"coalesce({p}recorded_at::date > date '{later}', false)"]
        else:
            cols[p + "recorded_at"] = "null::timestamp"
        for name in ("outcome", "related_agency", "practitioner_role", "summary", "review_id", "family_ref",
                     "person_role"):
            fld = getattr(event, name)
            if fld is None:
                cols[p + name] = "null::varchar"
                continue
            cols[p + name], problem = self.field(fld, name, event)
            if problem != "false":
                cols[f"{p}{name}_problem"] = problem
                problems.append(f"{p}{name}_problem")
        return problems

    def _event_type(self, event: EventSpec) -> Callable[[Any], tuple[Any, bool]]:
        def event_type(v):
            problems: list = []
            return self.mapper.event_type_of(event, self.values(event.event_type, v), problems), bool(problems)
        return event_type

    def original(self) -> str:
        """original_json(row.values): the record's values as a JSON object, keys in its order (a
        plain row's values need no escaping)."""
        def by_shape(plain: bool) -> str:
            objects = [sql.json_object([(self.raw.columns[i], f"r.c{i}") for i in shape], plain)
                       for shape in self.raw.shapes]
            if len(objects) == 1:
                return objects[0]
            return "case r.shape " + " ".join(f"when {i} then {o}" for i, o in enumerate(objects)) + " end"
        return f"case when r.plain then {by_shape(True)} else {by_shape(False)} end"

    def drop(self) -> None:
        for name in self.lookups:
            self.con.execute(f"drop table if exists {name}")
