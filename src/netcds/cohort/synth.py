"""Synthetic cohorts of decision points: SYNTHETIC data for tests, demos and benchmarks.

Nothing here describes real patients. The mix is a plausible picture of a NET clinic that
treats advanced disease (site mix, grade, SSTR positivity, functional share, prior lines,
the therapy chosen), with a tunable share of off-guideline choices and of missing values.
The same ``seed`` gives the same cohort, record by record. A share of the SSA lines is recorded
with the regimen id ``ssa`` (not saying octreotide LAR or lanreotide), with or without a dose and an
interval (:func:`_as_regimen_ssa`), drawn from a random stream of its own so every other value stays
the one the main stream gives.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SITE_MIX: tuple[tuple[str, float], ...] = (
    ("pancreas", 0.32), ("ileum", 0.17), ("jejunum", 0.04), ("small_bowel", 0.05), ("duodenum", 0.03),
    ("lung", 0.15), ("thymus", 0.02), ("stomach", 0.03), ("rectum", 0.04), ("appendix", 0.02),
    ("cecum", 0.02), ("colon", 0.03), ("unknown_primary", 0.06),
)  # fmt: skip
# SYNTHETIC: the part of a duodenal primary (None: not recorded). Most duodenal NETs lie in the first part
# (the bulb) and the second; ampullary ones are a minority, the third and fourth parts rare; a second-part
# tumor is at times recorded without its side of the papilla. synth_sql.py draws the same mix.
DUODENAL_PART_MIX: tuple[tuple[str | None, float], ...] = (
    ("first", 0.35), ("second", 0.12), ("second_preampullary", 0.08), ("ampullary", 0.12),
    ("second_postampullary", 0.05), ("third", 0.05), ("fourth", 0.03), (None, 0.20),
)  # fmt: skip
SMALL_BOWEL = ("ileum", "jejunum", "small_bowel", "duodenum")
GI = (*SMALL_BOWEL, "stomach", "rectum", "appendix", "cecum", "colon")
OFF_GUIDELINE = (
    "sunitinib",
    "folfiri",
    "pembrolizumab",
    "cisplatin_etoposide",
    "belzutifan",
    "everolimus",
    "nivolumab_ipilimumab",
    "capecitabine_temozolomide",
    "lu177_dotatate",
    "other",
    "ssa_above_label",
)
OPTIONAL_DROP = (  # (section, field) that a record may lack
    ("tumor", "grade"), ("tumor", "ki67_percent"), ("tumor", "sstr_status"), ("tumor", "functional"),
    ("tumor", "hormonal_symptoms"), ("disease", "tumor_burden"), ("disease", "status"),
    ("disease", "resectable"), ("disease", "biology"), ("disease", "tumor_symptoms"),
    ("disease", "small_bowel_mesenteric"), ("tumor", "differentiation"), ("disease", "extent"),
)  # fmt: skip


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def _grade(rng: random.Random, site: str) -> str:
    if site == "pancreas":
        return rng.choices(["G1", "G2", "G3"], [0.3, 0.5, 0.2])[0]
    if site in GI:
        return rng.choices(["G1", "G2", "G3"], [0.45, 0.45, 0.10])[0]
    return rng.choices(["G1", "G2", "G3"], [0.3, 0.5, 0.2])[0]


def _ki67(rng: random.Random, grade: str, poor: bool) -> float:
    lo, hi = (30, 90) if poor else {"G1": (0.5, 2.9), "G2": (3, 20), "G3": (21, 60)}[grade]
    return round(rng.uniform(lo, hi), 1)


# SYNTHETIC: the share of SSA lines recorded as the regimen id ``ssa``, and of those the share recorded
# without a dose and an interval (the standard dose by convention, docs/contract.md)
SSA_REGIMEN_SHARE = 0.18
SSA_REGIMEN_BARE = 0.35
# the doses a line recorded as ``ssa`` may carry, by the agent actually given (octreotide LAR 10/20/30 mg;
# lanreotide 60/90/120 mg): read as both agents, most of them give levels that disagree
SSA_REGIMEN_DOSES = {"octreotide_lar": (10.0, 20.0, 30.0, 30.0), "lanreotide": (60.0, 90.0, 120.0, 120.0)}


def _ssa_line(
    rng: random.Random, start: date, progressed: bool, above: bool = False, alt: random.Random | None = None
) -> dict[str, Any]:
    agent = rng.choice(["octreotide_lar", "lanreotide"])
    dose = {"octreotide_lar": 30.0, "lanreotide": 120.0}[agent]
    t: dict[str, Any] = {
        "agent": agent,
        "dose_mg": dose * (2 if above and agent == "octreotide_lar" else 1),
        "interval_days": 14.0 if above and agent == "lanreotide" else 28.0,
        "start": start.isoformat(),
    }
    if alt is not None and alt.random() < SSA_REGIMEN_SHARE:
        _as_regimen_ssa(alt, t, above)
    return _close(rng, t, start, progressed)


def _as_regimen_ssa(alt: random.Random, t: dict[str, Any], above: bool) -> None:
    """Record the line ``t`` as the regimen id ``ssa``: without a dose and an interval, or with the dose
    given (a usual one of the agent, or the above-label one), an interval of 4 weeks, 8 weeks or (above
    label) 2 weeks, and either of the two left unrecorded. Draws from ``alt`` only."""
    agent = t["agent"]
    t["agent"] = "ssa"
    if alt.random() < SSA_REGIMEN_BARE:
        del t["dose_mg"], t["interval_days"]
        return
    if not above:
        t["dose_mg"] = alt.choice(SSA_REGIMEN_DOSES[agent])
        t["interval_days"] = 56.0 if alt.random() < 0.15 else 28.0
    shape = alt.random()
    if shape < 0.3:
        del t["interval_days"]
    elif shape < 0.45:
        del t["dose_mg"]


def _close(rng: random.Random, t: dict[str, Any], start: date, progressed: bool) -> dict[str, Any]:
    end = start + timedelta(days=rng.randint(90, 700))
    t["end"] = end.isoformat()
    t["progressed"] = progressed
    t["stop_reason"] = (
        "progression" if progressed else rng.choice(["toxicity", "completed", "patient_choice"])
    )
    if progressed:
        t["progression_date"] = end.isoformat()
        t["best_response"] = rng.choice(["SD", "SD", "PR", "PD"])
    return t


def _history(
    rng: random.Random,
    site: str,
    grade: str,
    poor: bool,
    sstr: str,
    decided: date,
    alt: random.Random | None = None,
) -> list[dict[str, Any]]:
    n = rng.choices([0, 1, 2, 3], [0.42, 0.30, 0.17, 0.11])[0]
    lines: list[dict[str, Any]] = []
    when = decided - timedelta(days=rng.randint(850, 950) * max(n, 1))
    if poor:
        seq = ["cisplatin_etoposide", "folfiri", "capeox"]
    elif grade == "G3":
        seq = ["capecitabine_temozolomide", "cisplatin_etoposide", "folfox"]
    elif site == "pancreas":
        seq = ["ssa", rng.choice(["everolimus", "sunitinib", "capecitabine_temozolomide"]), "lu177_dotatate"]
    else:
        seq = [
            "ssa",
            "lu177_dotatate" if sstr == "positive" else "everolimus",
            "everolimus" if sstr == "positive" else "cabozantinib",
        ]
    for i in range(n):
        agent = seq[i]
        progressed = rng.random() < 0.85
        if agent == "ssa":
            lines.append(_ssa_line(rng, when, progressed, above=rng.random() < 0.1, alt=alt))
        else:
            lines.append(_close(rng, {"agent": agent, "start": when.isoformat()}, when, progressed))
        when = date.fromisoformat(lines[-1]["end"]) + timedelta(days=rng.randint(14, 120))
    return lines


def _typical_choice(rng: random.Random, rec: dict[str, Any], grade: str, poor: bool) -> str:
    t, d = rec["tumor"], rec["disease"]
    site, sstr = t["primary_site"], t.get("sstr_status")
    prior = {x["agent"] for x in rec.get("treatments", [])}
    ssa = rng.choice(["ssa", "ssa", "octreotide_lar", "lanreotide"])
    if poor:
        return rng.choice(["cisplatin_etoposide", "carboplatin_etoposide"])
    if d.get("extent") in ("localized", "locoregional") and d.get("resectable"):
        return rng.choice(["surgery", "surgery", "observation"]) if grade != "G3" else "surgery"
    if grade == "G3":
        if d.get("biology") == "unfavorable":
            return rng.choice(["cisplatin_etoposide", "carboplatin_etoposide", "folfox", "clinical_trial"])
        return rng.choice(["capecitabine_temozolomide", "temozolomide", "lu177_dotatate", ssa, "everolimus"])
    if d.get("status") == "stable" and d.get("tumor_burden") == "mild":
        return rng.choice(["observation", "observation", ssa])
    if site in ("lung", "thymus"):
        if not prior:
            return ssa if sstr == "positive" else "everolimus"
        return rng.choice(["everolimus", "lu177_dotatate", "cabozantinib"])
    if site == "pancreas":
        if not prior:
            return ssa if sstr == "positive" else rng.choice(["capecitabine_temozolomide", "everolimus"])
        return rng.choice(
            ["everolimus", "sunitinib", "lu177_dotatate", "capecitabine_temozolomide", "cabozantinib"]
        )
    if not prior:
        return ssa
    if "lu177_dotatate" in prior or "everolimus" in prior:
        return rng.choice(["everolimus", "cabozantinib", "locoregional"])
    return rng.choice(["lu177_dotatate", "lu177_dotatate", "everolimus", "ssa_above_label"])


def synth_record(i: int, seed: int, off_guideline: float = 0.15, missing: float = 0.08) -> dict[str, Any]:
    """Decision point ``i`` of the cohort ``seed`` (NDJSON row shape)."""
    rng = random.Random(seed * 1_000_003 + i)  # noqa: S311 (reproducible test data, not security)
    site = _pick(rng, SITE_MIX)
    poor = rng.random() < 0.06
    grade = "G3" if poor else _grade(rng, site)
    tumor: dict[str, Any] = {"primary_site": site, "differentiation": "poor" if poor else "well"}
    if site in ("lung", "thymus") and not poor and grade != "G3":
        tumor["lung_subtype"] = "typical_carcinoid" if grade == "G1" else "atypical_carcinoid"
        tumor["proliferation_high_end"] = rng.random() < 0.2
    else:
        tumor["grade"] = grade
    tumor["ki67_percent"] = _ki67(rng, grade, poor)
    p_sstr = 0.25 if poor else (0.6 if grade == "G3" else 0.85)
    tumor["sstr_status"] = (
        "unknown" if rng.random() < 0.05 else ("positive" if rng.random() < p_sstr else "negative")
    )
    p_func = 0.3 if site in SMALL_BOWEL else 0.12 if site == "pancreas" else 0.08 if site == "lung" else 0.03
    functional = rng.random() < p_func
    tumor["functional"] = functional
    if functional:
        tumor["syndromes"] = (
            ["carcinoid_syndrome"]
            if site != "pancreas"
            else [rng.choice(["insulinoma", "gastrinoma", "glucagonoma", "vipoma"])]
        )
    tumor["hormonal_symptoms"] = functional and rng.random() < 0.7
    if site == "colon":
        tumor["colon_segment"] = rng.choice(["ascending", "transverse", "descending", "sigmoid"])
    if site == "duodenum":
        part = rng.choices([p for p, _ in DUODENAL_PART_MIX], [w for _, w in DUODENAL_PART_MIX])[0]
        if part is not None:
            tumor["duodenal_part"] = part
    extent = rng.choices(["distant_metastatic", "locoregional", "localized"], [0.7, 0.18, 0.12])[0]
    disease: dict[str, Any] = {
        "extent": extent,
        "tumor_burden": rng.choices(["mild", "clinically_significant", "bulky"], [0.35, 0.45, 0.2])[0],
        "tumor_symptoms": rng.random() < 0.3,
    }
    disease["status"] = rng.choices(["progressive", "stable", "no_evidence_of_disease"], [0.5, 0.44, 0.06])[0]
    if extent != "distant_metastatic":
        disease["resectable"] = rng.random() < (0.8 if extent == "localized" else 0.5)
    if site in SMALL_BOWEL:
        disease["small_bowel_mesenteric"] = rng.random() < 0.5
    if disease["status"] == "progressive":
        disease["progression_clinically_significant"] = rng.random() < 0.7
    if grade == "G3" and not poor:
        disease["biology"] = rng.choice(["favorable", "unfavorable"])
    rec: dict[str, Any] = {
        "id": f"synth-{seed}-{i}",
        "age_years": float(rng.randint(28, 88)),
        "sex": rng.choice(["female", "male"]),
        "tumor": tumor,
        "disease": disease,
    }
    if grade == "G3" and rng.random() < 0.4:
        rec["biomarkers"] = {
            "msi": "high" if rng.random() < 0.05 else "stable",
            "tmb_mut_per_mb": round(rng.uniform(0, 14), 1),
        }
    if site == "pancreas" and rng.random() < 0.3:
        rec.setdefault("biomarkers", {})["germline_vhl"] = rng.random() < 0.05
    decided = date(2016, 1, 1) + timedelta(days=rng.randint(0, 365 * 10 - 1))
    # a stream of its own for how the SSA lines are recorded: the main stream, and so every other value,
    # is the same as without it
    alt = random.Random(f"{seed}:{i}:ssa-regimen")  # noqa: S311 (reproducible test data)
    rec["treatments"] = _history(rng, site, grade, poor, tumor["sstr_status"], decided, alt)
    if rng.random() < 0.25:
        rec["context"] = {
            "no_other_options_feasible": rng.random() < 0.3,
            "no_satisfactory_alternative": rng.random() < 0.3,
        }
    for section, name in OPTIONAL_DROP:
        if rng.random() < missing:
            rec.get(section, {}).pop(name, None)
    if rng.random() < missing:
        rec.pop("treatments", None)
    if rng.random() < off_guideline:
        choice = rng.choice(OFF_GUIDELINE)
    else:
        choice = _typical_choice(rng, rec, grade, poor)
    rec["decision"] = {"date": decided.isoformat(), "regimen": choice}
    return rec


def synth_records(
    n: int, seed: int = 0, off_guideline: float = 0.15, missing: float = 0.08
) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield synth_record(i, seed, off_guideline, missing)


def flatten_record(rec: dict[str, Any]) -> dict[str, Any]:
    """NDJSON row -> the flattened CSV layout (dotted columns; lists and treatments as JSON text)."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if isinstance(value, dict):
            for k, v in flatten_record(value).items():
                out[f"{key}.{k}"] = v
        elif isinstance(value, list):
            out[key] = json.dumps(value)
        else:
            out[key] = value
    return out


