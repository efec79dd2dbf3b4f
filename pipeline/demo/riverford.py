"""Deterministic synthetic inputs for the fictional demo borough "Riverford" (E09000099).

Everything here is invented: geography, population, crimes and people are drawn from a fixed-seed
``numpy.random.default_rng`` so that ``svna demo``, the tests and the docs can exercise the whole
pipeline without any restricted data. No real record is copied; only the *formats* (Census 2021
population layout, London Datastore MPS count files, a CRIS-style three-file police extract described
by ``config/profiles/example_force.yaml``) and the Home Office offence code list in
``sql/seeds/ho_offence_codes.csv`` are reused.

Files written under ``root`` (normally ``<project>/data/raw/demo``), see :func:`generate_demo_data`:

``reference/wards.geojson``       20 ward polygons (EPSG:27700) tiling the borough: Voronoi cells
``reference/lsoas.gpkg``          ~120 LSOA polygons nesting exactly inside the wards (layer ``lsoas``)
``reference/lsoa_to_ward.csv``    LSOA -> ward best-fit lookup (exact here)
``reference/population.csv``      Census 2021 usual residents by LSOA x six age bands (~200,000)
``reference/sub_areas.csv``       ward -> East/West by ward centroid easting
``reference/imd_2019_lsoa.csv``   synthetic IMD 2019 ranks and deciles (MHCLG CSV layout): deprived estates in the east
``reference/population_projection.csv``  residents by age band, 2025/2030/2035 (the under-25s grow)
``extract/offences_2024-01-15.csv``, ``victims_...``, ``suspects_...``   record-level police extract
``mps/MPS_Borough_Level_Crime_demo_202201-202312_extract2024-01.csv``   force-wide comparator counts

Deliberately bad rows (to exercise quarantine; there are no others):

* offences, 4 rows, all "recorded" in 2023 so they would distort 2023 counts if they were loaded:

  1. ``CRIS_Ref`` ``RF/23/900001``: ``Recorded_Date`` is ``31/02/2023`` (an impossible date).
  2. ``CRIS_Ref`` ``RF/23/900002``: ``HO_Class`` is ``ZZ9`` (not a Home Office offence code).
  3. a row whose ``CRIS_Ref`` is blank.
  4. a second row with ``CRIS_Ref`` ``RF/23/000001``, which repeats the reference of the genuine
     first 2023 crime with different content (another offence class). The *first* occurrence in the
     file is the genuine crime and is counted in the comparator file; the later copy is the bad row.

* victims, 2 rows: ``Victim_Age`` is ``150`` (an impossible age). Their crimes are genuine.

The Riverford rows of the MPS comparator file equal the monthly counts, by recorded month, of the
extract's valid offences (bad rows above excluded; ``Crime_Status`` Cancelled/Transferred excluded)
mapped to the MPS categories in :data:`MPS_CATEGORY_BY_HO`.

Run ``python -m pipeline.demo.riverford [ROOT]`` to write the files by hand.
"""

from __future__ import annotations

import json
import pathlib
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely import affinity

from pipeline.demo.riverford_partner import PARTNER_PATHS, write_partner_files
from pipeline.settings.config import DEMO_RAW_DIR, SEEDS_DIR
from pipeline.sources.files import sha256_of
from pipeline.sources.privacy import DEMO_MANIFEST

DEMO_AREA = {"name": "Riverford", "code": "E09000099"}
DEFAULT_SEED = 20240131
EXTRACT_DATE = "2024-01-15"
YEARS = (2022, 2023)
CRS = "EPSG:27700"

HO_CODES_SEED = SEEDS_DIR / "ho_offence_codes.csv"

# Fixed relative paths of every file written (config/demo.yaml points at these).
RELATIVE_PATHS = {
    "wards": "reference/wards.geojson",
    "lsoas": "reference/lsoas.gpkg",
    "lsoa_to_ward": "reference/lsoa_to_ward.csv",
    "population": "reference/population.csv",
    "sub_areas": "reference/sub_areas.csv",
    "offences": f"extract/offences_{EXTRACT_DATE}.csv",
    "victims": f"extract/victims_{EXTRACT_DATE}.csv",
    "suspects": f"extract/suspects_{EXTRACT_DATE}.csv",
    "mps_counts": "mps/MPS_Borough_Level_Crime_demo_202201-202312_extract2024-01.csv",
    "imd": "reference/imd_2019_lsoa.csv",
    "population_projection": "reference/population_projection.csv",
    **PARTNER_PATHS,   # partner and open data, and the indicator set (pipeline.demo.riverford_partner)
}

# The delivery plan's indicator set (pipeline.sources.indicator_set): the plan's themes; baseline = the demo's
# 2022 quarterly average, targets per quarter about 5% better, red about 5% worse (Fingertips: its yearly rate)
INDICATOR_SET = """\
id,name,plan_theme,source_measure,baseline,target,red_at,direction,owner
VWI-1,Violence with injury,Violence with injury,police:vwi,321,305,337,lower,Police
ROB-1,Personal robbery,Robbery,police:personal_robbery,97,92,102,lower,Police
SX-1,Sexual offences,Sexual offences,police:sexual_offences,97,100,90,higher,Police (more reporting is the aim)
DA-1,Domestic abuse flagged offences,Domestic abuse,police:domestic_abuse,457,435,480,lower,Police and VAWG lead
U25-1,Victims of serious violence under 25,Under-25 victims,police_victims_u25:serious_violence,284,270,298,lower,VRU
KN-1,Knife or sharp instrument offences,Knife crime,police:knife_crime,59,56,62,lower,Police
HOM-1,Homicide,Core measures,police:homicide,1,0,2,lower,Police
HES-1,Sharp-object admissions under 25,Core measures,partner:hes_sharp_object_admissions_u25,5,4,6,lower,Public health
HAV-1,Hospital admissions for violence (Fingertips 11201),Core measures,fingertips:11201,79,72,80,lower,Public health
ED-1,A&E assault attendances (ISTV),Core measures,partner:istv_assault_attendances,376,360,395,lower,Emergency department
YJ-1,Youth justice first-time entrants,Youth justice,partner:yj_first_time_entrants,12,11,13,lower,Youth Justice Service
SCH-1,School suspensions,Education,partner:school_suspensions,108,100,115,lower,Education
SCH-2,School permanent exclusions,Education,partner:school_permanent_exclusions,3,2,4,lower,Education
"""

# The documented bad rows (see module docstring); tests and docs refer to these.
BAD_DATE_REF = "RF/23/900001"
BAD_CODE_REF = "RF/23/900002"
DUPLICATED_REF = "RF/23/000001"
BAD_VICTIM_AGE = "150"

