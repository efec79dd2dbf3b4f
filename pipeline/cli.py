"""The `svna` command line: every command says where its outputs went, or exits non-zero with a
one-paragraph error naming the file, column and rule (a traceback only with --debug)."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import typer

from pipeline.errors import InputError
from pipeline.settings.config import DEMO_CONFIG, DEMO_RAW_DIR, configure_runtime

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="svna: the Serious Violence Strategic Needs Assessment pipeline.")


def _period(calendar_year, financial_year, rolling_12m_to, start, end) -> dict | None:
    chosen = {k: v for k, v in (("calendar_year", calendar_year), ("financial_year", financial_year),
                                ("rolling_12m_to", rolling_12m_to)) if v is not None}
    if start or end:
        if not (start and end):
            raise InputError("command line", "--start/--end", "give both --start and --end", f"{start} .. {end}")
        chosen.update(start=start, end=end)
    if len(chosen) > 1 and not (set(chosen) == {"start", "end"}):
        raise InputError("command line", "period", "give one period option", ", ".join(chosen))
    return chosen or None


class _NoTraceback(logging.Filter):
    """Prefect logs a failed task's traceback (and repeats an input error as each run fails); the
    analyst gets the one-paragraph message instead, printed once at the end."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "InputError" in record.getMessage():
            return False
        record.exc_info, record.exc_text = None, None
        return True


PREFECT_ADVICE = (
    "For faster runs and run history, start a persistent local server in another terminal "
    "(`.venv/bin/prefect server start`) and set PREFECT_API_URL=http://127.0.0.1:4200/api; "
    "or allow the temporary server longer with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (now {timeout} s).")


def _prefect_problem(exc: Exception) -> str | None:
    """A plain message when Prefect's API could not be reached, else None."""
    import os

    text = str(exc)
    timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "?")
    if "Timed out while attempting to connect to ephemeral Prefect API server" in text:
        return "Prefect's temporary server did not start in time (the machine may be busy). " + \
            PREFECT_ADVICE.format(timeout=timeout)
    return None


def _check_prefect_api() -> None:
    """With PREFECT_API_URL set, svna uses that server; say so plainly when it does not answer."""
    import os
    import urllib.request

    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as response:
            if response.status == 200:
                return
    except OSError:
        pass
    raise InputError("PREFECT_API_URL", "-", "a Prefect server must answer at PREFECT_API_URL: start it with "
                     "`.venv/bin/prefect server start`, or unset PREFECT_API_URL to use a temporary server",
                     f"no answer from {url}")


def _start_temporary_server():
    """Without a Prefect API the flow starts Prefect's temporary server and waits for it; started here on
    a thread, the server process comes up while the flow's and the run's modules import. Returns the wait
    (raising the start's error); the flow is called only after it, and finds the server running."""
    from concurrent.futures import ThreadPoolExecutor

    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    pool = ThreadPoolExecutor(1, thread_name_prefix="svna-prefect-server")
    started = pool.submit(SubprocessASGIServer().start)
    pool.shutdown(wait=False)
    return started.result


def _fail(exc: Exception) -> None:
    """The one-paragraph message for a failed run, and its exit code (2: bad input; 3: the public tier
    failed, the restricted one was written; 1: anything else)."""
    if isinstance(exc, InputError):
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        typer.echo("Nothing was written; the previous outputs (if any) are unchanged.", err=True)
        raise typer.Exit(2)
    from pipeline.publish.disclosure import PublicTierError

    if isinstance(exc, PublicTierError):
        typer.secho(f"svna failed: {exc}.", fg=typer.colors.RED, err=True)
        typer.echo("The restricted tier was written and kept; the public tier (public/) was not written. "
                   "Run again with --debug for the full traceback.", err=True)
        raise typer.Exit(3)
    problem = _prefect_problem(exc)
    typer.secho(problem or f"svna failed: {exc}", fg=typer.colors.RED, err=True)
    if not problem:
        typer.echo("Run again with --debug for the full traceback.", err=True)
    raise typer.Exit(1)


TIER_HELP = "Which tiers to write: restricted (OFFICIAL-SENSITIVE), public (disclosure-controlled) or both " \
            "(default: the config's `tiers:`, else restricted)."


def _tiers(tier: str | None) -> list[str] | None:
    if tier is None:
        return None
    if tier not in ("restricted", "public", "both"):
        raise InputError("command line", "--tier", "expected restricted, public or both", tier)
    return ["restricted", "public"] if tier == "both" else [tier]