def _open_out(out: Path) -> Any:
    """A text file for writing, gzip-compressed when its name ends in .gz (as the reader expects)."""
    if out.name.endswith(".gz"):
        import gzip

        return gzip.open(out, "wt", encoding="utf-8", newline="")
    return out.open("w", encoding="utf-8", newline="")


MAX_ROWS = 1_000_000_000  # ``netcds synth --n`` at most (a typo of 1e23 would fill the disk)


def write_cohort(records: Iterator[dict[str, Any]], out: Path) -> int:
    """Write records as NDJSON, CSV or Parquet (by the file extension, gzip for NDJSON and CSV named
    ``.gz``); returns the count. A name of any other format is refused, never written as another. The
    file is written under a temporary name in the same folder and renamed when complete: an interrupted
    or failed write leaves no partial file (and an earlier ``out`` as it was)."""
    from netcds.cohort.parts import EXTENSIONS_TEXT, format_of

    if out.is_dir():
        raise ValueError(f"{out}: is a directory; name a .ndjson, .csv or .parquet file")
    fmt = format_of(out.name)
    if fmt is None:
        raise ValueError(f"{out}: cannot write this format; name the file {EXTENSIONS_TEXT}")
    tmp = out.with_name(f".partial-{secrets.token_hex(4)}-{out.name}")  # the same ending: the same format
    try:
        n = _write(records, tmp, fmt, out)
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.filename is not None and Path(e.filename) == tmp:  # named as asked, not by its temporary name
            raise OSError(e.errno, e.strerror, str(out)) from None
        raise
    except BaseException:  # an interrupt (Ctrl-C, SIGTERM) too
        tmp.unlink(missing_ok=True)
        raise
    return n


