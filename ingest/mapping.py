"""Apply a source's mapping to each row: canonical person and event records, and the problems found.

A problem of the row itself (its agency, its person: subject id, date of birth or any person field;
a value the reader could not take) quarantines the row whole, with every problem found (column,
value, reason): a person or events without the row they stand on would be worse than none. A
problem of one event (its record id, type, date, time, outcome, related agency, recorded_at, ...)
quarantines that event only, and with it every other event of the row made from the same wrong
value (an event whose record id is built from a date that is not a date cannot be identified); the
row's other events and its person load. A row whose every event is quarantined is quarantined
whole. Quarantine reasons:

  missing_required   a required value is empty (record id, subject, event type, event date)
  bad_date           a date that is not a date in any of the source's formats
  unknown_code       a code the mapping does not know (event type, outcome, agency, role)
  date_in_future     an event (or recording) after the run date
  date_before_birth  an event before the subject's date of birth, for a type that cannot precede birth
  unreadable_row     (from the reader) a row that could not be parsed at all
  duplicate_record   (from the loader) a record id repeated within one file
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from casehistory.identifiers import is_valid_nhs_number, is_valid_upn, normalise_nhs_number, normalise_upn
from casehistory.vocabulary import agencies, event_types
from ingest.readers.base import FileRejected, RawRow
from ingest.registry import EventSpec, Field_, SourceSpec, TableSpec

PERSON_ROLES = {"child", "mother", "father", "carer", "sibling", "half_sibling", "other_adult"}
SEX_WORDS = {"m": "M", "male": "M", "f": "F", "female": "F", "u": "U", "unknown": "U", "not known": "U",
             "i": "U", "indeterminate": "U", "not stated": "U"}
EVENT_FIELDS = ("event_type", "event_date", "event_time", "outcome", "related_agency", "practitioner_role",
                "summary", "recorded_at", "review_id", "family_ref", "person_role")
PERSONS_REMEMBERED = 200_000  # distinct persons' mappings a file's Mapper keeps (bounds its memory)
NORMALISED_FIELDS = {"nhs_number", "upn", "sex", "postcode", "related_agency", "person_role", "outcome"}  # the rest: text
PERSON_FIELDS = ("nhs_number", "upn", "la_child_id", "forename", "surname", "date_of_birth", "sex", "postcode",
                 "family_ref", "person_role")


@dataclass
class Problem:
    column: str | None
    value: str | None
    reason: str
    message: str


@dataclass
class RejectedEvent:
    """An event of a row that is quarantined, with its problems: which event, where known."""
    record_id: str | None
    event_type: str | None
    problems: list[Problem]


@dataclass
class MappedRow:
    row: RawRow
    agency: str | None
    person: dict | None = None
    events: list[dict] = field(default_factory=list)  # the events that load
    row_problems: list[Problem] = field(default_factory=list)  # the row's own: it is quarantined whole
    rejected: list[RejectedEvent] = field(default_factory=list)  # events quarantined on their own

    @property
    def problems(self) -> list[Problem]:
        """Every problem found: the row's own and its quarantined events'."""
        return [*self.row_problems, *(p for event in self.rejected for p in event.problems)]

    @property
    def quarantined_whole(self) -> bool:
        """Nothing of the row loads: a problem of its own, or every event it gives is quarantined."""
        return bool(self.row_problems) or (bool(self.rejected) and not self.events)


class DateParser:
    """Dates in a source's formats, cached: extracts repeat the same few thousand dates."""

    def __init__(self, formats: list[str]):
        self.formats = formats
        self._cache: dict[str, datetime | None] = {}

    def __call__(self, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime.combine(value, time())
        text = str(value)
        if text not in self._cache:
            self._cache[text] = self._parse(text)
        return self._cache[text]

    def _parse(self, text: str) -> datetime | None:
        for fmt in self.formats:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        return None


def resolve_columns(spec: SourceSpec, table: TableSpec, columns: list[str], where: str = "the file") -> dict[str, str]:
    """The file's spelling of every column the mapping names; rejects the file if any is missing."""
    by_fold = {c.casefold(): c for c in columns}
    required = set(table.required(spec.agency))
    resolved = {}
    missing = []
    for name in table.columns_used(spec.agency):
        actual = by_fold.get(name.casefold())
        if actual is not None:
            resolved[name] = actual
        elif name in required:
            missing.append(name)
    if missing:
        raise FileRejected(
            "wrong_columns",
            f"missing column(s) {', '.join(repr(m) for m in missing)}; {where} has "
            + ", ".join(repr(c) for c in columns[:40]) + (" ..." if len(columns) > 40 else ""),
        )
    return resolved


class Mapper:
    def __init__(self, spec: SourceSpec, table: TableSpec, columns: list[str], run_date: date, where: str = "the file"):
        self.spec = spec
        self.table = table
        self.cols = resolve_columns(spec, table, columns, where)
        self.run_date = run_date
        self.vocab = event_types()
        self.agency_codes = set(agencies())
        self.dates = DateParser(spec.date_formats)
        self._field_dates: dict[int, DateParser] = {}
        self._codes: dict[int, dict[str, Any]] = {}  # per field: codes with case-folded keys
        self._readers: dict[int, Callable[[dict], tuple[Any, str | None]]] = {}  # per field
        person = table.person.fields().values() if table.person is not None else ()
        self._person_columns = list(dict.fromkeys(self.cols.get(c, c) for fld in person for c in fld.columns))
        self._persons: dict[tuple, tuple[dict | None, list[Problem]]] = {}
        self._event_columns: dict[int, set[str]] = {}

    # ---- raw values --------------------------------------------------------------------------------
    def raw(self, fld: Field_, values: dict) -> tuple[Any, str | None]:
        """The value a field reads and the column it came from (for messages)."""
        read = self._readers.get(id(fld))
        if read is None:
            read = self._readers[id(fld)] = self._reader(fld)
        return read(values)

    def _reader(self, fld: Field_) -> Callable[[dict], tuple[Any, str | None]]:
        """How a field reads a row, worked out once per file: rows run into the millions."""
        if fld.const is not None:
            return lambda values: (fld.const, None)
        named = [(col, self.cols.get(col, col)) for col in fld.columns]
        if fld.template is not None:
            where = ", ".join(fld.columns)

            def templated(values: dict) -> tuple[Any, str | None]:
                parts = {}
                for col, in_file in named:
                    v = values.get(in_file)
                    if v is None:
                        return None, col
                    parts[col] = _template_text(v)
                return _extract(fld, fld.template.format(**parts)), where
            return templated
        first = named[0][0] if named else None
        if len(named) == 1 and fld.regex is None:
            in_file = named[0][1]
            return lambda values: (values.get(in_file), first)

        def first_given(values: dict) -> tuple[Any, str | None]:
            for col, in_file in named:
                v = values.get(in_file)
                if v is not None:
                    return _extract(fld, v), col
            return None, first
        return first_given

    def coded(self, fld: Field_, name: str, values: dict, problems: list[Problem]) -> tuple[Any, str | None]:
        value, col = self.raw(fld, values)
        if value is None or fld.codes is None:
            return value, col
        codes = self._codes.get(id(fld))
        if codes is None:
            codes = self._codes[id(fld)] = {str(k).strip().casefold(): v for k, v in fld.codes.items()}
        key = str(value).strip().casefold()
        if key in codes:
            return codes[key], col
        if fld.unmapped == "keep":
            return value, col
        if fld.unmapped == "null":
            return None, col
        problems.append(Problem(col, _text(value), "unknown_code", f"{name}: {value!r} is not one of the codes mapped"
                                f" in the source's YAML ({', '.join(sorted(fld.codes)[:12])}...)"))
        return None, col

    def date_of(self, fld: Field_, name: str, values: dict, problems: list[Problem]) -> tuple[datetime | None, str | None]:
        value, col = self.coded(fld, name, values, problems)
        if value is None:
            return None, col
        parser = self.dates
        if fld.formats:
            parser = self._field_dates.setdefault(id(fld), DateParser(fld.formats))
        parsed = parser(value)
        if parsed is None:
            problems.append(Problem(col, _text(value), "bad_date",
                                    f"{name}: {value!r} is not a date in any of the formats {', '.join(parser.formats)}"))
        return parsed, col

    # ---- one row --------------------------------------------------------------------------------
    def map(self, row: RawRow) -> MappedRow:
        values = row.values
        problems: list[Problem] = []  # the row's own
        agency = self.agency_of(values, problems)
        out = MappedRow(row, agency)
        dob = None
        if self.table.person is not None:
            out.person = self.person_of_row(values, problems, agency)
            dob = out.person.get("date_of_birth") if out.person else None
        elif self.table.date_of_birth is not None:
            born, _ = self.date_of(self.table.date_of_birth, "date_of_birth", values, problems)
            dob = born.date() if born else None
        mapped: list[tuple[EventSpec, dict, list[Problem]]] = []
        for spec in self.table.events:
            if not self.wanted(spec, values):
                continue
            found: list[Problem] = []
            mapped.append((spec, self.event(spec, values, found, problems, agency, dob), found))
        # a wrong value quarantines every event made from it, not only the one that found it
        for spec, event, found in mapped:
            reads = self._columns_read(spec)
            found += [p for other_spec, _, other in mapped if other_spec is not spec for p in other
                      if p.column in reads and (p.column, p.reason) not in {(q.column, q.reason) for q in found}]
        for spec, event, found in mapped:
            if found:
                out.rejected.append(RejectedEvent(event["record_id"], event["event_type"], _one_per_fault(found)))
            else:
                out.events.append(event)
        out.row_problems = _one_per_fault(problems)
        if out.quarantined_whole:
            out.person, out.events = None, []
        return out

    def _columns_read(self, spec: EventSpec) -> set[str]:
        """Every column an event's values are made from (its record id's template included)."""
        cols = self._event_columns.get(id(spec))
        if cols is None:
            cols = self._event_columns[id(spec)] = {
                c for name in EventSpec.model_fields if isinstance(fld := getattr(spec, name), Field_)
                for c in fld.columns}
        return cols

    def wanted(self, spec: EventSpec, values: dict) -> bool:
        """Does the row give this event? Every `when` condition must hold."""
        for cond in spec.conditions:
            if isinstance(cond, str):
                if values.get(self.cols.get(cond, cond)) is None:
                    return False
            elif not cond.holds(values.get(self.cols.get(cond.column, cond.column))):
                return False
        return True

    def agency_of(self, values: dict, problems: list[Problem]) -> str | None:
        if isinstance(self.spec.agency, str):
            return self.spec.agency
        value, col = self.coded(self.spec.agency, "agency", values, problems)
        if value is None:
            problems.append(Problem(col, None, "missing_required", "agency: empty"))
            return None
        code = str(value).strip().casefold()
        if code not in self.agency_codes:
            problems.append(Problem(col, _text(value), "unknown_code",
                                    f"agency: {value!r} is not an agency code (casehistory/reference/agencies.yml)"))
            return None
        return code

    def person_of_row(self, values: dict, problems: list[Problem], agency: str | None) -> dict | None:
        """The row's person, mapped once per distinct set of the values it is made from: an extract
        repeats a child's details on each of their rows."""
        key = (agency, *(values.get(c) for c in self._person_columns))
        known = self._persons.get(key)
        if known is None:
            found: list[Problem] = []
            known = (self.person(values, found, agency), found)
            if len(self._persons) >= PERSONS_REMEMBERED:
                self._persons.clear()
            self._persons[key] = known
        person, found = known
        problems.extend(found)
        return dict(person) if person is not None else None

    def person(self, values: dict, problems: list[Problem], agency: str | None) -> dict | None:
        spec = self.table.person
        assert spec is not None
        subject, col = self.raw(spec.subject_ref, values)
        if subject is None:
            problems.append(Problem(col, None, "missing_required", "subject_ref: the person's id is empty"))
            return None
        rec: dict[str, Any] = {"subject_ref": _text(subject)}
        for name in PERSON_FIELDS:
            fld = getattr(spec, name)
            if fld is None:
                rec[name] = None
            elif name == "date_of_birth":
                parsed, _ = self.date_of(fld, name, values, problems)
                rec[name] = parsed.date() if parsed else None
            else:
                rec[name] = self.mapped(fld, name, values, problems)
        rec["nhs_number_valid"] = is_valid_nhs_number(rec["nhs_number"])
        rec["upn_valid"] = is_valid_upn(rec["upn"])
        rec["subject_namespace"] = self.spec.namespace_for(agency) if agency else None
        return rec

    def event(self, spec: EventSpec, values: dict, problems: list[Problem], row_problems: list[Problem],
              agency: str | None, dob: date | None) -> dict:
        """The event's record; its own problems into `problems`, the row's (who it is about) into `row_problems`."""
        rec: dict[str, Any] = {}
        for name, found in (("record_id", problems), ("subject_ref", row_problems)):
            value, col = self.raw(getattr(spec, name), values)
            if value is None:
                found.append(Problem(col, None, "missing_required", f"{name}: empty"))
            rec[name] = _text(value)
        etype = rec["event_type"] = self.event_type_of(spec, values, problems)
        when, col = self.date_of(spec.event_date, "event_date", values, problems)
        if when is None and not any(p.reason == "bad_date" and p.column == col for p in problems):
            problems.append(Problem(col, None, "missing_required", "event_date: empty"))
        rec["event_date"] = when.date() if when else None
        if when is not None:
            if when.date() > self.run_date:
                problems.append(Problem(col, _text(values.get(self.cols.get(col or "", ""))), "date_in_future",
                                        f"event_date: {when.date()} is after the run date {self.run_date}"))
            elif dob and when.date() < dob and etype and not self.vocab[etype].may_precede_birth:
                problems.append(Problem(col, _text(values.get(self.cols.get(col or "", ""))), "date_before_birth",
                                        f"event_date: {when.date()} is before the subject's birth on {dob}"
                                        f" ({etype} cannot precede birth)"))
        rec["event_time"] = None
        if spec.event_time is not None:
            t, _ = self.raw(spec.event_time, values)
            rec["event_time"] = _time_of(t, self.dates)
        elif when is not None and when.time() != time():
            rec["event_time"] = when.time()
        rec["recorded_at"] = None
        if spec.recorded_at is not None:
            recorded, col = self.date_of(spec.recorded_at, "recorded_at", values, problems)
            if recorded is not None and recorded.date() > self.run_date + timedelta(days=1):
                problems.append(Problem(col, _text(recorded), "date_in_future",
                                        f"recorded_at: {recorded} is after the run date {self.run_date}"))
            rec["recorded_at"] = recorded
        for name in ("outcome", "related_agency", "practitioner_role", "summary", "review_id", "family_ref", "person_role"):
            fld = getattr(spec, name)
            if fld is None:
                rec[name] = None
                continue
            rec[name] = self.mapped(fld, name, values, problems, etype)
        rec["agency"] = agency
        rec["subject_namespace"] = self.spec.namespace_for(agency) if agency else None
        return rec

    def event_type_of(self, spec: EventSpec, values: dict, problems: list[Problem]) -> str | None:
        etype, col = self.coded(spec.event_type, "event_type", values, problems)
        if etype is None:
            if not any(p.column == col and p.reason == "unknown_code" for p in problems):
                problems.append(Problem(col, None, "missing_required", "event_type: empty"))
            return None
        etype = str(etype).strip().casefold()
        if etype not in self.vocab:
            problems.append(Problem(col, _text(etype), "unknown_code",
                                    f"event_type: {etype!r} is not in the event vocabulary"))
            return None
        return etype

    def mapped(self, fld: Field_, name: str, values: dict, problems: list[Problem], etype: str | None = None) -> Any:
        """A field's value once its codes are applied and it is normalised (an outcome against its event type)."""
        value, col = self.coded(fld, name, values, problems)
        return self.normalise(name, value, col, problems, etype)

    def normalise(self, name: str, value: Any, col: str | None, problems: list[Problem], etype: str | None = None) -> Any:
        if value is None:
            return None
        text = _text(value).strip()
        if name not in NORMALISED_FIELDS:
            return text
        if name == "nhs_number":
            return normalise_nhs_number(text)
        if name == "upn":
            return normalise_upn(text)
        if name == "sex":
            return SEX_WORDS.get(text.casefold(), "U")
        if name == "postcode":
            compact = text.upper().replace(" ", "")
            return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
        if name == "related_agency":
            code = text.casefold()
            if code not in self.agency_codes:
                problems.append(Problem(col, text, "unknown_code", f"related_agency: {text!r} is not an agency code"))
                return None
            return code
        if name == "person_role":
            role = text.casefold().replace(" ", "_").replace("-", "_")
            if role not in PERSON_ROLES:
                problems.append(Problem(col, text, "unknown_code",
                                        f"person_role: {text!r} is not one of {', '.join(sorted(PERSON_ROLES))}"))
                return None
            return role
        if name == "outcome" and etype:
            et = self.vocab[etype]
            if et.open_outcome:
                return text
            canonical = {o.casefold(): o for o in et.outcomes}.get(text.casefold())
            if canonical is None:
                allowed = ", ".join(et.outcomes) or "none"
                problems.append(Problem(col, text, "unknown_code",
                                        f"outcome: {text!r} is not an outcome of {etype} (allowed: {allowed})"))
            return canonical
        return text


def _one_per_fault(problems: list[Problem]) -> list[Problem]:
    """One problem per (column, reason): an empty subject id is one fault, not one per record."""
    return list({(p.column, p.reason): p for p in problems}.values())


def _text(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _template_text(value: Any) -> Any:
    """A date in an id reads the same whether the file held a date cell, a midnight timestamp or
    ISO text: 2024-03-01, never 2024-03-01T00:00:00."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _extract(fld: Field_, value: Any) -> Any:
    """The part of a text value the field's pattern keeps (dates and times pass through)."""
    if fld.regex is None or not isinstance(value, str):
        return value
    found = fld.regex.search(value.strip())
    if found is None:
        return value
    kept = (found.group(1) if fld.regex.groups else found.group(0)) or ""
    return kept.strip() or None


def _time_of(value: Any, parser: DateParser) -> time | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    text = str(value).strip()
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    parsed = parser(text)
    return parsed.time() if parsed else None


# json.dumps(..., ensure_ascii=False) builds an encoder per call; one made once writes the same text
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def content_hash(record: dict, fields: tuple[str, ...]) -> str:
    """Identity of a record's content: a re-sent identical row is no new version."""
    payload = _to_json([_text(record.get(f)) for f in fields])
    return hashlib.md5(payload.encode("utf-8")).hexdigest()


def original_json(values: dict) -> str:
    return _to_json({k: _text(v) for k, v in values.items()})

