"""Privacy: the pseudonymisation key, keyed hashing at ingest, dropped columns, messages without
personal data. (Every output file of a whole run is scanned in tests/integration/test_idempotence.py.)"""

from __future__ import annotations

import json
import logging
import re
import secrets
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import InputError
from pipeline.settings.config import load_config
from pipeline.sources.files import sha256_of
from pipeline.sources.privacy import DEMO_KEY, DEMO_MANIFEST, KEY_ENV, key_material, pseudonymisation_key
from pipeline.transform import assessment, db
from tests.helpers.bad_inputs import CORPUS, MANIFEST, write_corpus_config

P01 = next(c for c in MANIFEST["cases"] if c["id"] == "p01_personal_data")
SECRETS = P01["never_stored"]


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


def _cfg(tmp_path: Path, **overrides):
    return load_config(write_corpus_config(tmp_path, P01["inputs"], **overrides))


def test_a_record_extract_needs_a_key(tmp_path):
    cfg = _cfg(tmp_path, privacy=None)
    with pytest.raises(InputError) as caught:
        pseudonymisation_key(cfg)
    assert "privacy.key_file" in caught.value.message and KEY_ENV in caught.value.message


KEY_A, KEY_B = "2b670f707c949a29bc53d83bd7537747d92d5915b57671bf1141da836aec5704", secrets.token_hex(32)


def test_the_key_comes_from_the_environment_or_a_key_file(tmp_path, monkeypatch):
    (tmp_path / "svna.key").write_text(f"  {KEY_A}\n")
    cfg = _cfg(tmp_path, privacy={"key_file": "svna.key"})
    assert pseudonymisation_key(cfg) == bytes.fromhex(KEY_A)          # hex text is decoded
    monkeypatch.setenv(KEY_ENV, KEY_B)
    assert pseudonymisation_key(cfg) == bytes.fromhex(KEY_B)


def test_a_key_file_in_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".svna").mkdir(parents=True)
    (home / ".svna" / "key").write_text(KEY_A)
    monkeypatch.setenv("HOME", str(home))
    assert pseudonymisation_key(_cfg(tmp_path, privacy={"key_file": "~/.svna/key"})) == bytes.fromhex(KEY_A)


def test_a_missing_key_file_is_named(tmp_path):
    cfg = _cfg(tmp_path, privacy={"key_file": "nowhere.key"})
    with pytest.raises(InputError, match="nowhere.key.*the pseudonymisation key file must exist"):
        pseudonymisation_key(cfg)


@pytest.mark.parametrize("key, found", [
    ("", "an empty key"),
    ("secret", "6 bytes"),
    ("ab" * 16, "16 bytes"),                                     # 32 hex digits are only 16 bytes
    ("passwordpasswordpasswordpassword", "7 distinct byte values"),
    ("0" * 64, "1 distinct byte values"),
    ("abcdefghijklmnop" * 2, "a repeated pattern"),                  # 32 bytes, 16 distinct: a pattern twice
    ("k3Jq9ZpX2mWv7RtYa8Lc" * 2, "a repeated pattern"),              # 40 bytes, 20 distinct, a block twice
    (bytes(range(32)).hex(), "a sequence (bytes change in 1 distinct steps)"),   # 000102...1f
    (bytes(range(200, 136, -2)).hex(), "a sequence (bytes change in 1 distinct steps)"),
    ("0123456789abcdefghijklmnopqrstuv", "a sequence (bytes change in 2 distinct steps)"),
])
def test_short_empty_or_repetitive_keys_are_refused_with_how_to_make_one(tmp_path, monkeypatch, key, found):
    (tmp_path / "svna.key").write_text(key)
    with pytest.raises(InputError) as caught:
        pseudonymisation_key(_cfg(tmp_path, privacy={"key_file": "svna.key"}))
    assert f"found {found}" in caught.value.message and "svna key new" in caught.value.message
    assert key not in caught.value.message or not key          # the key itself is never printed
    monkeypatch.setenv(KEY_ENV, key or " ")
    with pytest.raises(InputError, match="at least 32 bytes of random material"):
        pseudonymisation_key(_cfg(tmp_path, privacy=None))


def test_random_keys_are_accepted():
    """The entropy rules never refuse real random material (5,000 keys of 32 bytes, and longer ones)."""
    for size in [32] * 5000 + [33, 48, 64, 100, 1000, 5000]:
        material = secrets.token_bytes(size)
        assert key_material(material.hex().encode(), "test", "key") == material


