"""Privacy: the pseudonymisation key, keyed hashing at ingest, dropped columns, messages without
personal data. (Every output file of a whole run is scanned in tests/integration/test_idempotence.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import assessment, db
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.privacy import DEMO_KEY, KEY_ENV, pseudonymisation_key
from tests.integration.test_bad_inputs import CORPUS, MANIFEST, write_config

P01 = next(c for c in MANIFEST["cases"] if c["id"] == "p01_personal_data")
SECRETS = P01["never_stored"]


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


def _cfg(tmp_path: Path, **overrides):
    return load_config(write_config(tmp_path, P01["inputs"], **overrides))


def test_a_record_extract_needs_a_key(tmp_path):
    cfg = _cfg(tmp_path, privacy=None)
    with pytest.raises(InputError) as caught:
        pseudonymisation_key(cfg)
    assert "privacy.key_file" in caught.value.message and KEY_ENV in caught.value.message


def test_the_key_comes_from_the_environment_or_a_key_file(tmp_path, monkeypatch):
    (tmp_path / "svna.key").write_text("  file-key-0123456789abcdef\n")
    cfg = _cfg(tmp_path, privacy={"key_file": "svna.key"})
    assert pseudonymisation_key(cfg) == b"file-key-0123456789abcdef"
    monkeypatch.setenv(KEY_ENV, "env-key-0123456789abcdef")
    assert pseudonymisation_key(cfg) == b"env-key-0123456789abcdef"


def test_a_key_file_in_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".svna").mkdir(parents=True)
    (home / ".svna" / "key").write_text("home-key-0123456789abcdef")
    monkeypatch.setenv("HOME", str(home))
    assert pseudonymisation_key(_cfg(tmp_path, privacy={"key_file": "~/.svna/key"})) == b"home-key-0123456789abcdef"


def test_a_missing_key_file_is_named(tmp_path):
    cfg = _cfg(tmp_path, privacy={"key_file": "nowhere.key"})
    with pytest.raises(InputError, match="nowhere.key.*the pseudonymisation key file must exist"):
        pseudonymisation_key(cfg)


def test_only_the_demo_and_count_files_run_without_a_key(tmp_path):
    assert pseudonymisation_key(_cfg(tmp_path)) == DEMO_KEY  # manifest defaults: privacy.demo
    counts = load_config(write_config(tmp_path, [{"kind": "mps_counts", "paths": ["r11_mps_counts/counts.csv"]}],
                                      privacy=None))
    assert pseudonymisation_key(counts) == DEMO_KEY  # nothing to hash


def _ingest(folder: Path, key: str, monkeypatch):
    folder.mkdir(exist_ok=True)
    cfg = _cfg(folder, privacy=None)
    monkeypatch.setenv(KEY_ENV, key)
    con = db.connect()
    assessment.ingest(con, cfg)
    monkeypatch.delenv(KEY_ENV)
    return con


def _refs(con) -> list[str]:
    return [r[0] for r in con.execute("select person_ref from raw_victims order by source_row").fetchall()]


def test_person_references_are_hashed_under_the_key_and_dropped_columns_never_loaded(tmp_path, monkeypatch):
    con = _ingest(tmp_path / "one", "first-key-0123456789", monkeypatch)
    refs = _refs(con)
    assert len(refs) == 2 and all(re.fullmatch(r"[0-9a-f]{20}", r) for r in refs)
    assert _refs(_ingest(tmp_path / "again", "first-key-0123456789", monkeypatch)) == refs
    assert set(_refs(_ingest(tmp_path / "other", "second-key-0123456789", monkeypatch))).isdisjoint(refs)
    columns = {r[0] for r in con.execute("select column_name from information_schema.columns "
                                         "where table_name in ('raw_offences', 'raw_victims')").fetchall()}
    assert not {c.lower() for c in columns} & {"street", "notes", "victimname", "address"}
    for table in ("raw_offences", "raw_victims", "raw_rejects", "audit_inputs"):
        text = str(con.execute(f"select * from {table}").fetchall())
        assert not [s for s in SECRETS if s in text], table


def test_malformed_lines_keep_a_detail_not_the_raw_text(tmp_path):
    path = tmp_path / "offences.csv"
    path.write_text((CORPUS / "p01_personal_data" / "offences.csv").read_text()
                    + "P01-3,15/03/2023,8N,N,N,Confirmed,528100,168200,9 Secret Lane,Victim Quentin Private, said more,2024-01-15\n")
    cfg = load_config(write_config(tmp_path, [{"kind": "record_extract", "profile": "profiles/corpus.yaml",
                                               "offences": str(path)}]))
    con = db.connect()
    assessment.ingest(con, cfg)
    assert con.execute("select source_row, rule, detail from raw_rejects").fetchall() == [
        (4, "too_many_columns", "12 fields; the header has 11")]
    assert "Quentin" not in str(con.execute("select * from raw_offences").fetchall())