def _write(records: Iterator[dict[str, Any]], out: Path, fmt: str, shown: Path) -> int:
    """Write ``records`` to ``out`` as ``fmt``; ``shown`` is the name an error gives."""
    from netcds.io import first_line

    n = 0
    if fmt == "ndjson":
        with _open_out(out) as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
                n += 1
        return n
    if fmt == "csv":
        return _write_csv(records, out)
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rows.ndjson"
        n = _write(records, src, "ndjson", src)
        con = duckdb.connect()
        q = "'" + str(out).replace("'", "''") + "'"
        try:
            con.execute(
                f"COPY (SELECT * FROM read_json('{src}', format = 'newline_delimited', sample_size = -1))"  # noqa: S608
                f" TO {q} (FORMAT parquet)"
            )
        except duckdb.Error as exc:  # e.g. a folder that does not exist: one line, not a traceback
            raise ValueError(f"{shown}: cannot write ({first_line(exc)})") from None
        finally:
            con.close()
    return n


def _write_csv(records: Iterator[dict[str, Any]], out: Path) -> int:
    """CSV: the header is every column of every row (in the order first seen), so the flattened rows wait
    in a temporary file (not in memory) until all are known."""
    import csv
    import tempfile

    header: dict[str, None] = {}
    n = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for rec in records:
            row = flatten_record(rec)
            header.update(dict.fromkeys(row))
            spool.write(json.dumps(row) + "\n")
            n += 1
        spool.seek(0)
        with _open_out(out) as fh:
            w = csv.DictWriter(fh, fieldnames=list(header))
            w.writeheader()
            for line in spool:
                r = json.loads(line)
                w.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()})
    return n