# --------------------------------------------------------------------------------------------
# Offence mix. One row per Home Office code used:
#   group      drives timing, place, victims and suspects
#   share      share of all offences in 2022 (the shares sum to ~1; homicide is drawn separately)
#   growth     2023 count / 2022 count (the violence themes grow ~8%)
#   p_da       probability the domestic abuse flag is "Y"
#   p_knife    probability the knife flag is "Y"
# --------------------------------------------------------------------------------------------
_CODE_MIX = [
    # code,  group,            share,   growth, p_da,  p_knife
    ("8N", "vwi", 0.0880, 1.08, 0.40, 0.07),
    ("5D", "vwi", 0.0060, 1.08, 0.20, 0.30),
    ("8P", "vwi", 0.0025, 1.08, 0.02, 0.05),
    ("8S", "vwi", 0.0030, 1.08, 0.00, 0.02),
    ("2", "vwi", 0.0005, 1.08, 0.20, 0.50),
    ("105A", "vwoi", 0.0850, 1.08, 0.35, 0.0),
    ("8L", "vwoi", 0.0300, 1.08, 0.38, 0.0),
    ("8R", "vwoi", 0.0250, 1.08, 0.28, 0.0),
    ("8U", "vwoi", 0.0180, 1.08, 1.00, 0.0),
    ("8Q", "vwoi", 0.0120, 1.08, 0.50, 0.0),
    ("3B", "vwoi", 0.0090, 1.08, 0.35, 0.10),
    ("8M", "vwoi", 0.0060, 1.08, 0.02, 0.0),
    ("105B", "vwoi", 0.0040, 1.08, 0.02, 0.0),
    ("104", "vwoi", 0.0040, 1.08, 0.00, 0.0),
    ("11A", "vwoi", 0.0030, 1.08, 0.30, 0.0),
    ("36", "vwoi", 0.0020, 1.08, 0.20, 0.0),
    ("13", "vwoi", 0.0010, 1.08, 0.30, 0.0),
    ("106", "vwoi", 0.0010, 1.08, 0.00, 0.0),
    ("34B", "robbery_personal", 0.0300, 1.08, 0.01, 0.25),
    ("34A", "robbery_business", 0.0030, 1.02, 0.00, 0.20),
    ("19C", "rape", 0.0080, 1.08, 0.40, 0.02),
    ("19D", "rape", 0.0012, 1.08, 0.20, 0.0),
    ("19F", "rape", 0.0008, 1.08, 0.20, 0.0),
    ("20A", "sexual_other", 0.0100, 1.08, 0.10, 0.0),
    ("88E", "sexual_other", 0.0050, 1.08, 0.02, 0.0),
    ("17A", "sexual_other", 0.0015, 1.08, 0.05, 0.0),
    ("22A", "sexual_other", 0.0015, 1.08, 0.30, 0.0),
    ("20B", "sexual_other", 0.0010, 1.08, 0.20, 0.0),
    ("22B", "sexual_other", 0.0010, 1.08, 0.10, 0.0),
    ("49", "theft", 0.1400, 1.04, 0.02, 0.0),
    ("46", "theft", 0.0600, 1.06, 0.00, 0.0),
    ("39", "theft", 0.0300, 1.05, 0.00, 0.0),
    ("44", "theft", 0.0250, 0.97, 0.00, 0.0),
    ("40", "theft", 0.0150, 1.00, 0.12, 0.0),
    ("28E", "burglary", 0.0500, 0.98, 0.04, 0.0),
    ("30C", "burglary", 0.0200, 0.98, 0.00, 0.0),
    ("45", "vehicle", 0.0500, 0.99, 0.00, 0.0),
    ("48", "vehicle", 0.0300, 1.03, 0.01, 0.0),
    ("126", "vehicle", 0.0100, 1.00, 0.00, 0.0),
    ("58A", "damage", 0.0250, 1.00, 0.30, 0.0),
    ("58B", "damage", 0.0100, 1.00, 0.02, 0.0),
    ("58C", "damage", 0.0300, 1.00, 0.10, 0.0),
    ("58D", "damage", 0.0100, 1.00, 0.05, 0.0),
    ("56B", "damage", 0.0050, 1.00, 0.05, 0.0),
    ("92A", "drugs", 0.0080, 0.96, 0.00, 0.0),
    ("92D", "drugs", 0.0120, 0.96, 0.00, 0.0),
    ("92E", "drugs", 0.0500, 0.94, 0.00, 0.0),
    ("9A", "public_order", 0.0370, 1.03, 0.05, 0.0),
    ("62A", "public_order", 0.0030, 1.03, 0.00, 0.0),
    ("10D", "weapons", 0.0070, 1.05, 0.00, 0.0),
    ("99", "misc", 0.0050, 1.00, 0.02, 0.0),
    ("54", "misc", 0.0030, 1.00, 0.00, 0.0),
    ("33", "misc", 0.0020, 1.00, 0.00, 0.0),
]
CODE_MIX = pd.DataFrame(_CODE_MIX, columns=["code", "group", "share", "growth", "p_da", "p_knife"])
OFFENCES_PER_YEAR = 13_000
HOMICIDE_P_DA, HOMICIDE_P_KNIFE = 0.3, 0.5

# Behaviour of each offence group:
#   time       temporal profile (see _HOUR_PROFILES); p_window = share with a from/to window
#   hot        share of offences drawn from the hot centres rather than spread by population
#   centres    weights over the hot centres (town centre W, estate E1, estate E2, north district)
#   p_victim   share of crimes with a victim row; p_no_suspect = share with no suspect row
#   p_sus_unk  share of suspect rows with the age unknown
_GROUPS = {
    #                  time       p_window hot  centres                p_victim p_no_susp p_sus_unk
    "vwi": ("night", 0.12, 0.55, (0.45, 0.20, 0.20, 0.15), 1.00, 0.12, 0.25),
    "vwoi": ("night", 0.18, 0.40, (0.20, 0.30, 0.30, 0.20), 1.00, 0.12, 0.20),
    "homicide": ("night", 0.10, 0.50, (0.25, 0.30, 0.30, 0.15), 1.00, 0.05, 0.05),
    "robbery_personal": ("evening", 0.08, 0.65, (0.40, 0.25, 0.25, 0.10), 1.00, 0.30, 0.55),
    "robbery_business": ("evening", 0.05, 0.60, (0.60, 0.10, 0.10, 0.20), 1.00, 0.30, 0.55),
    "rape": ("night", 0.35, 0.30, (0.30, 0.25, 0.25, 0.20), 1.00, 0.15, 0.25),
    "sexual_other": ("night", 0.25, 0.35, (0.40, 0.20, 0.20, 0.20), 1.00, 0.25, 0.35),
    "theft": ("day", 0.35, 0.60, (0.60, 0.05, 0.05, 0.30), 0.60, 0.50, 0.50),
    "burglary": ("mixed", 0.75, 0.15, (0.20, 0.30, 0.30, 0.20), 0.60, 0.55, 0.50),
    "vehicle": ("mixed", 0.80, 0.20, (0.30, 0.25, 0.25, 0.20), 0.60, 0.60, 0.50),
    "damage": ("mixed", 0.60, 0.35, (0.25, 0.30, 0.30, 0.15), 0.60, 0.35, 0.40),
    "drugs": ("night", 0.02, 0.60, (0.35, 0.30, 0.30, 0.05), 0.00, 0.00, 0.05),
    "public_order": ("night", 0.10, 0.50, (0.50, 0.20, 0.20, 0.10), 0.40, 0.15, 0.20),
    "weapons": ("night", 0.02, 0.60, (0.35, 0.30, 0.30, 0.05), 0.00, 0.00, 0.05),
    "misc": ("day", 0.10, 0.30, (0.40, 0.20, 0.20, 0.20), 0.00, 0.05, 0.10),
}
GROUPS = pd.DataFrame.from_dict(
    _GROUPS,
    orient="index",
    columns=["time", "p_window", "hot", "centres", "p_victim", "p_no_suspect", "p_sus_unknown"],
)
PERSON_GROUPS = {"vwi", "vwoi", "homicide", "robbery_personal", "robbery_business", "rape", "sexual_other"}
VIOLENCE_GROUPS = {"vwi", "vwoi", "homicide"}

