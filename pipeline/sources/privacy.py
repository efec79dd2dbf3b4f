"""Pseudonymisation key handling: person references are hashed with a key the analyst holds.

A key is at least 32 bytes of random material: `svna key new PATH` writes one as 64 hex digits.
Keys that are plainly not random are refused: too short, few distinct bytes, a repeated pattern
(many repeated 4-byte runs, or zlib shrinks it) or a sequence (bytes rising or falling in a few
steps). A key file others may read gets a warning.
The fixed demo key is used only by `svna demo` on the synthetic data svna generated itself
(every record-extract file listed, with its sha256, in the generator's manifest).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import stat
import zlib
from pathlib import Path

from pipeline.errors import InputError
from pipeline.settings.config import RunConfig

KEY_ENV = "SVNA_PSEUDONYMISATION_KEY"
KEY_BYTES = 32
DEMO_KEY = b"svna-demo-key-not-for-real-data"
DEMO_MANIFEST = "synthetic_demo.json"  # written by pipeline.demo.riverford beside the files it generates
HOW_TO_MAKE_ONE = f"make one with `svna key new ~/.svna/key` and set privacy.key_file, or put 64 hex digits in ${KEY_ENV}"
log = logging.getLogger(__name__)


def key_material(text: bytes, where: str, column: str) -> bytes:
    """The key bytes: hex text is decoded (as `svna key new` writes it); anything else is used as is.
    Refuses fewer than 32 bytes, or bytes too regular to be random (a typed password, a pattern)."""
    text = text.strip()
    material = bytes.fromhex(text.decode()) if re.fullmatch(rb"(?:[0-9a-fA-F]{2})+", text) else text
    weakness = _weakness(material)
    if weakness:
        raise InputError(where, column, f"a pseudonymisation key needs at least {KEY_BYTES} bytes of random "
                         f"material; {HOW_TO_MAKE_ONE}", weakness)
    return material


def _weakness(material: bytes) -> str | None:
    """Why these bytes are plainly not random, or None. Random keys pass each test with near certainty:
    32 random bytes have ~29 distinct values, no repeated 4-byte run, ~29 distinct steps and grow under zlib."""
    if not material:
        return "an empty key"
    if len(material) < KEY_BYTES:
        return f"{len(material)} bytes"
    if len(set(material)) < 16:
        return f"{len(set(material))} distinct byte values"
    runs = [material[i:i + 4] for i in range(len(material) - 3)]
    if len(set(runs)) < 0.9 * len(runs) or len(zlib.compress(material, 9)) < len(material):
        return "a repeated pattern"
    steps = {(b - a) % 256 for a, b in zip(material, material[1:])}
    if len(steps) < min(len(material) - 1, 256) // 2:
        return f"a sequence (bytes change in {len(steps)} distinct steps)"
    return None


def _warn_if_others_can_read(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("The pseudonymisation key file %s can be read or changed by other users (mode %o): "
                    "make it private with `chmod 600 %s`, as `svna key new` does.", path, mode, path)


def pseudonymisation_key(cfg: RunConfig) -> bytes:
    """The key from $SVNA_PSEUDONYMISATION_KEY or the config's privacy.key_file; for `svna demo` on its own
    synthetic data, the fixed demo key. Count files hold no person references and need none."""
    if os.environ.get(KEY_ENV):
        return key_material(os.environ[KEY_ENV].encode(), f"${KEY_ENV}", KEY_ENV)
    path = cfg.privacy.key_file
    if path:
        if not path.is_file():
            raise InputError(str(path), "privacy.key_file", "the pseudonymisation key file must exist", "file not found")
        _warn_if_others_can_read(path)
        return key_material(path.read_bytes(), str(path), "privacy.key_file")
    if cfg.demo and is_generated_demo_data(cfg):
        return DEMO_KEY
    if not any(i.kind == "record_extract" for i in cfg.inputs):
        return DEMO_KEY  # nothing is hashed
    raise InputError(str(cfg.config_path), "privacy.key_file",
                     f"record-level extracts need a pseudonymisation key: set ${KEY_ENV} or privacy.key_file; "
                     f"{HOW_TO_MAKE_ONE}", "no key")


def is_generated_demo_data(cfg: RunConfig) -> bool:
    """True when every record-extract file is one svna's demo generator wrote (sha256 in its manifest)."""
    files = [f for i in cfg.inputs if i.kind == "record_extract" for paths in i.paths.values() for f in paths]
    for f in files:
        manifest = next((p / DEMO_MANIFEST for p in f.parents if (p / DEMO_MANIFEST).is_file()), None)
        if manifest is None:
            return False
        from pipeline.sources.files import sha256_of

        if sha256_of(f) not in json.loads(manifest.read_text()).get("sha256", {}).values():
            return False
    return bool(files)


def write_new_key(path: Path) -> Path:
    """Write 32 random bytes as hex to a new file only its owner can read; never overwrite a file."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path

