"""Benchmark (not a test): svna's ingest against DuckDB's bare `read_csv` of the same files, in one run.

A borough ten times the demo (about 265,000 offences, with their victims and suspects) is made by
repeating the demo extract with the crime and person references offset, so every copy is a distinct
crime. Each measurement runs in a fresh subprocess (peak memory is that process's own):
  - bare: `create table as select * from read_csv(..., all_varchar)` of the three files;
  - ingest: `pipeline.transform.assessment.ingest` of the same files (encoding and header sniffing, line
    numbers, rejects, the profile's renames and value maps, pseudonymisation, audit tables).
Targets (issue 8): ingest within 3x the bare read. Results print as a table and go to
.bench/ingest.json. `--copies N` changes the scale; `--keep` keeps the generated files.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "config" / "profiles" / "example_force.yaml"
ROLES = ("offences", "victims", "suspects")


def demo_extract() -> dict[str, Path]:
    """The demo extract's three files (generated into a scratch folder if the project has none)."""
    folder = ROOT / "data" / "raw" / "demo" / "extract"
    if not list(folder.glob("offences_*.csv")):
        folder = Path(tempfile.mkdtemp(prefix="svna-bench-demo-")) / "demo"
        subprocess.run([sys.executable, "-m", "pipeline.demo.riverford", str(folder)], cwd=ROOT, check=True, capture_output=True)
        folder = folder / "extract"
    return {role: next(folder.glob(f"{role}_*.csv")) for role in ROLES}


def scaled_extract(out: Path, copies: int) -> dict[str, Path]:
    """`copies` repeats of the demo extract in one file per role; copy i prefixes every crime
    reference and person id with `Xi-`, so no two copies share a crime or a person."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, source in demo_extract().items():
        header, *lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        columns = header.rstrip("\n").split(",")
        prefixed = [i for i, c in enumerate(columns) if c in ("CRIS_Ref", "Victim_ID", "Suspect_ID")]
        target = out / source.name
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.write(header)
            for copy in range(copies):
                for line in lines:
                    cells = line.split(",")  # the demo's references never hold a comma or a quote
                    for i in prefixed:
                        cells[i] = f"X{copy}-{cells[i]}" if cells[i] else cells[i]
                    f.write(",".join(cells))
        paths[role] = target
    return paths


BARE = """
import sys, time, resource, duckdb
paths = sys.argv[1:]
con = duckdb.connect()
start = time.perf_counter()
rows = 0
for i, path in enumerate(paths):
    con.execute(f"create table t{i} as select * from read_csv(?, all_varchar = true)", [path])
    rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
print(time.perf_counter() - start, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

INGEST = """
import sys, time, resource
from pathlib import Path
from pipeline.transform import assessment, db
from pipeline.settings.config import load_config
cfg = load_config(Path(sys.argv[1]))
con = db.connect()
start = time.perf_counter()
files = assessment.ingest(con, cfg)
wall = time.perf_counter() - start
rows = sum(f.rows_read for f in files)
print(wall, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(code: str, args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=False)
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    wall, rows, peak = out.stdout.split()[-3:]
    return {"wall_s": round(float(wall), 2), "rows": int(rows), "peak_rss_mib": round(int(peak) / 1024, 1)}


def write_config(folder: Path, paths: dict[str, Path]) -> Path:
    config = folder / "bench.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Riverford, code: E09000099}}
        period: {{calendar_year: 2023}}
        inputs:
          - kind: record_extract
            profile: {json.dumps(str(PROFILE))}
            offences: {json.dumps(str(paths['offences']))}
            victims: {json.dumps(str(paths['victims']))}
            suspects: {json.dumps(str(paths['suspects']))}
        output: {json.dumps(str(folder / 'out'))}
        """))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="how many times the demo extract is repeated")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement (the best is kept)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="svna-bench-ingest-"))
    try:
        paths = scaled_extract(folder / "extract", args.copies)
        config = write_config(folder, paths)
        files = [str(paths[r]) for r in ROLES]
        env = {"SVNA_PSEUDONYMISATION_KEY": secrets.token_hex(32)}
        bare = min((run(BARE, files) for _ in range(args.repeat)), key=lambda r: r["wall_s"])
        ingest = min((run(INGEST, [str(config)], env) for _ in range(args.repeat)), key=lambda r: r["wall_s"])
        with open(paths["offences"], encoding="utf-8") as f:
            offences = sum(1 for _ in f) - 1
        size_mib = sum(p.stat().st_size for p in paths.values()) / 2**20
        rows = [
            {"step": f"bare DuckDB read_csv, {args.copies}x demo ({size_mib:.0f} MiB)", **bare},
            {"step": f"svna ingest, {args.copies}x demo ({offences:,} offences)", **ingest},
        ]
        ratio = round(ingest["wall_s"] / bare["wall_s"], 1)
        print(f"{'step':<55} {'wall s':>8} {'rows':>9} {'peak MiB':>9}")
        for r in rows:
            print(f"{r['step']:<55} {r['wall_s']:>8} {r['rows']:>9} {r['peak_rss_mib']:>9}")
        print(f"ingest / bare read_csv: {ratio}x (target: within 3x)")
        (ROOT / ".bench").mkdir(exist_ok=True)
        (ROOT / ".bench" / "ingest.json").write_text(json.dumps({"rows": rows, "ratio": ratio}, indent=2))
    finally:
        if args.keep:
            print(f"files kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