# London Datastore MPS categories (2010-2023 classification, Title Case) for each code used; every
# pair is in sql/seeds/mps_category_themes.csv (case-insensitively).
_VAP, _SEX, _ROB = "Violence Against the Person", "Sexual Offences", "Robbery"
MPS_CATEGORY_BY_GROUP = {
    "vwi": (_VAP, "Violence with Injury"),
    "vwoi": (_VAP, "Violence without Injury"),
    "homicide": (_VAP, "Homicide"),
    "robbery_personal": (_ROB, "Robbery of Personal Property"),
    "robbery_business": (_ROB, "Robbery of Business Property"),
    "rape": (_SEX, "Rape"),
    "sexual_other": (_SEX, "Other Sexual Offences"),
}
MPS_CATEGORY_BY_HO = {
    "49": ("Theft", "Other Theft"),
    "40": ("Theft", "Other Theft"),
    "46": ("Theft", "Shoplifting"),
    "39": ("Theft", "Theft from Person"),
    "44": ("Theft", "Bicycle Theft"),
    "28E": ("Burglary", "Domestic Burglary"),
    "30C": ("Burglary", "Burglary Business and Community"),
    "45": ("Vehicle Offences", "Theft from a Motor Vehicle"),
    "48": ("Vehicle Offences", "Theft or Taking of a Motor Vehicle"),
    "126": ("Vehicle Offences", "Interfering with a Motor Vehicle"),
    "58A": ("Arson and Criminal Damage", "Criminal Damage"),
    "58B": ("Arson and Criminal Damage", "Criminal Damage"),
    "58C": ("Arson and Criminal Damage", "Criminal Damage"),
    "58D": ("Arson and Criminal Damage", "Criminal Damage"),
    "56B": ("Arson and Criminal Damage", "Arson"),
    "92A": ("Drug Offences", "Drug Trafficking"),
    "92D": ("Drug Offences", "Possession of Drugs"),
    "92E": ("Drug Offences", "Possession of Drugs"),
    "9A": ("Public Order Offences", "Public Fear Alarm or Distress"),
    "62A": ("Public Order Offences", "Violent Disorder"),
    "10D": ("Possession of Weapons", "Possession of Article with Blade or Point"),
    "99": ("Miscellaneous Crimes Against Society", "Other Notifiable Offences"),
    "54": ("Miscellaneous Crimes Against Society", "Handling Stolen Goods"),
    "33": ("Miscellaneous Crimes Against Society", "Going Equipped for Stealing"),
    "1": MPS_CATEGORY_BY_GROUP["homicide"],
    "4/1": MPS_CATEGORY_BY_GROUP["homicide"],
}
for _code, _group in zip(CODE_MIX["code"], CODE_MIX["group"]):
    if _group in MPS_CATEGORY_BY_GROUP:
        MPS_CATEGORY_BY_HO[_code] = MPS_CATEGORY_BY_GROUP[_group]

# Comparator boroughs: invented names, each with a size relative to Riverford.
OTHER_BOROUGHS = [
    "Ashbourne", "Kingsbridge", "Thornbury Park", "Elmstead", "Highcombe", "Larkhill",
    "Wexley", "Danesford", "Brookhurst", "Oakmere", "Stanmoor",
]
# Force-wide 2023/2022 growth by MPS MinorText (VWI +6%); categories not listed grow 2%.
_COMPARATOR_GROWTH = {
    "Violence with Injury": 1.06, "Violence without Injury": 1.05, "Homicide": 1.0,
    "Robbery of Personal Property": 1.12, "Robbery of Business Property": 1.05, "Rape": 1.04,
    "Other Sexual Offences": 1.06,
}

WARD_NAMES = [
    "Abbey Fields", "Bramley Park", "Castle Hill", "Denholme", "Fernside", "Garrick", "Hawthorn",
    "Juniper Vale", "Kestrel Park", "Lockside", "Meadowbank", "Orchard", "Priory", "Quarry Wood",
    "Rowan Hill", "St Bride's",
]
AGE_GROUPS = [  # exactly the Census 2021 six-band labels used by the real population files
    "Aged 15 years and under", "Aged 16 to 24 years", "Aged 25 to 34 years",
    "Aged 35 to 49 years", "Aged 50 to 64 years", "Aged 65 years and over",
]
ETHNIC_GROUPS = np.array(["White", "Black", "Asian", "Mixed", "Other"])


# =============================================================================================
# Geography
# =============================================================================================
def _borough_outline(rng: np.random.Generator) -> shapely.Polygon:
    """An irregular, star-shaped (hence simple) polygon of ~40 km^2 in south London-ish BNG space.

    A radius that wobbles with a few low-frequency harmonics gives a plausible council outline;
    star-shaped means the polygon can never self-intersect.
    """
    theta = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
    wobble = np.ones_like(theta)
    for k in range(2, 7):
        wobble += rng.uniform(0.015, 0.06) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = 529_000 + 3_900 * wobble * np.cos(theta)
    y = 168_500 + 3_400 * wobble * np.sin(theta)
    poly = shapely.Polygon(np.column_stack([x, y]))
    factor = np.sqrt(40e6 / poly.area)  # rescale to ~40 km^2 around the centre
    poly = affinity.scale(poly, factor, factor, origin=(529_000, 168_500))
    return shapely.set_precision(poly, 1.0)  # whole-metre vertices, as boundary files have


