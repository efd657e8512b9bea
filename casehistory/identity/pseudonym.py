"""The pseudonymous key analysts see instead of any identifier: HMAC-SHA256(secret, person id).

The secret comes from outside the repository: CASEHISTORY_PSEUDONYM_KEY (the key itself) or
CASEHISTORY_PSEUDONYM_KEY_FILE (a file holding it), else ~/.config/casehistory/pseudonym.key,
which is created on first use for a demo machine. Keep it stable: a new key gives every person a
new pseudonym, and analysts' saved queries lose their children.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)
DEFAULT_KEY_FILE = Path("~/.config/casehistory/pseudonym.key").expanduser()


def key_file() -> Path:
    return Path(os.environ.get("CASEHISTORY_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE)).expanduser()


def load_key() -> bytes:
    direct = os.environ.get("CASEHISTORY_PSEUDONYM_KEY")
    if direct:
        return direct.encode("utf-8")
    path = key_file()
    if not path.exists():
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
