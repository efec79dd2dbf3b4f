"""Personal data never reaches Prefect (issue 7, item 3): bad inputs holding a distinctive person
reference, a victim's name in an unmapped column and free text run through the annual_assessment
flow (one run that quarantines rows and succeeds, three that stop with an input error) and through
the `svna` command line; then the raw bytes of the Prefect database, its result storage and the
command's output are searched for those values and for the person reference's pseudonym."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.errors import InputError
from pipeline.privacy import KEY_ENV, pseudonymisation_key
from pipeline.sources.record_extract import pseudonymise
from tests.conftest import TINY_VICTIMS, write_tiny_inputs

pytestmark = pytest.mark.integration
PERSON_ID = "VICTIM-SECRET-123"
NAME = "Zebedee Quartermaine"
FREE_TEXT = "seen near 42 Quince Mews"
SECRETS = [PERSON_ID, NAME, "Zebedee", "Quartermaine", "Quince Mews"]
TEST_KEY = "3f9c1e7a5b2d8046c1e9a7f3b5d20864e1c7a9f3b5d2086c4e1a7f9b3d5c2e08"  # 32 random bytes, hex


def _victims(header: bool = True, with_age: bool = True) -> str:
    """The tiny victims file with a distinctive person (an impossible age, listed twice on C6) and
    the person's name in the unmapped Name column."""
    lines = TINY_VICTIMS.splitlines()
    lines[1] = f"C1,{PERSON_ID},150,F,{NAME}"
    lines += [f"C6,{PERSON_ID},31,F,{NAME}", f"C6,{PERSON_ID},31,F,{NAME}"]
    if not with_age:
        lines = [",".join(cells[:2] + cells[3:]) for cells in (line.split(",") for line in lines)]
    return "\n".join(lines[0 if header else 1:]) + "\n"


def _case(folder: Path, victims: str, threshold: float | None = None) -> Path:
    config = write_tiny_inputs(folder)
    offences = folder / "extract" / "offences.csv"
    offences.write_text(offences.read_text().replace("free text", f"{NAME} {FREE_TEXT}"))
    (folder / "extract" / "victims.csv").write_text(victims)
    if threshold is not None:
        config.write_text(config.read_text() + f"quarantine_threshold_pct: {threshold}\n")
    return config


@pytest.fixture(scope="module")
def key():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, TEST_KEY)
        yield TEST_KEY


@pytest.fixture(scope="module")
def flow_runs(tmp_path_factory, prefect_harness, key):
    """Each case through the flow: the message of each failed run (None for a success)."""
    from flows.annual_assessment import annual_assessment

    cases = {
        "quarantined": dict(victims=_victims(), threshold=50),   # age 150 and a duplicate quarantined; run succeeds
        "over_threshold": dict(victims=_victims()),              # the same rows, above the 5% threshold
        "missing_column": dict(victims=_victims(with_age=False)),  # the mapped Age column is absent
        "no_header": dict(victims=_victims(header=False)),       # the first row is a person's record
    }
    configs, outcomes = {}, {}
    for name, case in cases.items():
        configs[name] = _case(tmp_path_factory.mktemp(name), **case)
        try:
            annual_assessment(str(configs[name]))
            outcomes[name] = None
        except InputError as exc:
            outcomes[name] = exc.message
    return configs, outcomes


def _prefect_files() -> list[Path]:
    """The Prefect database (with its journal) and every file Prefect keeps under PREFECT_HOME."""
    import prefect.settings as ps

    url = ps.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    database = Path(url.split(":///", 1)[1])
    files = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    home = Path(ps.get_current_settings().home)
    storage = Path(ps.get_current_settings().results.local_storage_path)
    files += [p for folder in (home, storage) if folder.exists() for p in folder.rglob("*") if p.is_file()]
    return list(dict.fromkeys(files))


def _flush_prefect() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all()
    EventsWorker.drain_all()


def _raw(paths: list[Path]) -> bytes:
    return b"\n".join(p.read_bytes() for p in paths)


def test_the_cases_ran_as_intended(flow_runs):
    outcomes = flow_runs[1]
    assert outcomes["quarantined"] is None
    assert "at most 5% of rows may fail row checks" in outcomes["over_threshold"]
    assert "C1: age 150" in outcomes["over_threshold"]                     # a checked value may be quoted
    assert "column 'Age'" in outcomes["missing_column"] and "columns Crime No, Person, Gender, Name" in outcomes["missing_column"]
    assert "no header row found (first row has 5 fields)" in outcomes["no_header"]


def test_messages_quote_no_person_values(flow_runs, key):
    configs, outcomes = flow_runs
    pseudonym = pseudonymise(pd.Series([PERSON_ID]), pseudonymisation_key(load_config(configs["quarantined"])))[0]
    for name, message in outcomes.items():
        for secret in SECRETS + [pseudonym]:
            assert secret not in (message or ""), (name, secret)


def test_prefect_database_and_storage_hold_no_person_values(flow_runs, key):
    configs, _ = flow_runs
    pseudonym = pseudonymise(pd.Series([PERSON_ID]), pseudonymisation_key(load_config(configs["quarantined"])))[0]
    _flush_prefect()
    # the server writes logs, states and events in the background: wait until this module's runs are in
    # (failed-state messages, a task's log line, an artifact), so the search below is not vacuous
    expected = [str(configs[name].parent / "extract" / "victims.csv").encode()
                for name in ("over_threshold", "missing_column", "no_header")]          # failed-state messages
    expected += [b"Reconciled:", b"rows in = loaded + superseded + quarantined"]     # a log line, an artifact
    deadline = time.monotonic() + 60
    while True:
        raw = _raw(_prefect_files())
        missing = [m for m in expected if m not in raw]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"Prefect never recorded {missing}"
    for secret in SECRETS + [pseudonym]:
        assert secret.encode() not in raw, secret


def test_the_command_line_prints_no_person_values(flow_runs, key):
    """`svna annual` in its own process, against the test Prefect server: stderr and stdout carry
    the one-paragraph error and nothing from the person's record."""
    import prefect.settings as ps

    env = {**os.environ, KEY_ENV: key, "PREFECT_API_URL": ps.PREFECT_API_URL.value()}
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "annual", "--config", str(flow_runs[0]["no_header"])],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no header row found (first row has 5 fields)" in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr and secret not in result.stdout, secret