def _run(config: Path, period: dict | None, output: Path | None, debug: bool, demo: bool = False,
         tier: str | None = None) -> None:
    from pipeline.runs.annual import enable_crash_stacks

    enable_crash_stacks()   # a native crash leaves a stack on stderr (issue 7 item 13)
    configure_runtime()
    try:
        _check_prefect_api()
        server_started = _start_temporary_server()
        from flows.annual_assessment import annual_assessment
        from pipeline.runs.annual import warm_run_imports

        warm_run_imports()  # while Prefect starts its server

        if not debug:
            for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
                logging.getLogger(name).addFilter(_NoTraceback())

        server_started()
        out = annual_assessment(str(config), period=period, output=str(output.resolve()) if output else None,
                                demo=demo, tiers=_tiers(tier))
    except Exception as exc:
        if debug:
            raise
        _fail(exc)
    typer.secho(f"\nOutputs written to {out}", fg=typer.colors.GREEN, bold=True)
    for name in ("report.html", "headlines.md", "svna_data_pack.xlsx", "tables/", "public/", "svna.duckdb", "run.json"):
        if (Path(out) / name).exists():
            typer.echo(f"  {Path(out) / name}")


@app.command()
def annual(
    config: Path = typer.Option(..., "--config", "-c", help="Run configuration YAML (see config/demo.yaml)."),
    calendar_year: int | None = typer.Option(None, help="Calendar year, e.g. 2022 (compared with 2021)."),
    financial_year: int | None = typer.Option(None, help="Financial year starting April, e.g. 2022 for 2022/23."),
    rolling_12m_to: str | None = typer.Option(None, help="Rolling 12 months to YYYY-MM."),
    start: str | None = typer.Option(None, help="Custom period start, YYYY-MM-DD (with --end)."),
    end: str | None = typer.Option(None, help="Custom period end, YYYY-MM-DD (inclusive)."),
    output: Path | None = typer.Option(None, help="Output folder (default: the config's `output`)."),
    tier: str | None = typer.Option(None, help=TIER_HELP),
    debug: bool = typer.Option(False, help="Show full tracebacks."),
) -> None:
    """Run the annual assessment: ingest, validate, compute every SNA table and publish."""
    try:
        period = _period(calendar_year, financial_year, rolling_12m_to, start, end)
        _tiers(tier)
    except InputError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    _run(config, period, output, debug, tier=tier)


@app.command()
def demo(
    output: Path | None = typer.Option(None, help="Output folder (default data/processed/demo)."),
    regenerate: bool = typer.Option(False, help="Rebuild the synthetic demo data even if present."),
    tier: str | None = typer.Option(None, help=TIER_HELP),
    debug: bool = typer.Option(False, help="Show full tracebacks."),
) -> None:
    """Generate the synthetic demo borough (if absent) and run the annual assessment on it."""
    from pipeline.demo.riverford import RELATIVE_PATHS, generate_demo_data
    from pipeline.settings.config import CONFIG_DIR, IN_CHECKOUT

    if not IN_CHECKOUT and not DEMO_CONFIG.exists():  # an installed package: a demo workspace of its own
        typer.echo(f"Writing the demo configuration to {DEMO_CONFIG.parent} (set SVNA_DEMO_HOME to choose) ...")
        shutil.copytree(CONFIG_DIR, DEMO_CONFIG.parent, dirs_exist_ok=False)
    # regenerate when any file the demo config reads is missing (e.g. data from an older svna)
    if regenerate or not all((DEMO_RAW_DIR / rel).exists() for rel in RELATIVE_PATHS.values()):
        typer.echo(f"Generating the synthetic demo borough in {DEMO_RAW_DIR} ...")
        generate_demo_data(DEMO_RAW_DIR)
    try:
        _tiers(tier)
    except InputError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    _run(DEMO_CONFIG, None, output, debug, demo=True, tier=tier)


@app.command("multi-area")
def multi_area(
    config: Path = typer.Option(..., "--config", "-c", help="Run configuration YAML with `fan_out:` (and optionally `engine:`)."),
    output: Path | None = typer.Option(None, help="Output folder (default: the config's `output`)."),
    debug: bool = typer.Option(False, help="Show full tracebacks."),
) -> None:
    """Fan out over forces or years (data.police.uk files too big for one run), on Prefect's default
    runner or a Dask cluster, and combine the units' tables; one area or all London boroughs need
    `svna annual` (one query)."""
    from pipeline.runs.annual import enable_crash_stacks

    enable_crash_stacks()
    configure_runtime()
    try:
        _check_prefect_api()
        from flows.multi_area import multi_area_run

        if not debug:
            for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
                logging.getLogger(name).addFilter(_NoTraceback())
        out = multi_area_run(str(config), output=str(output.resolve()) if output else None)
    except Exception as exc:
        if debug:
            raise
        _fail(exc)
    typer.secho(f"\nOutputs written to {out}", fg=typer.colors.GREEN, bold=True)
    for name in ("tables/", "tables/unit_comparison.csv", "svna.duckdb", "run.json"):
        typer.echo(f"  {Path(out) / name}")


