"""Personal data never reaches Prefect (issue 7, item 3): bad inputs holding a distinctive person
reference, a victim's name in an unmapped column and free text run through the annual_assessment
flow (one run that quarantines rows and succeeds, three that stop with an input error) and through
the `svna` command line; then the raw bytes of the Prefect database, its result storage and the
command's output are searched for those values and for the person reference's pseudonym.

Failed runs (issue 16 item 5): runs that stop on bad person values, bad dates and a missing column
leave no crime reference and no failing value in any table of Prefect's database (every column, as
text) or any file under PREFECT_HOME, while the analyst's message still quotes them.

Both sets of flow runs run in one process of their own with a fresh PREFECT_HOME (its temporary
server and database: nothing else recorded there); the command-line runs use the tests' Prefect
server (prefect_harness)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.settings.config import PROJECT_ROOT, load_config
from pipeline.sources.privacy import KEY_ENV, pseudonymisation_key
from pipeline.sources.record_extract import pseudonymise
from tests.helpers.tiny_inputs import TINY_VICTIMS, write_tiny_inputs

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


def _person_cases() -> dict:
    return {
        "quarantined": {"victims": _victims(), "threshold": 50},  # age 150 and a duplicate quarantined; run succeeds
        "over_threshold": {"victims": _victims()},                # the same rows, above the 5% threshold
        "missing_column": {"victims": _victims(with_age=False)},  # the mapped Age column is absent
        "no_header": {"victims": _victims(header=False)},         # the first row is a person's record
    }


@pytest.fixture(scope="module")
def flow_runs(own_prefect_runs):
    """Each case through the flow: its config and the message of each failed run (None for a success)."""
    _, messages, _, configs = own_prefect_runs
    return ({name: Path(configs[f"person/{name}"]) for name in _person_cases()},
            {name: messages[f"person/{name}"] for name in _person_cases()})


def _prefect_files(home: Path) -> list[Path]:
    """The Prefect database (with its journal) and every file Prefect keeps (result storage too)."""
    return [p for p in home.rglob("*") if p.is_file()]


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


def test_prefect_database_and_storage_hold_no_person_values(flow_runs, own_prefect_runs, key):
    configs, _ = flow_runs
    pseudonym = pseudonymise(pd.Series([PERSON_ID]), pseudonymisation_key(load_config(configs["quarantined"])))[0]
    raw = _raw(_prefect_files(own_prefect_runs[0]))
    # not vacuous: Prefect recorded this module's runs (failed-state messages, a task's log line, an artifact)
    expected = [str(configs[name].parent / "extract" / "victims.csv").encode()
                for name in ("over_threshold", "missing_column", "no_header")]          # failed-state messages
    expected += [b"Reconciled:", b"rows in = loaded + superseded + quarantined"]     # a log line, an artifact
    missing = [m for m in expected if m not in raw]
    assert not missing, f"Prefect never recorded {missing}"
    for secret in SECRETS + [pseudonym]:
        assert secret.encode() not in raw, secret


def test_the_command_line_prints_no_person_values(flow_runs, key, prefect_harness):
    """`svna annual` in its own process, against the tests' Prefect server: stderr and stdout carry
    the one-paragraph error and nothing from the person's record."""
    env = {**os.environ, KEY_ENV: key}
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "annual", "--config", str(flow_runs[0]["no_header"])],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no header row found (first row has 5 fields)" in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr and secret not in result.stdout, secret


# --- failed runs: what Prefect keeps of a run that stops on bad input --------------------------------

REF = "RFX/22/0000"          # every crime reference of the failing runs starts with this
AGE, DATE, PERSON = "abc123SECRET", "DATESECRET", "PERSONSECRET9"
FAILED_SECRETS = [REF, AGE, DATE, PERSON]
MONTH_FIRST_ROWS = "".join(f"C{9 + i},{d} {DATE},8N,N,N,Confirmed,x,2024-01-10\n"
                           for i, d in enumerate(("01/13/2023", "02/14/2023", "03/15/2023")))


def _ages(text: str, age: str) -> str:
    lines = text.splitlines()
    for i in (1, 2, 3):
        lines[i] = ",".join(c if n != 2 else age for n, c in enumerate(lines[i].split(",")))
    return "\n".join(lines) + "\n"


FAILING = {  # case: (file edited, edit, what the message must quote)
    "bad_age": ("victims", lambda t: _ages(t, AGE), f"'{REF}C1: {AGE}'"),
    "duplicate_person": ("victims", lambda t: t + f"C6,{PERSON},31,F,x\n" * 3, "duplicate_person: 2"),
    "bad_date": ("offences", lambda t: t.replace("15/03/2023", f"99/99/2023{DATE}"), f"'{REF}C1: 99/99/2023{DATE}'"),
    "month_first": ("offences", lambda t: t + MONTH_FIRST_ROWS, f"'{REF}C9: 01/13/2023 {DATE}'"),
    "missing_column": ("victims", lambda t: "\n".join(",".join(c[:2] + c[3:]) for c in
                                                      (line.split(",") for line in t.splitlines())) + "\n",
                       "column 'Age'"),
}

