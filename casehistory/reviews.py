"""Reviews declared by the deployment (the YAML shape in ../shared/domain.md), validated and
written to the store as config.reviews, config.review_subjects and config.review_agencies."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from casehistory.vocabulary import agencies

REVIEW_TYPES = ("rapid_review", "lcspr", "scr", "learning_event", "audit")


class ReviewsError(ValueError):
    """The reviews file cannot be used; the message names the file, key and problem."""


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nhs_number: str | None = None
    upn: str | None = None
    la_child_id: str | None = None
    agency: str | None = None
    subject_ref: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> Subject:
        if (self.agency is None) != (self.subject_ref is None):
            raise ValueError("agency and subject_ref go together")
        if not any((self.nhs_number, self.upn, self.la_child_id, self.subject_ref)):
            raise ValueError("name the child by nhs_number, upn, la_child_id, or agency + subject_ref")
        if self.agency is not None and self.agency not in agencies():
            raise ValueError(f"agency {self.agency!r} is not an agency code")
        return self


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    type: Literal[REVIEW_TYPES]  # type: ignore[valid-type]
    subjects: list[Subject] = Field(min_length=1)
    scope_start: date
    scope_end: date
    deadline: date
    agencies: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Review:
        if self.scope_end < self.scope_start:
            raise ValueError(f"scope_end {self.scope_end} is before scope_start {self.scope_start}")
        unknown = [a for a in self.agencies if a not in agencies()]
        if unknown:
            raise ValueError(f"agencies {unknown} are not agency codes (casehistory/reference/agencies.yml)")
        return self


class ReviewsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviews: list[Review]


def load_reviews(path: Path) -> list[Review]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReviewsError(f"{path}: cannot be read: {exc}") from None
    try:
        parsed = ReviewsFile.model_validate(doc)
    except ValidationError as exc:
        raise ReviewsError("\n".join(
            f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors())) from None
    ids = [r.id for r in parsed.reviews]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ReviewsError(f"{path}: reviews: id {dupes[0]!r} is declared more than once")
    return parsed.reviews


def write_reviews(con: duckdb.DuckDBPyConnection, reviews: list[Review]) -> None:
    """Replace config.* with these reviews (the file is the truth; an empty list clears them)."""
    con.execute("create schema if not exists config")
    con.execute("""create or replace table config.reviews (review_id varchar primary key, review_type varchar,
                   scope_start date, scope_end date, deadline date)""")
    con.execute("""create or replace table config.review_subjects (review_id varchar, nhs_number varchar,
                   upn varchar, la_child_id varchar, agency varchar, subject_ref varchar)""")
    con.execute("create or replace table config.review_agencies (review_id varchar, agency varchar)")
    for r in reviews:
        con.execute("insert into config.reviews values (?, ?, ?, ?, ?)",
                    [r.id, r.type, r.scope_start, r.scope_end, r.deadline])
        for s in r.subjects:
            con.execute("insert into config.review_subjects values (?, ?, ?, ?, ?, ?)",
                        [r.id, s.nhs_number, s.upn, s.la_child_id, s.agency, s.subject_ref])
        for a in r.agencies:
            con.execute("insert into config.review_agencies values (?, ?)", [r.id, a])