def test_a_key_file_others_can_read_is_warned_about(tmp_path, caplog):
    path = tmp_path / "svna.key"
    path.write_text(KEY_A)
    cfg = _cfg(tmp_path, privacy={"key_file": "svna.key"})
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="pipeline.sources.privacy"):
        assert pseudonymisation_key(cfg) == bytes.fromhex(KEY_A)
    assert not caplog.records
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pipeline.sources.privacy"):
            assert pseudonymisation_key(cfg) == bytes.fromhex(KEY_A)     # a warning, not a refusal
        assert f"{path} can be read or changed by other users (mode {mode:o})" in caplog.text
        assert "chmod 600" in caplog.text and KEY_A not in caplog.text


def test_svna_key_new_writes_a_private_random_key_and_never_overwrites(tmp_path):
    path = tmp_path / "keys" / "svna.key"
    result = CliRunner().invoke(app, ["key", "new", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", text) and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CliRunner().invoke(app, ["key", "new", str(path)])
    assert again.exit_code == 2 and path.read_text().strip() == text
    assert pseudonymisation_key(_cfg(tmp_path, privacy={"key_file": str(path)})) == bytes.fromhex(text)


def test_a_config_cannot_ask_for_the_demo_key(tmp_path):
    with pytest.raises(InputError, match="privacy.demo.*svna demo"):
        _cfg(tmp_path, privacy={"demo": True})


def test_the_demo_key_only_for_svna_demo_on_its_own_synthetic_files(tmp_path):
    config = write_corpus_config(tmp_path, P01["inputs"], privacy=None)
    with pytest.raises(InputError, match="need a pseudonymisation key"):
        pseudonymisation_key(load_config(config, demo=True))        # real-looking data: demo flag refused
    cfg = load_config(config, demo=True)
    extract = [f for i in cfg.inputs for paths in i.paths.values() for f in paths]
    manifest = tmp_path / DEMO_MANIFEST                              # as if svna's generator wrote them
    copies = []
    for f in extract:
        copy = tmp_path / "demo" / f.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(f.read_bytes())
        copies.append(copy)
    manifest.write_text(json.dumps({"sha256": {c.name: sha256_of(c) for c in copies}}))
    inputs = [{**P01["inputs"][0], **{role: str(tmp_path / "demo" / Path(P01["inputs"][0][role]).name)
                                      for role in ("offences", "victims", "suspects") if role in P01["inputs"][0]}}]
    demo_config = write_corpus_config(tmp_path, inputs, privacy=None)
    assert pseudonymisation_key(load_config(demo_config, demo=True)) == DEMO_KEY
    with pytest.raises(InputError):
        pseudonymisation_key(load_config(demo_config))              # the same files outside `svna demo`
    copies[0].write_bytes(copies[0].read_bytes() + b"\n")           # changed after generation
    with pytest.raises(InputError):
        pseudonymisation_key(load_config(demo_config, demo=True))


def test_count_files_need_no_key(tmp_path):
    counts = load_config(write_corpus_config(tmp_path, [{"kind": "mps_counts", "paths": ["r11_mps_counts/counts.csv"]}],
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
    con = _ingest(tmp_path / "one", KEY_A, monkeypatch)
    refs = _refs(con)
    assert len(refs) == 2 and all(re.fullmatch(r"[0-9a-f]{20}", r) for r in refs)
    assert _refs(_ingest(tmp_path / "again", KEY_A, monkeypatch)) == refs
    assert set(_refs(_ingest(tmp_path / "other", KEY_B, monkeypatch))).isdisjoint(refs)
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
    cfg = load_config(write_corpus_config(tmp_path, [{"kind": "record_extract", "profile": "profiles/corpus.yaml",
                                               "offences": str(path)}]))
    con = db.connect()
    assessment.ingest(con, cfg)
    assert con.execute("select source_row, rule, detail from raw_rejects").fetchall() == [
        (4, "too_many_columns", "12 fields; the header has 11")]
    assert "Quentin" not in str(con.execute("select * from raw_offences").fetchall())


def test_an_input_errors_text_and_pickle_carry_no_examples():
    """What Prefect records of a failed run is str(exc) (states, tracebacks, events) and a pickled copy
    (result storage): the summary only; the terminal's message keeps the examples."""
    import pickle

    error = InputError("victims.csv", "age", "at most 5% of rows may fail row checks", "3 of 11 rows quarantined",
                       examples=["RF/22/000025: abc123SECRET"])
    summary = ("Input error in victims.csv, column 'age': at most 5% of rows may fail row checks; "
               "found 3 of 11 rows quarantined.")
    assert str(error) == summary and error.args == (summary,)
    assert error.message == summary + " Examples: 'RF/22/000025: abc123SECRET'."
    copy = pickle.loads(pickle.dumps(error))
    assert b"SECRET" not in pickle.dumps(error) and b"RF/22" not in pickle.dumps(error)
    assert (copy.file, copy.column, copy.rule, copy.found, copy.examples) == (
        "victims.csv", "age", "at most 5% of rows may fail row checks", "3 of 11 rows quarantined", [])
    assert copy.message == summary