# Runs each config through the flow; prints each InputError's full message (one JSON line), after the
# server has stored every failed flow run's event (the server's event writer batches in the background).
RUN_FLOWS = """
import json, os, sqlite3, sys, time
from flows.annual_assessment import annual_assessment
from pipeline.errors import InputError
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker

messages = {}
for name, config in json.loads(sys.argv[1]).items():
    try:
        annual_assessment(config)
        messages[name] = None
    except InputError as exc:
        messages[name] = exc.message
APILogWorker.drain_all()
EventsWorker.drain_all()
failed = sum(message is not None for message in messages.values())
database, deadline = os.path.join(os.environ["PREFECT_HOME"], "prefect.db"), time.monotonic() + 120
while time.monotonic() < deadline:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as con:
        if con.execute("select count(*) from events where event = 'prefect.flow-run.Failed'").fetchone()[0] >= failed:
            break
    time.sleep(1)
print("MESSAGES " + json.dumps(messages))
"""


def _failing_config(folder: Path, name: str) -> Path:
    """The tiny extract with distinctive crime references (RFX/22/0000C1 ...) and one case's bad input."""
    config = write_tiny_inputs(folder)
    role, edit, _ = FAILING[name]
    for table in ("offences", "victims", "suspects"):
        path = folder / "extract" / f"{table}.csv"
        text = edit(path.read_text()) if table == role else path.read_text()
        path.write_text(re.sub(r"^([CP][0-9]+),", REF + r"\1,", text, flags=re.M))
    return config


@pytest.fixture(scope="module")
def own_prefect_runs(tmp_path_factory, key):
    """Every case of this file (person/<case>, failing/<case>) in one process with its own PREFECT_HOME
    (its temporary server and database): (PREFECT_HOME, messages, that process's stderr, configs)."""
    base = tmp_path_factory.mktemp("runs")
    home = base / "prefect_home"
    configs = {f"person/{name}": str(_case(base / "person" / name, **case)) for name, case in _person_cases().items()}
    configs |= {f"failing/{name}": str(_failing_config(base / name, name)) for name in FAILING}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env[KEY_ENV] = key
    result = subprocess.run([sys.executable, "-c", RUN_FLOWS, json.dumps(configs)], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [text for text in result.stdout.splitlines() if text.startswith("MESSAGES ")][-1]
    return home, json.loads(line.removeprefix("MESSAGES ")), result.stderr, configs


@pytest.fixture(scope="module")
def failed_runs(own_prefect_runs):
    """The failing cases: (PREFECT_HOME, messages, stderr, configs)."""
    home, messages, stderr, configs = own_prefect_runs
    return (home, {name: messages[f"failing/{name}"] for name in FAILING}, stderr,
            {name: configs[f"failing/{name}"] for name in FAILING})


def _prefect_home_texts(home: Path) -> dict[str, str]:
    """Everything Prefect kept under PREFECT_HOME, as text: each column of each table of its database,
    and each file (also base64-decoded: the result storage holds a failed run's pickled exception)."""
    texts = {}
    with sqlite3.connect(f"file:{home / 'prefect.db'}?mode=ro", uri=True) as con:
        con.text_factory = lambda raw: raw.decode("utf-8", "replace")
        tables = [row[0] for row in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for column in [row[1] for row in con.execute(f'pragma table_info("{table}")')]:
                values = con.execute(f'select cast("{column}" as text) from "{table}"').fetchall()
                texts[f"{table}.{column}"] = "\n".join(str(v[0]) for v in values if v[0] is not None)
    for path in home.rglob("*"):
        if path.is_file() and not path.name.startswith("prefect.db"):
            raw = path.read_bytes()
            try:
                raw += b"\n" + base64.b64decode(raw, validate=False)
            except (binascii.Error, ValueError):
                pass
            texts[str(path)] = raw.decode("utf-8", "replace")
    return texts


def test_failed_runs_still_tell_the_analyst_the_examples(failed_runs):
    """The message the terminal shows names the file, the column, the rule and quotes examples."""
    messages = failed_runs[1]
    for name, (role, _, quoted) in FAILING.items():
        assert messages[name] and f"{role}.csv" in messages[name] and quoted in messages[name], (name, messages[name])


def test_failed_runs_leave_no_crime_reference_or_value_in_prefect(failed_runs):
    home, _, console, _ = failed_runs
    texts = _prefect_home_texts(home)
    everything = "\n".join(texts.values())
    # not vacuous: Prefect recorded the failures (state messages naming the file and rule, the logged
    # traceback, failed-run events) and pickled each failed flow run's exception into its storage
    states = texts["flow_run_state.message"]
    for name in FAILING:
        assert f"{name}/extract/" in states, name
    assert "quarantined (unparseable_age: 3)" in states
    assert "Encountered exception during execution" in texts["log.message"]
    assert everything.count("prefect.flow-run.Failed") >= len(FAILING)
    assert "pipeline.errors" in everything and "InputError" in everything
    for secret in FAILED_SECRETS:
        for escaped in {secret, json.dumps(secret)[1:-1]}:
            found = [where for where, text in texts.items() if escaped in text]
            assert not found, (secret, found)
        assert secret not in console, secret      # Prefect's own console log lines


def test_the_command_line_still_prints_the_examples(failed_runs, prefect_harness):
    """`svna annual` on a failing case: the terminal gets the examples Prefect never sees."""
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "annual", "--config", failed_runs[3]["bad_age"]],
                            cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "victims.csv, column 'age': at most 5% of rows may fail row checks" in result.stderr
    assert f"Examples: '{REF}C1: {AGE}', '{REF}C2: {AGE}'" in result.stderr
