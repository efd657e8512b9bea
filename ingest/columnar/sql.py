"""SQL for the columnar path that must give, value for value, what Python gives on the row path.

Each helper says which Python it stands for. Where DuckDB cannot be shown to agree (a character
Python's str.strip() or json.dumps treats specially, a date only Python's strptime can read),
the caller sends the value, or its whole row, to the row path instead.
"""

from __future__ import annotations

import _strptime
import re
from functools import cache

import duckdb

# Python's str.isspace(): what str.strip() strips, and the readers strip every value
PY_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
# an RE2 class of the same characters
WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"
# json.dumps(ensure_ascii=False) escapes only these besides '"' and '\': a value holding one is
# left to the row path, so SQL need only escape the two
JSON_CONTROL = r"[\x00-\x1f]"
# a row whose values hold none of these is "plain": nothing in it to escape, nothing for the row path
NOT_PLAIN = r'[\x00-\x1f"\\]'


def needs_strip(separator: str) -> str:
    """A pattern for text made of values joined by `separator` (a character no value holds) that
    matches when some value starts or ends with white space: only those values need str.strip()."""
    d = f"\\x{{{ord(separator):x}}}"
    return f"(^|{d}){WHITESPACE_CLASS}|{WHITESPACE_CLASS}({d}|$)"


def literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def text_literal(value: str) -> str:
    """A string literal for any text, control characters included (DuckDB literals take them
    raw, but a SQL statement holding them is unreadable in a log)."""
    parts = re.split(r"([\x00-\x1f])", value)
    pieces = [literal(p) if i % 2 == 0 else f"chr({ord(p)})" for i, p in enumerate(parts) if p]
    return " || ".join(pieces) if pieces else "''"


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary macros the raw tables and the mapping share (one connection's, gone with it)."""
    # str.strip() or None; trim() with a list of characters is slow, so only values known to start
    # or end with white space take it (needs_strip); the characters raw in the literal, as an
    # expression (chr() || ...) would be evaluated for every value
    con.execute(f"create or replace temp macro _strip(v) as nullif(trim(v, {literal(PY_WHITESPACE)}), '')")
    con.execute("create or replace temp macro _clean(v, stripping) as case when stripping then _strip(v) "
                "else nullif(v, '') end")
    # json.dumps of one str or None, for text without control characters
    con.execute("""create or replace temp macro _json(v) as
                   coalesce('"' || replace(replace(v, '\\', '\\\\'), '"', '\\"') || '"', 'null')""")
    # date.isoformat(), time.isoformat(), datetime.isoformat(sep=' ')
    con.execute("create or replace temp macro _date_text(d) as strftime(d, '%Y-%m-%d')")
    con.execute("""create or replace temp macro _time_text(t) as
                   case when microsecond(t) % 1000000 = 0 then strftime(date '2000-01-01' + t, '%H:%M:%S')
                        else strftime(date '2000-01-01' + t, '%H:%M:%S.%f') end""")
    con.execute("""create or replace temp macro _timestamp_text(ts) as
                   case when epoch_us(ts) % 1000000 = 0 then strftime(ts, '%Y-%m-%d %H:%M:%S')
                        else strftime(ts, '%Y-%m-%d %H:%M:%S.%f') end""")


def json_text(value: str, plain: bool) -> str:
    """json.dumps(value) for a str or None: plain text (no quote, backslash or control character)
    needs only its quotes. One concat() builds it: || would copy the string at every step."""
    if plain:
        return f"""(case when {value} is null then 'null' else concat('"', {value}, '"') end)"""
    return f"_json({value})"


def json_list(items: list[str], plain: bool) -> str:
    """json.dumps([...]) of SQL text expressions."""
    parts = ", ', ', ".join(json_text(v, plain) for v in items)
    return f"concat('[', {parts}, ']')" if items else "'[]'"


def json_object(pairs: list[tuple[str, str]], plain: bool) -> str:
    """json.dumps({...}) of (key, SQL text expression) pairs, keys in order."""
    from ingest.mapping import _to_json

    parts = ", ', ', ".join(f"{literal(_to_json(key) + ': ')}, {json_text(v, plain)}" for key, v in pairs)
    return f"concat('{{', {parts}, '}}')" if pairs else "'{}'"


# ---- identifiers (casehistory/identifiers.py), for ASCII text; other text goes to the row path -----

def nhs_number(v: str) -> str:
    """normalise_nhs_number: the digits, or null."""
    return f"nullif(regexp_replace({v}, '[^0-9]', '', 'g'), '')"


def nhs_number_valid(n: str) -> str:
    """is_valid_nhs_number of a normalised number: ten digits, not all alike, modulus 11 check."""
    total = " + ".join(f"{10 - i} * (ascii(substr({n}, {i + 1}, 1)) - 48)" for i in range(9))
    check = f"(11 - ({total}) % 11)"
    return (f"coalesce(length({n}) = 10 and {n} <> repeat(substr({n}, 1, 1), 10) and "
            f"(case when {check} = 11 then 0 when {check} = 10 then -1 else {check} end)"
            f" = ascii(substr({n}, 10, 1)) - 48, false)")


UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_UNKNOWN = ("UN1", "UN2", "UN3", "UN4", "UN5")


def upn(v: str) -> str:
    """normalise_upn: white space removed, upper case; empty or a 'not known' code is null. (In a
    row SQL maps, the only white space an ASCII value can hold is the space: the others are
    control characters, and such a row is the Mapper's.)"""
    compact = f"upper(replace({v}, ' ', ''))"
    unknown = ", ".join(literal(u) for u in UPN_UNKNOWN)
    return f"(case when {compact} = '' or {compact} in ({unknown}) then null else {compact} end)"


def upn_valid(u: str) -> str:
    """is_valid_upn of a normalised UPN: letter, eleven digits, digit or letter; check letter."""
    shape = f"[{UPN_LETTERS}][0-9]{{11}}[0-9{UPN_LETTERS}]"

    def value(i: int) -> str:
        char = f"substr({u}, {i}, 1)"
        return f"(case when {char} between '0' and '9' then ascii({char}) - 48 else strpos('{UPN_LETTERS}', {char}) - 1 end)"
    total = " + ".join(f"{weight} * {value(i)}" for weight, i in zip(range(2, 14), range(2, 14)))
    return (f"coalesce(regexp_full_match({u}, '{shape}') and "
            f"substr('{UPN_LETTERS}', (({total}) % 23) + 1, 1) = substr({u}, 1, 1), false)")


def postcode(v: str) -> str:
    """Mapper.normalise for postcodes: upper case, spaces removed, one space before the last three."""
    compact = f"replace(upper({v}), ' ', '')"
    return f"(case when length({compact}) > 3 then {compact}[:-4] || ' ' || {compact}[-3:] else {compact} end)"


def is_ascii(v: str) -> str:
    return f"coalesce(strlen({v}) = length({v}), true)"  # as many bytes as characters


# ---- dates: DateParser (ingest/mapping.py) in SQL where it can be shown to agree --------------------

# directives whose fixed-width, in-range digits Python's strptime and DuckDB's read alike
_SAFE_DIRECTIVES = {"d": "(0[1-9]|[12][0-9]|3[01])", "m": "(0[1-9]|1[0-2])", "H": "([01][0-9]|2[0-3])",
                    "M": "([0-5][0-9])", "S": "([0-5][0-9])",
                    "Y": "([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])", "%": "%"}


def safe_pattern(fmt: str) -> str | None:
    """A regular expression for the values of `fmt` that both parsers read the same way, or None
    when the format has a directive outside that set (its values are left to Python).

    Python's strptime matches each directive with a pattern that takes a two-digit field whole
    when it is in range (its two-digit alternatives come first), so for these values both
    parsers see the same fields, and both refuse a day the month does not have."""
    out, i = [], 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in _SAFE_DIRECTIVES:
                return None
            out.append(_SAFE_DIRECTIVES[fmt[i + 1]])
            i += 2
            continue
        if char.isspace() and char != " ":
            return None
        out.append(re.escape(char))
        i += 1
    return "".join(out)


@cache
def python_pattern(fmt: str) -> str:
    """The regular expression Python's strptime matches a value against for `fmt` (IGNORECASE)."""
    return _strptime._TimeRE_cache.pattern(fmt)


def usable_in_duckdb(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    try:
        con.execute("select regexp_full_match('', ?, 'i')", [pattern]).fetchone()
        return True
    except duckdb.Error:
        return False


READ_BY_DUCKDB, READ_BY_PYTHON = 1, 2


def parse_date(con: duckdb.DuckDBPyConnection, value: str, formats: list[str]) -> str:
    """A struct {outcome, ts} for a text value, or null where no format reads it (a bad date):
    outcome READ_BY_DUCKDB with ts what DateParser(formats) gives the value, or READ_BY_PYTHON
    where only Python can tell.

    DateParser takes the first format strptime accepts. Per format, in order: a value Python's
    pattern does not match cannot be that format's (next format); a value of the format's safe
    shape is read by DuckDB, and a date that does not exist passes to the next format as
    strptime's ValueError does; any other value is Python's to read."""
    steps = []
    for fmt in formats:
        safe = safe_pattern(fmt)
        py = python_pattern(fmt)
        read = f"try_strptime({value}, {literal(fmt)})" if safe is not None else "null::timestamp"
        on_safe = (f"when regexp_full_match({value}, {literal(safe)}) then "
                   f"case when {read} is null then 0 else {READ_BY_DUCKDB} end") if safe is not None else ""
        if usable_in_duckdb(con, py):
            outcome = (f"case when not regexp_full_match({value}, {literal(py)}, 'i') then 0 {on_safe} "
                       f"else {READ_BY_PYTHON} end")
        else:  # a pattern RE2 cannot run: only the safe shape is decided here
            outcome = f"case {on_safe} else {READ_BY_PYTHON} end" if on_safe else str(READ_BY_PYTHON)
        steps.append(f"{{'outcome': {outcome}, 'ts': {read}}}")
    return f"list_filter([{', '.join(steps)}], s -> s.outcome <> 0)[1]"
