"""The pseudonymous key analysts see instead of any identifier: HMAC-SHA256(secret, person id).

The secret comes from outside the repository: CASEHISTORY_PSEUDONYM_KEY (the key itself) or
CASEHISTORY_PSEUDONYM_KEY_FILE (a file holding it), else ~/.config/casehistory/pseudonym.key.
It is required: only in demo mode (CASEHISTORY_DEMO=1, which `casehistory run` sets when it runs
the generated demo set) is a missing key file created. A key file inside the project folder is
refused, so it cannot be committed. Keep the key stable: a new key gives every person a new
pseudonym, and analysts' saved queries lose their children.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from casehistory.settings import PROJECT_ROOT

log = logging.getLogger(__name__)
DEFAULT_KEY_FILE = Path("~/.config/casehistory/pseudonym.key").expanduser()


def key_file() -> Path:
    return Path(os.environ.get("CASEHISTORY_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE)).expanduser()


class PseudonymKeyMissing(RuntimeError):
    """No pseudonym key, outside demo mode: the run stops before any child gets a pseudonym."""


def demo_mode() -> bool:
    return os.environ.get("CASEHISTORY_DEMO", "") == "1"


def load_key() -> bytes:
    direct = os.environ.get("CASEHISTORY_PSEUDONYM_KEY")
    if direct:
        return direct.encode("utf-8")
    path = key_file()
    if path.resolve().is_relative_to(PROJECT_ROOT):
        raise PseudonymKeyMissing(f"the pseudonym key file {path} is inside the project folder {PROJECT_ROOT}: "
                                  "keep it outside the repository (CASEHISTORY_PSEUDONYM_KEY_FILE)")
    if not path.exists():
        if not demo_mode():
            raise PseudonymKeyMissing(
                f"no pseudonym key: set CASEHISTORY_PSEUDONYM_KEY_FILE to a file holding the key (or "
                f"CASEHISTORY_PSEUDONYM_KEY), or create {path} (e.g. `openssl rand -hex 32 > {path}`, "
                "mode 600) and back it up. Only the demo (CASEHISTORY_DEMO=1) creates one for itself.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
        log.warning("created a new pseudonym key at %s: keep it, and back it up with the warehouse", path)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"the pseudonym key in {path} is too short ({len(key)} characters; use 32 or more)")
    return key.encode("utf-8")


def pseudonym(key: bytes, person_id: str) -> str:
    return hmac.new(key, person_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def pseudonym_sql(key: bytes, column: str) -> tuple[str, list[bytes]]:
    """pseudonym() of every value of a column, computed by DuckDB (a million people in a second
    or so, against about ten in Python): HMAC-SHA256 written out as RFC 2104 defines it,
    sha256((key ^ opad) || sha256((key ^ ipad) || message)). Returns the SQL expression, whose
    two parameters are the padded keys."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    return f"left(sha256(?::blob || unhex(sha256(?::blob || encode({column})))), 20)", [outer, inner]