def _uniform_points_in(rng: np.random.Generator, poly, n: int) -> np.ndarray:
    """n points uniformly distributed inside a polygon (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n + 16, 2))
        out = np.vstack([out, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
    return out[:n]


def _voronoi_partition(rng: np.random.Generator, poly, n: int, lloyd_steps: int) -> list:
    """Split a polygon into n cells: Voronoi cells of random seeds clipped to it.

    A few Lloyd steps (move each seed to its cell's centroid) even out cell sizes so that wards and
    LSOAs look like real ones rather than slivers. The cells tile the polygon with no gaps or overlaps.
    """
    seeds = _uniform_points_in(rng, poly, n)
    for step in range(lloyd_steps + 1):
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=poly, ordered=True)
        clipped = shapely.intersection(shapely.get_parts(cells), poly)
        if step < lloyd_steps:
            seeds = shapely.get_coordinates(shapely.centroid(clipped))
    return list(clipped)


def _hot_centres(borough) -> np.ndarray:
    """Crime hot centres: a town centre in the west, two estates in the east, a district centre north."""
    minx, miny, maxx, maxy = borough.bounds
    w, h = maxx - minx, maxy - miny
    centres = np.array([
        [minx + 0.27 * w, miny + 0.50 * h],  # town centre (night-time economy, shops)
        [minx + 0.74 * w, miny + 0.66 * h],  # estate E1
        [minx + 0.78 * w, miny + 0.30 * h],  # estate E2
        [minx + 0.50 * w, miny + 0.83 * h],  # northern district centre
    ]).round()
    assert shapely.contains_xy(borough, centres[:, 0], centres[:, 1]).all()
    return centres


def _name_wards(ward_polys: list, centres: np.ndarray) -> list[str]:
    """Give the wards plausible names: the ones holding the hot centres and the extremes first."""
    cent = shapely.get_coordinates(shapely.centroid(ward_polys))
    names: list[str | None] = [None] * len(ward_polys)
    for name, centre in zip(["Riverford Central", "Mill Green", "Eastfields"], centres[:3]):
        ward = int(np.argmax(shapely.contains_xy(ward_polys, *centre)))
        if names[ward] is None:  # two centres in one ward: the first name wins
            names[ward] = name
    for name, order in [
        ("Northbank", np.argsort(-cent[:, 1])),  # the river runs along the north
        ("Southmead", np.argsort(cent[:, 1])),
        ("Westcombe", np.argsort(cent[:, 0])),
    ]:
        first_free = next(i for i in order if names[i] is None)
        names[first_free] = name
    rest = iter(WARD_NAMES)
    return [n if n is not None else next(rest) for n in names]


def _noded_coverage(cells: list, grid: float = 0.1) -> list:
    """Make clipped Voronoi cells a clean coverage on a `grid`-metre grid.

    Cells clipped separately meet along edges whose vertices differ by float noise (a vertex where
    an LSOA edge meets a ward edge exists on one side only). Noding all boundaries together on a
    fixed grid and polygonising gives faces whose shared edges have identical vertices, so LSOAs
    tile wards exactly and wards (unions of LSOAs) tile the borough: no gaps, no overlaps.
    """
    cells = np.asarray(cells, dtype=object)
    lines = shapely.union_all(shapely.boundary(cells), grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    face_idx, cell_idx = shapely.STRtree(cells).query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[face_idx], cells[cell_idx]))
    order = np.lexsort((-overlap, face_idx))  # for each face, the cell it overlaps most
    _, first = np.unique(face_idx[order], return_index=True)
    owner = cell_idx[order][first]
    merged = [shapely.coverage_union_all(faces[owner == k]) for k in range(len(cells))]
    # Exact decimal values, so a GeoJSON written with 1 decimal reads back bit-identical.
    return list(shapely.transform(np.asarray(merged, dtype=object), lambda c: np.round(c, 1)))


def build_geography(rng: np.random.Generator) -> dict:
    """Borough outline, wards (20) and LSOAs (~120, 4-8 per ward) as GeoDataFrames in EPSG:27700.

    Wards are Voronoi cells of random seeds clipped to the borough; each ward is split the same way
    into LSOAs; the LSOA layer is then noded (see _noded_coverage) and the wards rebuilt as exact
    unions of their LSOAs.
    """
    borough = _borough_outline(rng)
    centres = _hot_centres(borough)
    ward_cells = _voronoi_partition(rng, borough, 20, lloyd_steps=2)
    ward_names = _name_wards(ward_cells, centres)
    ward_codes = {i: f"E0509{9901 + rank}" for rank, i in enumerate(np.argsort(ward_names, kind="stable"))}

    # LSOAs per ward scale with its area (4..8, ~120 in all); the "MSOA" number in an LSOA name runs
    # north to south, as ONS numbering roughly does.
    area = shapely.area(ward_cells)
    per_ward = np.clip(np.round(area / area.sum() * 124), 4, 8).astype(int)
    msoa_number = np.argsort(np.argsort(-shapely.get_coordinates(shapely.centroid(ward_cells))[:, 1])) + 1
    rows = []
    for w, ward in enumerate(ward_cells):  # a loop over 20 wards is cheap
        cells = _voronoi_partition(rng, ward, int(per_ward[w]), lloyd_steps=2)
        cells.sort(key=lambda g: (-round(g.centroid.y), round(g.centroid.x)))
        for j, cell in enumerate(cells):
            name = f"{DEMO_AREA['name']} {msoa_number[w]:03d}{chr(ord('A') + j)}"
            rows.append((name, ward_codes[w], ward_names[w], cell))
    rows.sort(key=lambda r: r[0])
    lsoas = gpd.GeoDataFrame(
        {
            "lsoa21cd": [f"E0109{9001 + i}" for i in range(len(rows))],
            "lsoa21nm": [r[0] for r in rows],
            "ward22cd": [r[1] for r in rows],
            "ward22nm": [r[2] for r in rows],
        },
        geometry=_noded_coverage([r[3] for r in rows]),
        crs=CRS,
    )
    by_ward = lsoas.groupby("ward22cd", sort=True)
    wards = gpd.GeoDataFrame(
        {
            "WD22CD": list(by_ward.groups),
            "WD22NM": by_ward["ward22nm"].first().to_numpy(),
            "LAD22CD": DEMO_AREA["code"],
            "LAD22NM": DEMO_AREA["name"],
        },
        geometry=[shapely.coverage_union_all(g.geometry.values) for _, g in by_ward],
        crs=CRS,
    )
    return {"borough": borough, "centres": centres, "wards": wards, "lsoas": lsoas}


def build_population(rng: np.random.Generator, lsoas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Census 2021 style usual residents by LSOA x age band; the east of the borough is younger."""
    n = len(lsoas)
    totals = np.clip(rng.normal(200_000 / n, 120, n), 1_500, 2_000).round().astype(int)
    x = lsoas.geometry.centroid.x.to_numpy()
    east = (x - x.min()) / (x.max() - x.min())  # 0 = far west, 1 = far east
    base = np.array([0.185, 0.100, 0.175, 0.230, 0.175, 0.135])
    shift = np.array([0.035, 0.025, 0.015, 0.0, -0.030, -0.045])  # east: more children, fewer 50+
    shares = base + np.outer(east - 0.5, shift) * 2
    noisy = rng.gamma(400 * shares)  # Dirichlet draws (LSOA-level noise), one per row
    counts = rng.multinomial(totals, noisy / noisy.sum(axis=1, keepdims=True))
    return pd.DataFrame({
        "lsoa21_code": np.repeat(lsoas.lsoa21cd.to_numpy(), 6),
        "lsoa21_name": np.repeat(lsoas.lsoa21nm.to_numpy(), 6),
        "age_group": np.tile(AGE_GROUPS, n),
        "usual_residents": counts.ravel(),
    })


ENGLAND_LSOAS = 32844  # LSOAs ranked in IMD 2019


def build_imd(seed: int, lsoas: gpd.GeoDataFrame, centres: np.ndarray) -> pd.DataFrame:
    """Synthetic IMD 2019 by LSOA in the MHCLG ranks-and-deciles layout (rank 1 = most deprived of
    32,844). Deprivation rises to the east and near the two eastern estates. Its own random stream, so
    adding it changed no other demo file. The demo's LSOA codes stand for unchanged 2011 codes."""
    rng = np.random.default_rng(seed + 10)
    point = lsoas.geometry.representative_point()
    x, y = point.x.to_numpy(), point.y.to_numpy()
    east = (x - x.min()) / (x.max() - x.min())
    near_estate = np.exp(-np.minimum(np.hypot(x - centres[1, 0], y - centres[1, 1]),
                                     np.hypot(x - centres[2, 0], y - centres[2, 1])) / 900.0)
    score = 0.55 * east + 0.6 * near_estate + rng.normal(0, 0.12, len(lsoas))
    quantile = pd.Series(score).rank(pct=True).to_numpy()              # 1 = most deprived LSOA here
    rank = np.clip(np.round((1 - quantile) * 0.8 * ENGLAND_LSOAS + rng.uniform(300, 3000, len(lsoas))), 1, ENGLAND_LSOAS)
    rank = rank.astype(int)
    return pd.DataFrame({
        "lsoa11_code": lsoas.lsoa21cd.to_numpy(),
        "lsoa11_name": lsoas.lsoa21nm.to_numpy(),
        "index_of_multiple_deprivation_imd_rank": rank,
        "index_of_multiple_deprivation_imd_decile": np.ceil(rank * 10 / ENGLAND_LSOAS).astype(int),
    }).sort_values("lsoa11_code").reset_index(drop=True)


def build_population_projection(population: pd.DataFrame) -> pd.DataFrame:
    """Residents by the population file's age bands for 2025, 2030 and 2035: a growing young population
    (under-25s +1.2% a year, older bands +0.4%), as a projection file would give."""
    base = population.groupby("age_group", sort=False)["usual_residents"].sum()
    young = base.index.isin(AGE_GROUPS[:2])
    rows = {str(year): np.round(base.to_numpy() * np.where(young, 1.012, 1.004) ** (year - 2021)).astype(int)
            for year in (2025, 2030, 2035)}
    return pd.DataFrame({"age_group": base.index, **rows})


# =============================================================================================
# Offences
# =============================================================================================
# Relative hour-of-day weights; weekday adjustments are applied in _day_hour_weights.
_HOUR_PROFILES = {
    "night": [1.6, 1.3, 1.1, 0.8, 0.5, 0.35, 0.35, 0.45, 0.6, 0.7, 0.75, 0.8,
              0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.8],
    "day": [0.2, 0.15, 0.1, 0.08, 0.06, 0.08, 0.2, 0.4, 0.7, 1.0, 1.2, 1.4,
            1.6, 1.7, 1.7, 1.7, 1.7, 1.6, 1.4, 1.1, 0.8, 0.6, 0.45, 0.3],
    "evening": [0.9, 0.7, 0.5, 0.35, 0.2, 0.15, 0.2, 0.35, 0.5, 0.5, 0.5, 0.6,
                0.7, 0.8, 0.9, 1.3, 1.6, 1.7, 1.8, 1.8, 1.7, 1.6, 1.4, 1.1],
    "mixed": [0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9,
              1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0],
}
# Seasonality: (day of year of the peak, amplitude). Violence peaks in summer, robbery in the dark
# autumn evenings, shop theft before Christmas, burglary and vehicle crime in winter.
_SEASON = {"night": (196, 0.15), "day": (340, 0.06), "evening": (320, 0.12), "mixed": (15, 0.08)}


def _day_hour_weights(profile: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Weights over (day, hour) cells: season x weekday x hour, incl. the weekend-night peak."""
    dh = np.tile(np.asarray(_HOUR_PROFILES[profile], dtype=float), (7, 1))  # Monday = 0
    if profile == "night":
        dh[0:4, 0:5] *= 0.8  # quieter small hours Monday-Thursday
        dh[4, 18:] *= 1.4  # Friday evening
        dh[5, 0:5] *= 2.2  # Friday night running into Saturday
        dh[5, 18:] *= 1.5  # Saturday evening
        dh[6, 0:5] *= 2.2  # Saturday night running into Sunday
    elif profile == "day":
        dh[5] *= 1.25  # Saturday shopping
        dh[6] *= 0.85
    elif profile == "evening":
        dh[4:6, 17:] *= 1.2
    peak, amp = _SEASON[profile]
    season = 1 + amp * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - peak) / 365.25)
    return season[:, None] * dh[days.day_of_week.to_numpy()]


def _offence_codes(rng: np.random.Generator) -> pd.DataFrame:
    """Code and recorded year of every offence.

    Counts per code are the target mix rounded, not Poisson draws: the demo's headline story (VWI up
    ~8% in 2023) should not depend on sampling luck. Everything else about each crime is random.
    """
    frames = []
    for year in YEARS:
        growth = CODE_MIX["growth"].to_numpy() if year == 2023 else 1.0
        counts = np.round(OFFENCES_PER_YEAR * CODE_MIX["share"].to_numpy() * growth).astype(int)
        codes = np.repeat(CODE_MIX["code"].to_numpy(), counts)
        # Homicide: a handful a year, one manslaughter written in the slash form 4/1.
        n_hom = int(rng.integers(2, 5))
        hom = np.array(["1"] * n_hom, dtype=object)
        if year == YEARS[0]:
            hom[0] = "4/1"
        frames.append(pd.DataFrame({"ho_code": np.concatenate([codes, hom]), "year": year}))
    out = pd.concat(frames, ignore_index=True)
    group = dict(zip(CODE_MIX["code"], CODE_MIX["group"])) | {"1": "homicide", "4/1": "homicide"}
    out["group"] = out["ho_code"].map(group)
    return out


def _offence_times(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """Committed from/to timestamps and recorded dates.

    The committed time is drawn from the group's season x weekday x hour profile; the crime is
    recorded 0-3 days later. ~70% have an exact time (Committed_To blank or equal to From); the rest a
    1-48 hour window that ends no later than the recorded day. Rows whose recorded date falls outside
    their target year are redrawn, so each year keeps its drawn count.
    """
    n = len(off)
    start = np.empty(n, dtype="datetime64[m]")
    end = np.empty(n, dtype="datetime64[m]")
    recorded = np.empty(n, dtype="datetime64[D]")
    windowed = rng.random(n) < GROUPS.loc[off["group"], "p_window"].to_numpy()
    profiles = GROUPS.loc[off["group"], "time"].to_numpy()
    for year in YEARS:
        days = pd.date_range(f"{year - 1}-12-29", f"{year}-12-31", freq="D")
        for profile in _HOUR_PROFILES:
            pending = np.flatnonzero((off["year"].to_numpy() == year) & (profiles == profile))
            weights = _day_hour_weights(profile, days).ravel()
            weights /= weights.sum()
            while len(pending):
                cell = rng.choice(len(weights), size=len(pending), p=weights)
                minute = np.where(rng.random(len(pending)) < 0.35, 0, rng.integers(0, 60, len(pending)))
                t0 = (days.to_numpy()[cell // 24].astype("datetime64[m]")
                      + (cell % 24 * 60 + minute).astype("timedelta64[m]"))
                win = windowed[pending]
                lag = np.where(win, rng.choice([1, 2, 3], len(pending), p=[0.6, 0.25, 0.15]),
                               rng.choice([0, 1, 2, 3], len(pending), p=[0.55, 0.3, 0.1, 0.05]))
                rec = t0.astype("datetime64[D]") + lag.astype("timedelta64[D]")
                ok = rec.astype("datetime64[Y]").astype(int) + 1970 == year
                # Window of 1-48 h (log-uniform), never past the end of the recorded day.
                hours = np.exp(rng.uniform(0, np.log(48), len(pending)))
                latest = (rec + np.timedelta64(1, "D")).astype("datetime64[m]") - np.timedelta64(1, "m")
                t1 = np.minimum(t0 + (hours * 60).astype("timedelta64[m]"), latest)
                t1 = np.where(win, t1, t0)
                idx = pending[ok]
                start[idx], end[idx], recorded[idx] = t0[ok], t1[ok], rec[ok]
                pending = pending[~ok]
    off = off.copy()
    # pandas has no minute/day resolution: store as seconds.
    off["committed_from"] = start.astype("datetime64[s]")
    off["recorded"] = recorded.astype("datetime64[s]")
    # Exact times: half leave Committed_To blank, half repeat From.
    blank_to = ~windowed & (rng.random(n) < 0.5)
    off["committed_to"] = pd.Series(end.astype("datetime64[s]")).where(~blank_to)
    return off


def _point_lsoa(geo: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the LSOA strictly containing each point and its ward, or -1 (outside / on an edge)."""
    lsoas = geo["lsoas"]
    tree = shapely.STRtree(lsoas.geometry.values)
    pt_idx, lsoa_idx = tree.query(shapely.points(x, y), predicate="within")
    hits = np.bincount(pt_idx, minlength=len(x))
    out = np.full(len(x), -1)
    out[pt_idx] = lsoa_idx
    out[hits != 1] = -1
    # Belt and braces: the point must also be strictly inside the LSOA's ward polygon.
    ward_geom = geo["wards"].set_index("WD22CD").geometry
    inside = out >= 0
    wg = np.asarray(ward_geom.loc[lsoas.ward22cd.to_numpy()[out[inside]]].values)
    ok = shapely.contains_xy(wg, x[inside], y[inside])
    out[np.flatnonzero(inside)[~ok]] = -1
    return out


def _offence_locations(rng: np.random.Generator, off: pd.DataFrame, geo: dict,
                       population: pd.DataFrame) -> pd.DataFrame:
    """Integer BNG points strictly inside the borough, clustered around the hot centres.

    Each offence is either 'background' (an LSOA picked by population, a uniform point in it) or drawn
    from a Gaussian around a hot centre; robbery and VWI are the most concentrated. Points that land
    outside the borough (or exactly on a boundary) are redrawn.
    """
    lsoas, centres = geo["lsoas"], geo["centres"]
    n = len(off)
    g = GROUPS.loc[off["group"]]
    hot = rng.random(n) < g["hot"].to_numpy()
    cw = np.vstack(g["centres"].to_numpy())
    centre = (rng.random(n)[:, None] > np.cumsum(cw, axis=1) / cw.sum(1, keepdims=True)).sum(1)
    pop = population.groupby("lsoa21_code", sort=False)["usual_residents"].sum()
    pop = pop.reindex(lsoas.lsoa21cd).to_numpy(dtype=float)
    home = rng.choice(len(lsoas), size=n, p=pop / pop.sum())
    bounds = shapely.bounds(lsoas.geometry.values)
    sigma = np.array([280.0, 350.0, 350.0, 420.0])

    x, y, where = np.zeros(n), np.zeros(n), np.full(n, -1)
    pending = np.arange(n)
    while len(pending):
        h = hot[pending]
        b = bounds[home[pending]]
        cx = np.where(h, rng.normal(centres[centre[pending], 0], sigma[centre[pending]]),
                      rng.uniform(b[:, 0], b[:, 2]))
        cy = np.where(h, rng.normal(centres[centre[pending], 1], sigma[centre[pending]]),
                      rng.uniform(b[:, 1], b[:, 3]))
        cx, cy = cx.round(), cy.round()
        got = _point_lsoa(geo, cx, cy)
        ok = (got >= 0) & (h | (got == home[pending]))  # background points stay in their LSOA
        idx = pending[ok]
        x[idx], y[idx], where[idx] = cx[ok], cy[ok], got[ok]
        pending = pending[~ok]
    off = off.copy()
    off["easting"], off["northing"] = x.astype(int), y.astype(int)
    off["lsoa_code"] = lsoas.lsoa21cd.to_numpy()[where]
    off["ward_code"] = lsoas.ward22cd.to_numpy()[where]
    return off


def _offence_flags(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """Domestic abuse and knife flags from per-code probabilities, plus the record status."""
    n = len(off)
    p = CODE_MIX.set_index("code")[["p_da", "p_knife"]]
    p.loc["1"] = p.loc["4/1"] = (HOMICIDE_P_DA, HOMICIDE_P_KNIFE)
    p = p.loc[off["ho_code"]].to_numpy()
    off = off.copy()
    off["da"] = rng.random(n) < p[:, 0]
    off["knife"] = rng.random(n) < p[:, 1]
    off["da_flag"] = np.where(off["da"], "Y", "N")
    off.loc[rng.random(n) < 0.003, "da_flag"] = ""  # a few flags not recorded
    off["knife_flag"] = np.where(off["knife"], "Y", "N")
    u = rng.random(n)
    off["status"] = np.select([u < 0.005, u < 0.008], ["Cancelled", "Transferred"], "Confirmed")
    off.loc[off["group"] == "homicide", "status"] = "Confirmed"
    return off


def _assign_refs(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """Sort by recorded date/time and give CRIS references RF/yy/nnnnnn with small random gaps."""
    off = off.sort_values(["recorded", "committed_from", "ho_code"], kind="stable").reset_index(drop=True)
    refs = np.empty(len(off), dtype=object)
    for year in YEARS:
        idx = np.flatnonzero(off["year"].to_numpy() == year)
        gaps = rng.integers(1, 4, len(idx))
        number = np.cumsum(gaps) - gaps[0] + 1  # the first crime of each year is number 1
        refs[idx] = [f"RF/{year % 100:02d}/{k:06d}" for k in number]
    off["crime_ref"] = refs
    return off


def build_offences(rng: np.random.Generator, geo: dict, population: pd.DataFrame) -> pd.DataFrame:
    """Internal (typed) offence table: one row per genuine crime, before formatting and bad rows."""
    off = _offence_codes(rng)
    off = _offence_times(rng, off)
    off = _offence_locations(rng, off, geo, population)
    off = _offence_flags(rng, off)
    return _assign_refs(rng, off)


def _fmt_dt(values: pd.Series, fmt: str) -> pd.Series:
    """Format timestamps UK-style; missing values become empty strings."""
    return pd.to_datetime(values).dt.strftime(fmt).fillna("")


def format_offences(rng: np.random.Generator, off: pd.DataFrame, descriptions: dict) -> pd.DataFrame:
    """Source-shaped offence file (example_force profile columns) including the 4 documented bad rows."""
    n = len(off)
    easting = pd.array(off["easting"], dtype="Int64")
    northing = pd.array(off["northing"], dtype="Int64")
    no_xy = rng.random(n) < 0.03  # location not geocoded, but ward and LSOA still recorded
    easting[no_xy] = pd.NA
    northing[no_xy] = pd.NA
    out = pd.DataFrame({
        "CRIS_Ref": off["crime_ref"],
        "Recorded_Date": _fmt_dt(off["recorded"], "%d/%m/%Y"),
        "Committed_From": _fmt_dt(off["committed_from"], "%d/%m/%Y %H:%M"),
        "Committed_To": _fmt_dt(off["committed_to"], "%d/%m/%Y %H:%M"),
        "HO_Class": off["ho_code"],
        "Offence_Description": off["ho_code"].map(descriptions),
        "Crime_Status": off["status"],
        "DA_Flag": off["da_flag"],
        "Knife_Flag": off["knife_flag"],
        "Easting": easting,
        "Northing": northing,
        "LSOA_Code": off["lsoa_code"],
        "Ward_Code": off["ward_code"],
        "Location_Street": "Demo Street " + pd.Series(rng.integers(1, 400, n)).astype(str),
        "MO_Text": "Demo free text " + pd.Series(np.arange(1, n + 1)).astype(str),
        "Extract_Date": EXTRACT_DATE,
    })
    return _insert_bad_rows(rng, out)


def _insert_bad_rows(rng: np.random.Generator, out: pd.DataFrame) -> pd.DataFrame:
    """Add the four documented bad offence rows at scattered positions in 2023."""
    in_2023 = np.flatnonzero(out["CRIS_Ref"].str.startswith("RF/23/").to_numpy())
    donors = out.iloc[rng.choice(in_2023[100:], 4, replace=False)].copy()
    donors["MO_Text"] = "Demo free text (bad row)"
    donors["Crime_Status"] = "Confirmed"  # so each would be counted if it slipped through
    bad_date, bad_code, blank_ref, dup = (donors.iloc[[i]].copy() for i in range(4))
    bad_date["CRIS_Ref"] = BAD_DATE_REF
    bad_date["Recorded_Date"] = "31/02/2023"
    bad_date["Committed_From"], bad_date["Committed_To"] = "28/02/2023 21:00", ""
    bad_code["CRIS_Ref"] = BAD_CODE_REF
    bad_code["HO_Class"] = "ZZ9"
    bad_code["Offence_Description"] = "Demo unknown offence class"
    blank_ref["CRIS_Ref"] = ""
    dup["CRIS_Ref"] = DUPLICATED_REF  # same reference as the first 2023 crime, different content
    first = out.loc[out["CRIS_Ref"] == DUPLICATED_REF].iloc[0]
    if dup["HO_Class"].iloc[0] == first["HO_Class"]:
        dup = out.iloc[[in_2023[-1]]].copy()
        dup["CRIS_Ref"], dup["MO_Text"] = DUPLICATED_REF, "Demo free text (bad row)"
        dup["Crime_Status"] = "Confirmed"
    # Put each bad row just after a chosen position (the duplicate well after its original).
    positions = np.sort(rng.choice(in_2023[200:], 4, replace=False))
    parts, prev = [], 0
    for pos, row in zip(positions, [bad_date, bad_code, blank_ref, dup]):
        parts += [out.iloc[prev:pos + 1], row]
        prev = pos + 1
    parts.append(out.iloc[prev:])
    return pd.concat(parts, ignore_index=True)


# =============================================================================================
# People (victims and suspects)
# =============================================================================================
_AGE_BANDS = np.array([[0, 9], [10, 17], [18, 24], [25, 34], [35, 49], [50, 64], [65, 89]])
_AGE_PROFILES = {  # probability of each band in _AGE_BANDS
    "robbery_victim": [0.00, 0.33, 0.28, 0.20, 0.12, 0.05, 0.02],
    "violence_victim": [0.02, 0.12, 0.19, 0.26, 0.26, 0.11, 0.04],
    "da_victim": [0.00, 0.04, 0.19, 0.32, 0.31, 0.11, 0.03],
    "sexual_victim": [0.02, 0.22, 0.32, 0.22, 0.15, 0.06, 0.01],
    "property_victim": [0.00, 0.03, 0.12, 0.24, 0.30, 0.20, 0.11],
    "young_suspect": [0.00, 0.33, 0.47, 0.12, 0.06, 0.02, 0.00],
    "da_suspect": [0.00, 0.05, 0.30, 0.35, 0.23, 0.06, 0.01],
    "adult_suspect": [0.00, 0.12, 0.28, 0.28, 0.22, 0.08, 0.02],
}
# Code-specific age limits where the offence definition fixes them (e.g. 19D: girl under 16).
_AGE_LIMITS = {"19C": (16, 89), "19F": (16, 89), "19D": (10, 15), "20A": (13, 89),
               "17A": (13, 89), "20B": (5, 12), "22B": (12, 15)}
_SEX_BY_CODE = {"19C": "F", "19D": "F", "20A": "F", "20B": "F", "19F": "M", "17A": "M"}


def _sample_ages(rng: np.random.Generator, profile: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Integer ages from each row's named band profile, respecting code-specific limits."""
    names = list(_AGE_PROFILES)
    probs = np.array([_AGE_PROFILES[k] for k in names])[pd.Index(names).get_indexer(profile)]
    band = (rng.random(len(profile))[:, None] > np.cumsum(probs, axis=1)).sum(1).clip(0, 6)
    lo, hi = _AGE_BANDS[band, 0], _AGE_BANDS[band, 1]
    age = lo + np.floor(rng.random(len(profile)) * (hi - lo + 1)).astype(int)
    limits = pd.Series(codes).map(_AGE_LIMITS)
    has = limits.notna().to_numpy()
    if has.any():
        lim = np.array(limits[has].tolist())
        bad = (age[has] < lim[:, 0]) | (age[has] > lim[:, 1])
        # Out-of-range draws are redrawn within the first 9 years of the allowed range (skews young).
        top = np.minimum(lim[:, 1], lim[:, 0] + 8)
        fix = lim[:, 0] + np.floor(rng.random(len(lim)) * (top - lim[:, 0] + 1)).astype(int)
        age[np.flatnonzero(has)[bad]] = fix[bad]
    return age


def _people_rows(rng: np.random.Generator, has_person: np.ndarray, p_second: np.ndarray) -> pd.DataFrame:
    """One row per person on a crime: the crimes flagged in has_person, plus a second person sometimes."""
    first = np.flatnonzero(has_person)
    second = first[rng.random(len(first)) < p_second[first]]
    crime = np.concatenate([first, second])
    rank = np.concatenate([np.zeros(len(first), int), np.ones(len(second), int)])
    order = np.lexsort((rank, crime))
    return pd.DataFrame({"crime": crime[order], "rank": rank[order]})


def _assign_person_ids(rng: np.random.Generator, rows: pd.DataFrame, weight: np.ndarray,
                       repeat_share: float, prefix: str) -> np.ndarray:
    """Pseudonymous person IDs where ~repeat_share of distinct people appear on 2+ crimes.

    Repeat people are given 2-6 crimes each, taken (without replacement) from the first person of each
    crime with probability proportional to weight, so they concentrate where weight is high (DA) and
    never appear twice on one crime.
    """
    m = len(rows)
    cand = np.flatnonzero(rows["rank"].to_numpy() == 0)
    n_rep = round(repeat_share * m / (1 + 1.6 * repeat_share))
    sizes = np.minimum(1 + rng.geometric(0.6, n_rep), 6)
    picked = rng.choice(cand, size=int(sizes.sum()), replace=False, p=weight[cand] / weight[cand].sum())
    person = np.full(m, -1)
    person[picked] = np.repeat(np.arange(n_rep), sizes)
    singles = np.flatnonzero(person < 0)
    person[singles] = n_rep + np.arange(len(singles))
    number = rng.permutation(person.max() + 1) + 1  # IDs carry no order information
    return np.array([f"{prefix}{k:07d}" for k in number[person]], dtype=object)


def _fmt_age(rng: np.random.Generator, age: np.ndarray, p_unknown: np.ndarray, unknown_text: str):
    """Ages as text; a share become blank or the source's 'unknown' text."""
    text = age.astype(str).astype(object)
    unknown = rng.random(len(age)) < p_unknown
    text[unknown] = np.where(rng.random(unknown.sum()) < 0.5, "", unknown_text)
    return text


def _ethnicity(rng: np.random.Generator, n: int, p_blank: float) -> np.ndarray:
    """ONS five-group ethnicity (the borough is fictional; proportions are London-like), some blank."""
    eth = rng.choice(ETHNIC_GROUPS, n, p=[0.55, 0.17, 0.14, 0.06, 0.08]).astype(object)
    eth[rng.random(n) < p_blank] = ""
    return eth


def _copy_first(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Make a repeat person's attributes identical on all their crimes (taken from the first)."""
    return pd.Series(values).groupby(ids, sort=False).transform("first").to_numpy()


def build_victims(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """Victims file: person-crimes nearly always have a victim (~5% two), property crimes ~60%."""
    group = off["group"].to_numpy()
    da = off["da"].to_numpy()
    p_victim = GROUPS.loc[group, "p_victim"].to_numpy()
    person_crime = np.isin(group, list(PERSON_GROUPS))
    rows = _people_rows(rng, rng.random(len(off)) < p_victim, np.where(person_crime, 0.05, 0.02))
    c = rows["crime"].to_numpy()
    g, codes, rda = group[c], off["ho_code"].to_numpy()[c], da[c]

    profile = np.select(
        [np.isin(g, ["robbery_personal", "robbery_business"]), rda & np.isin(g, list(VIOLENCE_GROUPS)),
         np.isin(g, list(VIOLENCE_GROUPS)), np.isin(g, ["rape", "sexual_other"])],
        ["robbery_victim", "da_victim", "violence_victim", "sexual_victim"], "property_victim")
    age = _sample_ages(rng, profile, codes)
    p_f = np.select([rda, np.isin(g, ["rape", "sexual_other"]), person_crime[c]], [0.75, 0.85, 0.38], 0.48)
    sex = np.where(rng.random(len(c)) < p_f, "F", "M").astype(object)
    sex[rng.random(len(c)) < np.where(person_crime[c], 0.01, 0.06)] = "U"
    forced = pd.Series(codes).map(_SEX_BY_CODE)
    sex = np.where(forced.notna(), forced, sex)
    eth = _ethnicity(rng, len(c), 0.10)

    # Repeat victims concentrate in DA; rows whose code fixes age or sex never repeat, so copying
    # one person's attributes across their crimes cannot break those rules.
    fixed = np.isin(codes, list(_AGE_LIMITS) + list(_SEX_BY_CODE))
    ids = _assign_person_ids(rng, rows, np.where(fixed, 0.0, np.where(rda, 10.0, 1.0)), 0.08, "V")
    age, sex, eth = (_copy_first(v, ids) for v in (age, sex, eth))
    age_text = _fmt_age(rng, age, np.full(len(c), 0.04), "Unknown")
    # Two impossible ages, documented in the module docstring.
    known = np.flatnonzero(pd.Series(age_text).str.isdigit().to_numpy())
    age_text[rng.choice(known[known > 50], 2, replace=False)] = BAD_VICTIM_AGE
    return pd.DataFrame({
        "CRIS_Ref": off["crime_ref"].to_numpy()[c],
        "Victim_ID": ids,
        "Victim_Name": "Demo victim " + pd.Series(ids).str[1:],
        "Victim_Age": age_text,
        "Victim_Sex": sex,
        "Victim_Ethnicity": eth,
        "Extract_Date": EXTRACT_DATE,
    })


def build_suspects(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """Suspects file: ~30% of crimes have none (most theft, few DA); ~25% of suspect ages unknown."""
    group = off["group"].to_numpy()
    da = off["da"].to_numpy()
    p_none = np.where(da, 0.05, GROUPS.loc[group, "p_no_suspect"].to_numpy())
    p_second = np.select([np.isin(group, ["robbery_personal", "robbery_business"]), group == "vwi"],
                         [0.20, 0.10], 0.04)
    rows = _people_rows(rng, rng.random(len(off)) >= p_none, p_second)
    c = rows["crime"].to_numpy()
    g, rda = group[c], da[c]

    young = np.isin(g, ["vwi", "robbery_personal", "robbery_business", "weapons", "public_order"])
    profile = np.select([rda, young], ["da_suspect", "young_suspect"], "adult_suspect")
    age = _sample_ages(rng, profile, np.full(len(c), ""))
    sex = np.where(rng.random(len(c)) < np.where(np.isin(g, ["theft"]), 0.72, 0.86), "M", "F").astype(object)
    sex[rng.random(len(c)) < 0.02] = "U"
    eth = _ethnicity(rng, len(c), 0.20)

    ids = _assign_person_ids(rng, rows, np.where(rda, 6.0, 1.0), 0.12, "S")
    age, sex, eth = (_copy_first(v, ids) for v in (age, sex, eth))
    p_unknown = np.where(rda, 0.03, GROUPS.loc[g, "p_sus_unknown"].to_numpy())
    return pd.DataFrame({
        "CRIS_Ref": off["crime_ref"].to_numpy()[c],
        "Suspect_ID": ids,
        "Suspect_Name": "Demo suspect " + pd.Series(ids).str[1:],
        "Suspect_Age": _fmt_age(rng, age, p_unknown, "N/K"),
        "Suspect_Sex": sex,
        "Suspect_Ethnicity": eth,
        "Extract_Date": EXTRACT_DATE,
    })


# =============================================================================================
# Force-wide comparator (London Datastore wide format)
# =============================================================================================
MONTHS = [f"{y}{m:02d}" for y in YEARS for m in range(1, 13)]


def riverford_monthly_counts(off: pd.DataFrame) -> pd.DataFrame:
    """Counts of confirmed genuine offences by MPS category x recorded month (wide)."""
    ok = off[off["status"] == "Confirmed"]
    frame = pd.DataFrame({
        "MajorText": ok["ho_code"].map({k: v[0] for k, v in MPS_CATEGORY_BY_HO.items()}),
        "MinorText": ok["ho_code"].map({k: v[1] for k, v in MPS_CATEGORY_BY_HO.items()}),
        "month": pd.to_datetime(ok["recorded"]).dt.strftime("%Y%m"),
    })
    wide = frame.groupby(["MajorText", "MinorText", "month"]).size().unstack("month", fill_value=0)
    return wide.reindex(columns=MONTHS, fill_value=0)


def build_comparator(rng: np.random.Generator, off: pd.DataFrame) -> pd.DataFrame:
    """MPS-style borough counts: Riverford exactly from the extract, 11 invented boroughs around it.

    Other boroughs get Riverford's 2022 level scaled by a borough size, seasonality and their own
    growth. Their 2022 months are Poisson draws; their 2023 total is then set so the force-wide
    (all 12 boroughs) growth of each category equals _COMPARATOR_GROWTH (VWI +6%), and spread over
    boroughs and months in proportion to each borough's own expected 2023 pattern.
    """
    own = riverford_monthly_counts(off)
    own_arr = own.to_numpy()
    n_b, n_k = len(OTHER_BOROUGHS), len(own)
    base = own_arr[:, :12].mean(axis=1)  # Riverford's 2022 monthly level per category
    minor = own.index.get_level_values("MinorText")
    summer = np.isin(minor, ["Violence with Injury", "Violence without Injury", "Rape",
                             "Other Sexual Offences", "Public Fear Alarm or Distress"])
    season = 1 + np.outer(np.where(summer, 0.12, 0.03), np.cos(2 * np.pi * (np.arange(24) % 12 - 6) / 12))
    target = np.array([_COMPARATOR_GROWTH.get(m, 1.02) for m in minor])
    growth = target + rng.normal(0, 0.04, (n_b, n_k))  # each borough's own trend

    size = rng.uniform(0.7, 1.5, n_b)
    level = base * size[:, None] * rng.lognormal(0, 0.15, (n_b, n_k))
    mean = level[:, :, None] * season * np.where(np.arange(24) >= 12, growth[:, :, None], 1.0)
    counts = np.zeros((n_b, n_k, 24), dtype=np.int64)
    counts[:, :, :12] = rng.poisson(mean[:, :, :12])
    force_2022 = counts[:, :, :12].sum(axis=(0, 2)) + own_arr[:, :12].sum(axis=1)
    others_2023 = np.maximum(np.round(force_2022 * target) - own_arr[:, 12:].sum(axis=1), 0).astype(int)
    for k in range(n_k):  # ~25 categories
        p = mean[:, k, 12:].ravel()
        counts[:, k, 12:] = rng.multinomial(others_2023[k], p / p.sum()).reshape(n_b, 12)

    frames = [own.assign(LookUp_BoroughName=DEMO_AREA["name"])]
    for b, name in enumerate(OTHER_BOROUGHS):
        frames.append(pd.DataFrame(counts[b], index=own.index, columns=MONTHS).assign(LookUp_BoroughName=name))
    wide = pd.concat(frames).reset_index()
    wide = wide[["MajorText", "MinorText", "LookUp_BoroughName", *MONTHS]]
    return wide.sort_values(["LookUp_BoroughName", "MajorText", "MinorText"], kind="stable")


# =============================================================================================
# Writing
# =============================================================================================
def _read_descriptions() -> dict:
    """Home Office code -> description, from the project's versioned seed."""
    seed = pd.read_csv(HO_CODES_SEED, dtype=str)
    return dict(zip(seed["ho_code"].str.strip(), seed["offence_description"]))


def _write_csv(df: pd.DataFrame, path: pathlib.Path) -> None:
    """UTF-8 CSV with Unix line endings, no index: byte-stable for the same frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _write_geo(gdf: gpd.GeoDataFrame, path: pathlib.Path, driver: str, layer: str) -> None:
    """Write a vector file reproducibly (GeoPackages otherwise store the wall-clock write time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()  # GeoPackage would otherwise append/overwrite layers inside the old file
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{EXTRACT_DATE}T00:00:00.000Z"})
    try:
        options = {"COORDINATE_PRECISION": 1} if driver == "GeoJSON" else {}  # 0.1 m grid
        gdf.to_file(path, driver=driver, layer=layer, engine="pyogrio", **options)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def generate_demo_data(root: pathlib.Path, seed: int = DEFAULT_SEED) -> dict[str, pathlib.Path]:
    """Write the demo borough's raw inputs under root (normally <project>/data/raw/demo) and return a
    dict of the paths written (keys as in RELATIVE_PATHS). Same seed, same bytes."""
    root = pathlib.Path(root)
    rng = np.random.default_rng(seed)
    paths = {key: root / rel for key, rel in RELATIVE_PATHS.items()}

    geo = build_geography(rng)
    population = build_population(rng, geo["lsoas"])
    offences = build_offences(rng, geo, population)
    victims = build_victims(rng, offences)
    suspects = build_suspects(rng, offences)
    comparator = build_comparator(rng, offences)
    offence_file = format_offences(rng, offences, _read_descriptions())

    wards, lsoas = geo["wards"], geo["lsoas"]
    _write_geo(wards, paths["wards"], "GeoJSON", "wards")
    _write_geo(lsoas[["lsoa21cd", "lsoa21nm", "geometry"]], paths["lsoas"], "GPKG", "lsoas")
    _write_csv(lsoas[["lsoa21cd", "ward22cd", "ward22nm"]], paths["lsoa_to_ward"])
    _write_csv(population, paths["population"])
    _write_csv(build_imd(seed, lsoas, geo["centres"]), paths["imd"])
    _write_csv(build_population_projection(population), paths["population_projection"])
    east = wards.geometry.centroid.x > geo["borough"].centroid.x
    _write_csv(pd.DataFrame({"ward_code": wards.WD22CD, "ward_name": wards.WD22NM,
                             "sub_area": np.where(east, "East", "West")}), paths["sub_areas"])
    _write_csv(offence_file, paths["offences"])
    _write_csv(victims, paths["victims"])
    _write_csv(suspects, paths["suspects"])
    _write_csv(comparator, paths["mps_counts"])
    write_partner_files(root, seed, DEMO_AREA, OTHER_BOROUGHS, sorted(wards.WD22CD), INDICATOR_SET, _write_csv)
    # the fixed demo key is accepted only for files listed here (pipeline.sources.privacy.is_generated_demo_data)
    (root / DEMO_MANIFEST).write_text(json.dumps(
        {"generator": "svna demo", "seed": seed, "sha256": {key: sha256_of(p) for key, p in paths.items()}}, indent=2))
    return paths


def main(argv: list[str] | None = None) -> None:
    """`python -m pipeline.demo.riverford [ROOT]`: write the demo inputs (default <project>/data/raw/demo)."""
    argv = sys.argv[1:] if argv is None else argv
    root = pathlib.Path(argv[0]) if argv else DEMO_RAW_DIR
    for key, path in generate_demo_data(root).items():
        print(f"{key:13s} {path}")


if __name__ == "__main__":
    main()
