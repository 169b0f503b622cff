"""The CLI: contract JSON, readable report, exit 2 with one line naming the field on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from tests.conftest import gi, pancreas

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "small_bowel_after_ssa.json"
runner = CliRunner()


def write(tmp_path: Path, content: str) -> str:
    p = tmp_path / "patient.json"
    p.write_text(content)
    return str(p)


def test_evaluate_json_follows_the_contract():
    res = runner.invoke(app, ["evaluate", str(EXAMPLE), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["guideline"]["id"] == "nccn-net" and data["guideline"]["version"] == "5.2024"
    assert {"engine_version", "setting", "options", "ssa_plan", "needs_data", "notes"} <= set(data)
    lu = next(o for o in data["options"] if o["regimen"] == "lu177_dotatate")
    assert (lu["tier"], lu["category"], lu["status"]) == ("preferred", "1", "eligible")
    assert not any(o["regimen"] == "sunitinib" and o["status"] == "eligible" for o in data["options"])
    for o in data["options"]:
        assert {"regimen", "tier", "category", "status", "reasons", "missing", "footnotes", "source"} <= set(
            o
        )


def test_evaluate_text_report_groups_by_tier():
    res = runner.invoke(app, ["evaluate", str(EXAMPLE)])
    assert res.exit_code == 0
    out = res.stdout
    assert out.index("Preferred") < out.index("Useful in certain circumstances")
    assert "PRRT with lutetium Lu 177 dotatate" in out and "cat 1" in out and "ELIGIBLE" in out
    assert "SSA plan" in out and "discontinue" in out


def test_text_report_says_when_a_higher_category_waits_on_missing_data(tmp_path):
    # pancreas everolimus/sunitinib are category 1 for progressive disease; the status is not recorded
    record = pancreas(disease={"status": ...})
    path = tmp_path / "p.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    res = runner.invoke(app, ["evaluate", str(path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    unsettled = [ln for ln in res.stdout.splitlines() if "Category rule waiting: would be category 1" in ln]
    depends = [
        ln for ln in res.stdout.splitlines() if "Category unsettled until recorded: disease.status" in ln
    ]
    assert len(unsettled) == len(depends) == 2  # everolimus and sunitinib, not the other options
    settled = runner.invoke(app, ["evaluate", "-"], input=json.dumps(pancreas()), env={"COLUMNS": "200"})
    assert "unsettled" not in settled.stdout and "rule waiting" not in settled.stdout


def test_text_report_says_when_a_dose_waits_on_unrecorded_data(tmp_path):
    # no hepatic status and no medication list: the everolimus dose rules cannot be checked yet
    record = pancreas(comorbidities=..., medications=...)
    res = runner.invoke(app, ["evaluate", "-"], input=json.dumps(record), env={"COLUMNS": "220"})
    assert res.exit_code == 0, res.output
    waiting = [ln for ln in res.stdout.splitlines() if "Dose everolimus not final until recorded" in ln]
    assert waiting and "comorbidities.hepatic_impairment" in waiting[0]
    recorded = pancreas(age_years=60, comorbidities={"hepatic_impairment": "none"}, medications=[])
    res = runner.invoke(app, ["evaluate", "-"], input=json.dumps(recorded), env={"COLUMNS": "220"})
    assert "Dose everolimus not final" not in res.stdout


def test_same_input_gives_byte_identical_json():
    a = runner.invoke(app, ["evaluate", str(EXAMPLE), "-f", "json"]).stdout
    b = runner.invoke(app, ["evaluate", str(EXAMPLE), "-f", "json"]).stdout
    assert a == b


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('{"tumor": {"primary_site": "ileum"', "<json>"),
        (
            '{"tumor": {"primary_site": "ileum", "sstr_status": "negative", "sstr_status": "positive"}}',
            "tumor.sstr_status",
        ),
        (
            '{"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "everolimus", "agent": "sunitinib"}]}',
            "treatments[0].agent",
        ),
        ("[" * 5000 + "]" * 5000, "<json>"),  # deeper than the interpreter recurses
        ('{"tumor": {"primary_site": "ileum", "ki67_percent": 150}}', "tumor.ki67_percent"),
        ('{"tumor": {"primary_site": "ileum", "ki67_percent": "8"}}', "tumor.ki67_percent"),
        ('{"tumor": {"primary_site": "ileum", "sstr": "positive"}}', "tumor.sstr"),
        (
            '{"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "everolimus", "start": "01/02/2024"}]}',
            "treatments[0].start",
        ),
        (
            '{"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "everolimus", "start": "2024-05-01",'
            ' "end": "2024-01-01"}]}',
            "treatments[0].end",
        ),
        ('{"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "aspirin"}]}', "treatments[0].agent"),
        ('{"tumor": {"primary_site": "ileum"}, "disease": {"extent": "metastatic"}}', "disease.extent"),
        ('{"tumor": {"primary_site": "ileum", "functional": "yes"}}', "tumor.functional"),
        ('{"tumor": {"primary_site": "ileum"}, "age_years": -3}', "age_years"),
        ('{"tumor": {"primary_site": "ileum"}, "sex": "male", "pregnant": true}', "pregnant"),
        ('{"disease": {}}', "tumor"),
        ("[]", "<patient>"),
    ],
)
def test_invalid_patient_exit_2_one_line_naming_the_field(tmp_path, content, field):
    res = runner.invoke(app, ["evaluate", write(tmp_path, content)])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"error: {field}:" in lines[0], res.stderr
    assert "Traceback" not in res.output


def test_a_key_given_twice_says_so(tmp_path):
    p = write(
        tmp_path, '{"tumor": {"primary_site": "ileum", "sstr_status": "negative", "sstr_status": "positive"}}'
    )
    res = runner.invoke(app, ["evaluate", p])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        "error: tumor.sstr_status: appears twice in the same JSON object (each key may be given once)"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_a_patient_file_or_stdin_not_in_utf8_exit_2(tmp_path, encoding):
    """RFC 8259 §8.1: JSON is UTF-8; json.loads would take UTF-16/32 (with or without a byte-order mark)."""
    text = json.dumps(gi())
    p = tmp_path / "patient.json"
    p.write_bytes(text.encode(encoding))
    for res in (
        runner.invoke(app, ["evaluate", str(p)]),
        runner.invoke(app, ["evaluate", "-"], input=text.encode(encoding)),
    ):
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == (
            f"error: <json>: not valid JSON: the text is {encoding.upper()}, not UTF-8 (JSON must be UTF-8)"
        )


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    p = tmp_path / "patient.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(gi()).encode())
    assert runner.invoke(app, ["evaluate", str(p), "-f", "json"]).exit_code == 0


def test_missing_file_exit_2(tmp_path):
    res = runner.invoke(app, ["evaluate", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_real_process_exit_code_and_no_traceback(tmp_path):
    p = write(tmp_path, '{"tumor": {"primary_site": "ileum", "ki67_percent": 150}}')
    proc = subprocess.run(
        [sys.executable, "-m", "netcds", "evaluate", p], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: tumor.ki67_percent:") and "Traceback" not in proc.stderr


def test_stdin_input():
    res = runner.invoke(app, ["evaluate", "-", "-f", "json"], input=json.dumps(gi()))
    assert res.exit_code == 0 and json.loads(res.stdout)["setting"]["table"] == "gi_wd_g12"


def test_kb_validate_ok():
    res = runner.invoke(app, ["kb", "validate"])
    assert res.exit_code == 0 and "ok nccn-net 5.2024" in res.stdout


def test_kb_validate_reports_paths_for_a_broken_folder(tmp_path):
    import shutil

    from netcds.knowledge.load import default_knowledge_dir

    folder = tmp_path / "kb"
    shutil.copytree(default_knowledge_dir() / "nccn-net" / "5.2024", folder)
    gi_file = folder / "tables" / "gi.yaml"
    gi_file.write_text(gi_file.read_text().replace("regimen: everolimus", "regimen: evero", 1))
    res = runner.invoke(app, ["kb", "validate", str(folder)])
    assert res.exit_code == 1 and "unknown regimen id 'evero'" in res.stderr
    assert "tables/gi.yaml: columns[0].entries[1]" in res.stderr


@pytest.mark.parametrize(
    ("table", "needles"),
    [
        ("gi_wd_g12", ["Preferred Regimens", "Cabozantinib", "category 1 if prior everolimus", "• None"]),
        ("wd_g3", ["favorable biology", "unfavorable biology", "Nivolumab + ipilimumab (category 2B)"]),
        ("pancreas_wd_g12", ["Consider belzutifan", "[unavailable]"]),  # 5.2024-r8: says "consider"
    ],
)
def test_kb_show_lays_out_the_table(table, needles):
    res = runner.invoke(app, ["kb", "show", table], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for n in needles:
        assert n in res.stdout, n


def test_kb_show_unknown_table_exit_2():
    res = runner.invoke(app, ["kb", "show", "liver"])
    assert res.exit_code == 2 and "table: unknown table" in res.stderr


def test_schema_prints_patient_and_evaluation():
    res = runner.invoke(app, ["schema"])
    data = json.loads(res.stdout)
    assert data["patient"]["additionalProperties"] is False
    assert "options" in data["evaluation"]["properties"]
    assert "tumor" in data["patient"]["required"]
