"""Optional encryption at rest for the DuckDB files (DuckDB's AES-GCM encrypted databases).

Two keys, kept outside the repository like the pseudonym key, so the analyst file can be
shared without sharing the restricted one:
  CASEHISTORY_STORE_ENCRYPTION_KEY[_FILE]      the restricted store (ledger, identity, every model)
  CASEHISTORY_WAREHOUSE_ENCRYPTION_KEY[_FILE]  the published analyst warehouse
Neither set: plain files, as before. Set: every connection opens the file with ATTACH ...
(ENCRYPTION_KEY ...) through casehistory.warehouse, dbt uses the profile's `encrypted` target,
and a DuckDB session without the key cannot open the file.

DuckDB writes encrypted files securely only with its httpfs extension loaded (OpenSSL). Where it
is installed it is loaded; where it is not (no DuckDB 1.5.6 build of it can be installed offline
here), DuckDB's built-in writer must be allowed explicitly with
CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS=1, which DuckDB itself calls not securely encrypted: fine for
tests, not for production.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


class EncryptionError(RuntimeError):
    """An encryption key is configured but the file cannot be opened or written safely."""


def key(kind: str) -> str | None:
    """The key for "STORE" or "WAREHOUSE" from CASEHISTORY_<kind>_ENCRYPTION_KEY or its _FILE, or None."""
    direct = os.environ.get(f"CASEHISTORY_{kind}_ENCRYPTION_KEY")
    if direct:
        return direct
    file = os.environ.get(f"CASEHISTORY_{kind}_ENCRYPTION_KEY_FILE")
    if not file:
        return None
    path = Path(file).expanduser()
    if not path.is_file():
        raise EncryptionError(f"CASEHISTORY_{kind}_ENCRYPTION_KEY_FILE names {path}, which does not exist")
    value = path.read_text().strip()
    if len(value) < 32:
        raise EncryptionError(f"the encryption key in {path} is too short ({len(value)} characters; use 32 or more)")
    return value


def allow_mbedtls() -> bool:
    return os.environ.get("CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS", "") == "1"


def connection_config() -> dict:
    """Config for a connection that will write an encrypted file."""
    return {"force_mbedtls_unsafe": "true"} if allow_mbedtls() else {}


def attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str, secret: str, *, read_only: bool = False) -> None:
    if not allow_mbedtls():
        try:
            con.execute("load httpfs")  # OpenSSL: installed beforehand, never downloaded at run time
        except duckdb.Error as exc:
            raise EncryptionError(
                "encrypting the DuckDB files needs DuckDB's httpfs extension installed for this DuckDB version "
                f"({duckdb.__version__}); or set CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS=1 to accept DuckDB's "
                f"built-in writer, which it does not consider secure ({exc})") from None
    options = ", read_only" if read_only else ""
    try:
        con.execute(f"attach '{_sql(str(path))}' as {alias} (encryption_key '{_sql(secret)}'{options})")
    except duckdb.Error as exc:  # the message never repeats the key
        raise EncryptionError(f"cannot open {path} with the configured key: {type(exc).__name__}: "
                              f"{str(exc).split(chr(10))[0]}") from None
    con.execute("set temp_file_encryption = true")  # spilled data is encrypted too


def dbt_env() -> dict[str, str]:
    """What dbt needs to use the profile's `encrypted` target (empty when the store is plain)."""
    secret = key("STORE")
    if secret is None:
        return {}
    return {"CASEHISTORY_STORE_ENCRYPTION_KEY": secret,
            "CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS": "true" if allow_mbedtls() else "false"}


def dbt_target(env: dict[str, str]) -> list[str]:
    """dbt's `--target` for an environment built with dbt_env: the profile's `encrypted` target when
    the store is encrypted, the default otherwise (every dbt command the pipeline runs uses this)."""
    return ["--target", "encrypted"] if "CASEHISTORY_STORE_ENCRYPTION_KEY" in env else []


def _sql(text: str) -> str:
    return text.replace("'", "''")
