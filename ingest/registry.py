"""The source registry: one YAML file per agency source, validated on load.

A data team onboards an agency by writing one of these (see ingest/sources/README.md), never
Python. Every problem is reported with the file, the key and what is wrong, before any data is
read.
"""

from __future__ import annotations

import fnmatch
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from casehistory.vocabulary import agencies, event_types

FORMATS = ("csv", "xlsx", "json", "jsonl", "chronology_template", "cin_census_xml", "ssda903",
           "school_census", "annex_a")
# What agencies' systems and spreadsheets write, UK day-first and ISO, with and without a time
# (an ISO date-time without seconds is what Excel shows a typed "2023-10-28 13:25" as).
DEFAULT_DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
                        "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                        "%Y-%b-%d %H:%M:%S"]
_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


class RegistryError(ValueError):
    """A source file that cannot be used; the message names the file, key and problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Field_(Strict):
    """How one canonical value is read from a source row.

    In YAML a bare string is a column name. Otherwise exactly one of column, const or template.
    """

    column: str | list[str] | None = None  # a list: the first non-empty of these columns
    const: str | None = None
    template: str | None = None  # "{CHILD}/{DECOM}": columns substituted into text
    # a regular expression applied to the text before codes: its group (or whole match) is kept, e.g.
    # '^(\w+)\s*:' reads "6" from "6: Police"; text it does not match is kept whole
    pattern: str | None = None
    codes: dict[str, str | None] | None = None  # source code -> project value (keys case-insensitive)
    unmapped: Literal["reject", "keep", "null"] = "reject"  # a value not in codes
    formats: list[str] | None = None  # date formats for this field, instead of the source's

    @model_validator(mode="after")
    def _one_origin(self) -> Field_:
        given = [k for k in ("column", "const", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of column, const or template (got {', '.join(given) or 'none'})")
        if self.pattern is not None:
            try:
                groups = re.compile(self.pattern).groups
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {exc}") from None
            if groups > 1:
                raise ValueError(f"pattern {self.pattern!r} has {groups} groups; give at most one (the part to keep)")
        return self

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern) if self.pattern is not None else None

    @property
    def columns(self) -> list[str]:
        if self.column is not None:
            return [self.column] if isinstance(self.column, str) else list(self.column)
        if self.template is not None:
            return _TEMPLATE_FIELD.findall(self.template)
        return []


def _as_field(value: Any) -> Any:
    if isinstance(value, str):
        return {"column": value}
    return value


class _Mapped(Strict):
    @model_validator(mode="before")
    @classmethod
    def _strings_are_columns(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (_as_field(v) if k in cls.model_fields and k != "when" else v) for k, v in data.items()}
        return data

    def fields(self) -> dict[str, Field_]:
        return {k: v for k, v in self if isinstance(v, Field_)}


class PersonSpec(_Mapped):
    """Who the row is about. subject_ref is the agency's own id for the person."""

    subject_ref: Field_
    nhs_number: Field_ | None = None
    upn: Field_ | None = None
    la_child_id: Field_ | None = None
    forename: Field_ | None = None
    surname: Field_ | None = None
    date_of_birth: Field_ | None = None
    sex: Field_ | None = None
    postcode: Field_ | None = None
    family_ref: Field_ | None = None
    person_role: Field_ | None = None