key_app = typer.Typer(no_args_is_help=True, help="Pseudonymisation keys.")
app.add_typer(key_app, name="key")


@key_app.command("new")
def key_new(path: Path = typer.Argument(..., help="Where to write the key, e.g. ~/.svna/key (never overwritten).")) -> None:
    """Write a new random pseudonymisation key (32 bytes as hex), readable by you alone (mode 600)."""
    from pipeline.sources.privacy import write_new_key

    try:
        written = write_new_key(path)
    except FileExistsError:
        typer.secho(f"{path} already exists: svna never overwrites a key (hashes made with it would no longer "
                    "match). Choose another path.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    typer.echo(f"Wrote a new key to {written} (mode 600). In the run config: privacy: {{key_file: {written}}}. "
               "Keep it outside the repository and back it up: the same key gives the same pseudonyms.")


@app.command()
def monthly(
    config: Path = typer.Option(..., "--config", "-c", help="Run configuration YAML (its `monthly:` section is optional)."),
    month: str | None = typer.Option(None, help="Month to report, YYYY-MM (default: the latest complete month in "
                                                "the inputs; 'due': the month a scheduled run reports)."),
    output: Path | None = typer.Option(None, help="Output folder (default: the config's `output`); the month "
                                                  "goes to <output>/monthly/<YYYY-MM>/."),
    debug: bool = typer.Option(False, help="Show full tracebacks."),
) -> None:
    """Run the monthly refresh: rolling 12 months, the month vs a year before, exceptions, revisions."""
    configure_runtime()
    try:
        from flows.monthly_refresh import WAITING_STATE, monthly_refresh

        if not debug:
            for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
                logging.getLogger(name).addFilter(_NoTraceback())
        state = monthly_refresh(str(config), month=month, output=str(output.resolve()) if output else None,
                                return_state=True)
        if state.name == WAITING_STATE:
            typer.secho(state.message, fg=typer.colors.YELLOW)
            return
        result = state.result()
    except Exception as exc:
        if debug:
            raise
        _fail(exc)
    typer.secho(f"\n{result['message']}", fg=typer.colors.GREEN, bold=True)
    if result["output"]:
        for name in ("report.html", "headlines.md", "svna_monthly_pack.xlsx", "tables/", "run.json"):
            typer.echo(f"  {Path(result['output']) / name}")
    typer.echo(f"  history: {result['warehouse']}")


@app.command()
def serve(
    config: Path | None = typer.Option(None, "--config", "-c", help="Run config for the scheduled refresh "
                                                                    "(default: prefect.yaml's parameters)."),
    month: str | None = typer.Option(None, help="Override prefect.yaml's month parameter (default 'due')."),
    deployment_file: Path = typer.Option(Path(__file__).resolve().parent.parent / "prefect.yaml",
                                         help="The prefect.yaml holding the monthly-refresh deployment."),
) -> None:
    """Serve the monthly-refresh deployment on this machine, on prefect.yaml's cron (Europe/London), until
    stopped. Needs a persistent Prefect server at PREFECT_API_URL: its scheduler creates the runs."""
    configure_runtime()
    from pipeline.runs.prefect_server import NoPersistentServer, persistent_api_url

    try:
        api_url = persistent_api_url()
    except NoPersistentServer as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    from flows.monthly_refresh import serve_monthly

    serve_monthly(deployment_file.resolve(), config.resolve() if config else None, month, api_url)


def main() -> None:  # pragma: no cover - console entry point
    """`svna`: a run command goes to a supervised child process, so a crash leaves nothing behind
    (pipeline/runs/supervisor.py); that child, and every other command, runs here."""
    import os

    from pipeline.runs import supervisor

    if supervisor.wanted(sys.argv[1:]):
        sys.exit(supervisor.run(sys.argv[1:]))
    if supervisor.CHILD_ENV in os.environ:
        supervisor.start_child()
    sys.exit(app(prog_name=os.environ.get(supervisor.PROG_ENV)))


if __name__ == "__main__":  # pragma: no cover
    main()
