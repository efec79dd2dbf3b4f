"""Synthetic data.police.uk street files for a few small forces (for the multi-area fan-out tests; not real data).

Each force gets its own LSOAs (and wards, in a best-fit lookup), one file per month in a folder per
month, named as the download is: `2023-01/2023-01-<slug>-street.csv`. Deterministic from the seed.
A few rows in each force exercise the row rules: no location, anti-social behaviour without a Crime
ID, a repeated Crime ID (counts once) and an unreadable month (quarantined).
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
          "LSOA name", "Crime type", "Last outcome category", "Context"]
FORCES = [("Avonshire Police", "avonshire", 60), ("Brackenford Constabulary", "brackenford", 35),
          ("City of Corbridge Police", "city-of-corbridge", 12)]
CRIME_TYPES = [("Violence and sexual offences", 30), ("Anti-social behaviour", 18), ("Public order", 9),
               ("Other theft", 8), ("Criminal damage and arson", 8), ("Vehicle crime", 6), ("Shoplifting", 6),
               ("Burglary", 5), ("Drugs", 3), ("Other crime", 2), ("Theft from the person", 2),
               ("Bicycle theft", 1), ("Robbery", 1), ("Possession of weapons", 1)]


def months(years: list[int]) -> list[str]:
    return [f"{y}-{m:02d}" for y in years for m in range(1, 13)]


def write_forces(folder: Path, years: list[int], forces=FORCES, seed: int = 11) -> dict:
    """Write the files and `lsoa_to_ward.csv`; returns {"files": [...], "lookup": path}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lookup = folder / "lsoa_to_ward.csv"
    lsoas: dict[str, list[str]] = {}
    with open(lookup, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lsoa21cd", "ward22cd", "ward22nm"])
        for f, (force, slug, _) in enumerate(forces):
            lsoas[slug] = [f"E01{f:03d}{k:03d}" for k in range(6)]
            for k, code in enumerate(lsoas[slug]):
                writer.writerow([code, f"E05{f:03d}{k // 2:03d}", f"{slug} ward {k // 2}"])
    types = [t for t, w in CRIME_TYPES for _ in range(w)]
    files = []
    for month in months(years):
        (folder / month).mkdir(exist_ok=True)
        for f, (force, slug, per_month) in enumerate(forces):
            path = folder / month / f"{month}-{slug}-street.csv"
            rows = []
            for i in range(per_month + rng.randint(-per_month // 4, per_month // 4)):
                crime_type = rng.choice(types)
                crime_id = "" if crime_type == "Anti-social behaviour" else \
                    hashlib.sha256(f"{slug}-{month}-{i}".encode()).hexdigest()
                located = rng.random() > 0.03
                lsoa = rng.choice(lsoas[slug])
                rows.append([crime_id, month, force, force,
                             f"{-2.0 + f * 0.3 + rng.random() / 10:.6f}" if located else "",
                             f"{52.0 + rng.random() / 10:.6f}" if located else "",
                             "On or near High Street" if located else "No Location",
                             lsoa if located else "", f"{slug} {lsoa[-3:]}A" if located else "",
                             crime_type, "" if not crime_id else "Under investigation", ""])
            if month.endswith("-03"):   # row rules: a repeated Crime ID and an unreadable month
                repeat = next(r for r in rows if r[0])
                rows.append(list(repeat))
                rows.append([hashlib.sha256(f"{slug}-{month}-bad".encode()).hexdigest(), "2023-13", force, force,
                             "", "", "No Location", "", "", "Burglary", "Under investigation", ""])
            with open(path, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADER)
                writer.writerows(rows)
            files.append(path)
    return {"files": files, "lookup": lookup}