class WhenValue(Strict):
    """A value condition in an event's `when`: {column: RNE, in: [S]} or {column: REC, not_in: [X1]}.

    Values compare as text, case-insensitively, and a whole number exported as a decimal ("1.0")
    reads as the number ("1"). `in` holds when the column has one of the values; `not_in` holds
    when it is empty or has none of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str = Field(min_length=1)
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[str] | None = Field(default=None, min_length=1)

    @field_validator("in_", "not_in", mode="before")
    @classmethod
    def _texts(cls, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        out = []
        for v in values:
            if isinstance(v, bool):  # YAML reads yes/no/true/false/on/off as booleans
                raise ValueError(f"{v!r} was read by YAML as a boolean: put the value in quotes")
            out.append(str(v) if isinstance(v, (int, float)) else v)
        return out

    @model_validator(mode="after")
    def _one_test(self) -> WhenValue:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("give exactly one of 'in' or 'not_in' with the column")
        return self

    @cached_property
    def folded(self) -> frozenset[str]:
        return frozenset(_comparable(v) for v in (self.in_ or self.not_in or []))

    def holds(self, value: Any) -> bool:
        present = value is not None and _comparable(value) in self.folded
        return present if self.in_ is not None else not present


_WHOLE_DECIMAL = re.compile(r"^(-?\d+)\.0+$")


def _comparable(value: Any) -> str:
    text = str(value).strip().casefold()
    whole = _WHOLE_DECIMAL.match(text)
    return whole.group(1) if whole else text


class EventSpec(_Mapped):
    """One event read from a row. A row may give several (a looked-after episode: start and end)."""

    # emit only when every condition holds: a column name = that column is non-empty; or a value
    # condition {column, in | not_in} (see WhenValue)
    when: str | WhenValue | list[str | WhenValue] | None = None
    record_id: Field_
    subject_ref: Field_
    event_type: Field_
    event_date: Field_
    event_time: Field_ | None = None
    outcome: Field_ | None = None
    related_agency: Field_ | None = None
    practitioner_role: Field_ | None = None
    summary: Field_ | None = None
    recorded_at: Field_ | None = None
    review_id: Field_ | None = None
    family_ref: Field_ | None = None
    person_role: Field_ | None = None

    @property
    def conditions(self) -> list[str | WhenValue]:
        if self.when is None:
            return []
        return list(self.when) if isinstance(self.when, list) else [self.when]

    @property
    def when_columns(self) -> list[str]:
        """Every column `when` reads (they must be in the file like any mapped column)."""
        return [c if isinstance(c, str) else c.column for c in self.conditions]


class TableSpec(Strict):
    """The mapping of one table: the rows of a simple file, or one table of a multi-table format
    (a CIN census element, an SSDA903 file, an Annex A list)."""

    person: PersonSpec | None = None
    events: list[EventSpec] = Field(default_factory=list)
    optional_columns: list[str] = Field(default_factory=list)  # may be absent from a file
    # a table that maps no person but holds the subject's date of birth (SSDA903 reviews): events
    # are checked against it (date_before_birth) and nothing else is done with it
    date_of_birth: Field_ | None = None

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _column(cls, value: Any) -> Any:
        return _as_field(value)

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        if self.person is None and not self.events:
            raise ValueError("map a person, events, or both")
        if self.person is not None and self.date_of_birth is not None:
            raise ValueError("date_of_birth: the table maps a person: give the date of birth under person")
        vocab = event_types()
        for i, ev in enumerate(self.events):
            f = ev.event_type
            values = list((f.codes or {}).values()) + ([f.const] if f.const else [])
            for v in values:
                if v is not None and v not in vocab:
                    raise ValueError(f"events[{i}].event_type: {v!r} is not in the event vocabulary")
            outcome_codes = ev.outcome.codes if ev.outcome else None
            if f.const and (outcome_codes or (ev.outcome and ev.outcome.const)):
                for v in list((outcome_codes or {}).values()) + [ev.outcome.const]:
                    if v is not None and not vocab[f.const].accepts_outcome(v):
                        raise ValueError(f"events[{i}].outcome: {v!r} is not an outcome of {f.const}")
            if ev.related_agency:
                for v in list((ev.related_agency.codes or {}).values()) + [ev.related_agency.const]:
                    if v is not None and v not in agencies():
                        raise ValueError(f"events[{i}].related_agency: {v!r} is not an agency code")
        return self

    def columns_used(self, agency: str | Field_) -> list[str]:
        cols: list[str] = list(agency.columns) if isinstance(agency, Field_) else []
        if self.date_of_birth is not None:
            cols.extend(self.date_of_birth.columns)
        specs: list[_Mapped] = ([self.person] if self.person else []) + list(self.events)
        for spec in specs:
            for fld in spec.fields().values():
                cols.extend(fld.columns)
            if isinstance(spec, EventSpec):
                cols.extend(spec.when_columns)
        return list(dict.fromkeys(cols))

    def required(self, agency: str | Field_) -> list[str]:
        optional = {c.casefold() for c in self.optional_columns}
        return [c for c in self.columns_used(agency) if c.casefold() not in optional]


SINGLE_TABLE = ""  # the name of the one table of a simple file


class SourceSpec(Strict):
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    agency: str | Field_  # an agency code, or {column: ...} when each row names its agency
    format: Literal[FORMATS]  # type: ignore[valid-type]
    files: list[str] = Field(min_length=1)  # file name patterns (glob, case-insensitive)
    # what the reader needs
    # text: "detect" finds each file's (ingest/readers/text.py); a value given is used as given
    encoding: Literal["detect", "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"] = "detect"
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)  # CSV; None: found from each header
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    sheet: str | None = None  # xlsx: the sheet to read (default: the first)
    header_row: int = Field(default=1, ge=1)  # xlsx: the row holding the column names
    records_path: str | None = None  # json: dotted path to the list of records
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    subject_namespace: str | None = None  # ids shared across this agency's sources (default: agency)
    # the mapping: person/events for a simple file, or one mapping per table of a multi-table format
    person: PersonSpec | None = None
    events: list[EventSpec] = Field(default_factory=list)
    optional_columns: list[str] = Field(default_factory=list)
    date_of_birth: str | Field_ | None = None  # as in a table: for checks when no person is mapped
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    ignore_tables: list[str] = Field(default_factory=list)  # tables a file may hold that are not wanted

    @model_validator(mode="after")
    def _check(self) -> SourceSpec:
        simple = self.person is not None or bool(self.events)
        if self.tables and self.date_of_birth is not None:
            raise ValueError("date_of_birth: give it in each table that needs it")
        if simple and self.tables:
            raise ValueError("give either person/events (one table) or tables (several), not both")
        if not simple and not self.tables:
            raise ValueError("a source must map a person, events, or tables")
        if simple:  # validate the single table like any other
            self._single_table()
        return self

    @field_validator("agency")
    @classmethod
    def _known_agency(cls, value: str | Field_) -> str | Field_:
        if isinstance(value, str) and value not in agencies():
            raise ValueError(f"{value!r} is not in casehistory/reference/agencies.yml")
        return value

    # ---- derived ---------------------------------------------------------------------------------
    @cached_property
    def table_specs(self) -> dict[str, TableSpec]:
        if self.tables:
            return dict(self.tables)
        return {SINGLE_TABLE: self._single_table()}

    def _single_table(self) -> TableSpec:
        return TableSpec(person=self.person, events=self.events, optional_columns=self.optional_columns,
                         date_of_birth=self.date_of_birth)

    def matches_name(self, file_name: str) -> bool:
        name = file_name.casefold()
        return any(fnmatch.fnmatchcase(name, pattern.casefold()) for pattern in self.files)

    @property
    def fixed_agency(self) -> str | None:
        return self.agency if isinstance(self.agency, str) else None

    def namespace_for(self, agency: str) -> str:
        return self.subject_namespace or agency


class Registry:
    def __init__(self, sources: dict[str, SourceSpec], paths: dict[str, Path]):
        self.sources = sources
        self.paths = paths

    def __iter__(self):
        return iter(self.sources.values())

    def __getitem__(self, name: str) -> SourceSpec:
        return self.sources[name]

    def __len__(self) -> int:
        return len(self.sources)


# libyaml's safe loader where PyYAML was built with it: ten times faster, and the registry is read
# by every load task
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_source(path: Path) -> SourceSpec:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{path}: expected a mapping of keys (source, agency, format, ...), got {type(doc).__name__}")
    try:
        return SourceSpec.model_validate(doc)
    except ValidationError as exc:
        by_key: dict[str, list[str]] = {}
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p)) or "(top level)"
            by_key.setdefault(key, []).append(_message(err))
        problems = []
        for key, messages in by_key.items():
            # a key that may take several forms (when: a name, a condition or a list) fails every form;
            # the form the author meant is the one with a specific message
            specific = [m for m in messages if not m.startswith("Input should be a valid")]
            problems.extend(f"{path}: {key}: {m}" for m in (specific or messages))
        raise RegistryError("\n".join(dict.fromkeys(problems))) from None


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member name to the location (e.g. "str", "Field_"); hide it
    return isinstance(part, str) and (part in ("str", "Field_", "list[str]", "WhenValue",
                                               "function-after[_one_origin(), Field_]")
                                      or part.startswith(("function-", "list[union[")))


def _message(err: dict) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key (check its spelling against ingest/sources/README.md)"
    if err["type"] == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def load_registry(directory: Path) -> Registry:
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistryError(f"{directory}: the source registry folder does not exist")
    sources: dict[str, SourceSpec] = {}
    paths: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.y*ml")):
        try:
            spec = load_source(path)
        except RegistryError as exc:
            problems.append(str(exc))
            continue
        if spec.source in sources:
            problems.append(f"{path}: source: {spec.source!r} is already declared in {paths[spec.source]}")
            continue
        sources[spec.source] = spec
        paths[spec.source] = path
    if problems:
        raise RegistryError("\n".join(problems))
    if not sources:
        raise RegistryError(f"{directory}: no source files (*.yml) found")
    return Registry(sources, paths)
