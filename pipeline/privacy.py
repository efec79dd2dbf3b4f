"""Pseudonymisation key handling: person references are hashed with a key the analyst holds."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.config import RunConfig
from pipeline.errors import InputError

KEY_ENV = "SVNA_PSEUDONYMISATION_KEY"
DEMO_KEY = b"svna-demo-key-not-for-real-data"


def pseudonymisation_key(cfg: RunConfig) -> bytes:
    """The key from $SVNA_PSEUDONYMISATION_KEY or the config's privacy.key_file; the demo may use a fixed key."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    key_file = (cfg.raw.get("privacy") or {}).get("key_file")
    if key_file:
        path = (cfg.config_path.parent / Path(key_file).expanduser()).resolve()
        if not path.exists():
            raise InputError(str(path), "privacy.key_file", "the pseudonymisation key file must exist", "file not found")
        return path.read_bytes().strip()
    if cfg.demo:
        return DEMO_KEY
    if not any(i.kind == "record_extract" for i in cfg.inputs):
        return DEMO_KEY  # count files hold no person references, so nothing is hashed
    raise InputError(str(cfg.config_path), "privacy.key_file",
                     f"record-level extracts need a pseudonymisation key: set ${KEY_ENV} or privacy.key_file",
                     "no key")


# Protective marking on every restricted-tier output (data pack, headlines, maps, GeoPackage).
MARKING = "OFFICIAL-SENSITIVE: restricted tier, contains unsuppressed small numbers"
