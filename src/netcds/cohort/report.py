"""Summaries (CSV, JSON) and the HTML report with plots (matplotlib, inline SVG) of an audit.

The summary queries are plain SQL run by whichever backend ran the audit, over its
``results`` relation, so both backends give the same summary. The report is deterministic:
no timestamps, fixed SVG ids.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

from netcds.cohort.layout import VERDICTS
from netcds.knowledge.schema import Category, Tier

# the order the report lists tiers and categories in: the guideline's (preferred, other recommended, useful
# in certain circumstances, listed; 1, 2A, 2B, 3), never the alphabet's or the counts'
TIER_ORDER: tuple[str, ...] = get_args(Tier)
CATEGORY_ORDER: tuple[str, ...] = get_args(Category)
REASONS_KEPT = 25  # summary ``reasons``: the most frequent reason groups
REASONS_PLOTTED = 15  # of which the report's plot shows these
WHAT_REASONS = "discordance reasons"

VERDICT_COLORS = {
    "concordant": "#2e7d32", "listed_not_eligible": "#c62828", "needs_data": "#f9a825",
    "not_listed": "#6a1b9a", "no_systemic_indicated": "#607d8b", "out_of_scope": "#bdbdbd",
}  # fmt: skip
VERDICT_WORDS = {
    "concordant": "the chosen regimen is an eligible option of the applicable table",
    "listed_not_eligible": "listed in the applicable table, but a condition of that entry is not met",
    "needs_data": "the verdict depends on facts not recorded (or the setting is not settled)",
    "not_listed": "the chosen approach is not an option of the applicable table (or no table applies)",
    "no_systemic_indicated": "no systemic therapy started, and the guideline names that approach here",
    "out_of_scope": "no table applies and the situation is handled on guideline pages not in the source"
    " (scope_exclusions names why): not judged, outside the concordance share",
}  # fmt: skip
# The concordance share (summary.json ``concordance``, documented in docs/cohort.md): concordant over the
# decisions the tables settle one way or the other. needs_data (undecided), no_systemic_indicated (no
# systemic therapy, and the guideline names that approach) and out_of_scope (no encoded table can judge
# the decision) are in neither the numerator nor the denominator.
CONCORDANCE_NUMERATOR: tuple[str, ...] = ("concordant",)
CONCORDANCE_DENOMINATOR: tuple[str, ...] = ("concordant", "listed_not_eligible", "not_listed")
NOT_JUDGED = "out_of_scope"
FAILED_LABEL = "condition not met"  # how the report shows ``failing_condition`` (the condition that failed)
_N = "count(*) AS n FROM results"
# a discordance reason: verdict, table / column, chosen regimen, entry and failing condition, with its count
REASON_GROUPS = (
    "SELECT verdict, COALESCE(setting_table, '-') AS setting_table, COALESCE(setting_column, '-')"
    " AS setting_column, decision_regimen, COALESCE(verdict_entry_id, '-') AS entry_id,"
    f" COALESCE(failing_condition, '-') AS reason, {_N}"
    " WHERE verdict IN ('listed_not_eligible', 'not_listed') GROUP BY 1, 2, 3, 4, 5, 6"
)
SUMMARY_QUERIES: dict[str, str] = {
    "verdicts": f"SELECT verdict, {_N} GROUP BY verdict ORDER BY verdict",
    "by_setting": (
        "SELECT setting_status, COALESCE(setting_table, '-') AS setting_table,"
        f" COALESCE(setting_column, '-') AS setting_column, verdict, {_N}"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    ),
    "chosen": (
        f"SELECT chosen_tier, chosen_category, verdict, {_N} WHERE verdict_entry_id IS NOT NULL"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ),
    "reasons": f"{REASON_GROUPS} ORDER BY n DESC, 1, 2, 3, 4, 5, 6 LIMIT {REASONS_KEPT}",
    "by_year": f"SELECT year(decision_date) AS year, verdict, {_N} GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2",
    "by_site": f"SELECT primary_site, verdict, {_N} GROUP BY 1, 2 ORDER BY 1, 2",
    "by_regimen": f"SELECT decision_regimen, verdict, {_N} GROUP BY 1, 2 ORDER BY 1, 2",
    "out_of_scope": (
        f"SELECT scope_exclusions, verdict, {_N} WHERE verdict = '{NOT_JUDGED}'"
        " GROUP BY 1, 2 ORDER BY n DESC, 1"
    ),
}


# how many reason groups there are (``reasons`` keeps the REASONS_KEPT most frequent): "top N of M"
REASON_GROUPS_QUERY = f"SELECT count(*) AS n FROM ({REASON_GROUPS}) g"  # noqa: S608 - constants only


# Decision points with the same patient id, decision date and regimen as another (both recorded): each is
# audited and counted (none is dropped: which one is the copy, if any, the data cannot say); the summary
# counts them so a double extract shows.
DUPLICATE_KEY: tuple[str, ...] = ("patient_id", "decision_date", "decision_regimen")
DUPLICATES_QUERY = (
    "SELECT count(*) AS groups, COALESCE(sum(n), 0) AS rows_in_groups FROM ("
    "SELECT count(*) AS n FROM results WHERE patient_id IS NOT NULL AND decision_date IS NOT NULL"
    " GROUP BY patient_id, decision_date, decision_regimen HAVING count(*) > 1) d"
)


def _settled(counts: Mapping[str, int]) -> tuple[int, int]:
    """The concordance numerator and denominator of a set of verdict counts."""
    return (
        sum(counts.get(v, 0) for v in CONCORDANCE_NUMERATOR),
        sum(counts.get(v, 0) for v in CONCORDANCE_DENOMINATOR),
    )


def summarize(query: Callable[[str], list[dict[str, Any]]], meta: dict[str, Any]) -> dict[str, Any]:
    """Run every summary query through ``query`` (a backend's) and assemble the summary."""
    out: dict[str, Any] = dict(meta)
    for name, sql in SUMMARY_QUERIES.items():
        out[name] = [
            {k: (int(v) if k in ("n", "year") and v is not None else v) for k, v in r.items()}
            for r in query(sql)
        ]
    (groups_row,) = query(REASON_GROUPS_QUERY)
    out["reason_groups"] = int(groups_row["n"])
    (dup,) = query(DUPLICATES_QUERY)
    groups, rows = int(dup["groups"]), int(dup["rows_in_groups"])
    out["duplicates"] = {"key": list(DUPLICATE_KEY), "groups": groups, "rows": rows, "repeats": rows - groups}
    counts = {r["verdict"]: r["n"] for r in out["verdicts"]}
    out["verdict_counts"] = {v: counts.get(v, 0) for v in VERDICTS}
    agree, decided = _settled(counts)
    share = round(agree / decided, 4) if decided else None
    out["concordance_of_settled_systemic_choices"] = share
    out["concordance"] = {
        "share": share,
        "numerator": agree,
        "denominator": decided,
        "numerator_verdicts": list(CONCORDANCE_NUMERATOR),
        "denominator_verdicts": list(CONCORDANCE_DENOMINATOR),
        "not_counted": {v: counts.get(v, 0) for v in VERDICTS if v not in CONCORDANCE_DENOMINATOR},
    }
    return out


def _cell(v: Any) -> str:
    """A summary value as a CSV cell: unknown (a decision without a date, a site not recorded) is empty."""
    return "" if v is None else str(v)


def summary_rows(summary: dict[str, Any]) -> list[list[str]]:
    """summary.csv (docs/cohort.md): ``section, group, verdict, n``. First the run (section ``meta``: the
    key in ``group``, its value in ``n``), then the concordance share (section ``concordance``: ``share``,
    ``numerator`` and ``denominator`` with the verdicts they count in ``verdict``, one ``not_counted`` row
    per verdict in neither), then the counts of each summary query."""
    g, dup, c = summary["guideline"], summary["duplicates"], summary["concordance"]
    meta = {
        "guideline_id": g["id"],
        "guideline_version": g["version"],
        "guideline_release": g.get("release"),
        "guideline_digest": g["digest"],
        "engine": summary["engine"],
        "input": summary["input"],
        "rows_in": summary["rows_in"],
        "results": summary["results"],
        "rejects": summary["rejects"],
        "duplicate_groups": dup["groups"],
        "duplicate_rows": dup["rows"],
        "duplicate_repeats": dup["repeats"],
        "reason_groups": summary["reason_groups"],
    }
    rows = [["meta", k, "", _cell(v)] for k, v in meta.items()]
    rows += [
        ["concordance", "share", "", _cell(c["share"])],
        ["concordance", "numerator", " + ".join(c["numerator_verdicts"]), _cell(c["numerator"])],
        ["concordance", "denominator", " + ".join(c["denominator_verdicts"]), _cell(c["denominator"])],
        *(["concordance", "not_counted", v, _cell(n)] for v, n in c["not_counted"].items()),
    ]
    for name in SUMMARY_QUERIES:
        for r in summary[name]:
            group = " / ".join(_cell(v) for k, v in r.items() if k not in ("verdict", "n"))
            rows.append([name, group, _cell(r.get("verdict")), _cell(r["n"])])
    return rows


def write_summary(summary: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    jpath, cpath = out_dir / "summary.json", out_dir / "summary.csv"
    jpath.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    with cpath.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["section", "group", "verdict", "n"])
        w.writerows(summary_rows(summary))
    return jpath, cpath


# --------------------------------------------------------------------------------------------- plots


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "netcds"})
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _stacked(
    groups: dict[str, dict[str, int]], title: str, xlabel: str, share: bool = False, horizontal: bool = True
) -> str:
    """Stacked bars of the verdicts of each group (``share``: as the share of the group's decision
    points); ``xlabel`` labels the value axis."""
    import matplotlib.pyplot as plt

    labels = list(groups)
    fig, ax = plt.subplots(figsize=(8.5, max(2.2, 0.38 * len(labels) + 1.2)) if horizontal else (9, 4))
    base = [0.0] * len(labels)
    for v in VERDICTS:
        vals = [float(groups[g].get(v, 0)) for g in labels]
        if share:
            tot = [sum(groups[g].values()) or 1 for g in labels]
            vals = [x / t for x, t in zip(vals, tot, strict=True)]
        if horizontal:
            ax.barh(labels, vals, left=base, color=VERDICT_COLORS[v], label=v)
        else:
            ax.bar(labels, vals, bottom=base, color=VERDICT_COLORS[v], label=v)
        base = [b + x for b, x in zip(base, vals, strict=True)]
    if horizontal:
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
    else:
        ax.set_ylabel(xlabel)
        ax.tick_params(axis="x", rotation=45)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


def _group(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        g = out[key(r)]
        g[r["verdict"]] = g.get(r["verdict"], 0) + int(r["n"])
    return dict(out)


def _setting_label(r: dict[str, Any]) -> str:
    if r["setting_table"] == "-":
        return "no table applies" if r["setting_status"] == "not_applicable" else f"({r['setting_status']})"
    col = f" / {r['setting_column']}" if r["setting_column"] != "-" else ""
    return f"{r['setting_table']}{col}" + (" (needs data)" if r["setting_status"] == "needs_data" else "")


def clinical_order(labels: Iterable[str], order: tuple[str, ...]) -> list[str]:
    """``labels`` in the guideline's ``order`` (tiers: preferred first; categories: 1 first), any other
    label (an unrecorded one) after them, alphabetically."""
    return sorted(labels, key=lambda x: (order.index(x) if x in order else len(order), x))


def _chosen_plot(rows: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, title in (
        (axes[0], "chosen_tier", "Tier of the chosen entry"),
        (axes[1], "chosen_category", "Category of the chosen entry (for this patient)"),
    ):
        groups = _group(rows, lambda r, k=key: str(r[k]))  # type: ignore[misc]
        labels = clinical_order(groups, TIER_ORDER if key == "chosen_tier" else CATEGORY_ORDER)
        base = [0] * len(labels)
        for v in ("concordant", "needs_data", "listed_not_eligible"):
            vals = [groups[g].get(v, 0) for g in labels]
            ax.bar(labels, vals, bottom=base, color=VERDICT_COLORS[v], label=v)
            base = [b + x for b, x in zip(base, vals, strict=True)]
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("decision points")
        ax.tick_params(axis="x", rotation=20, labelsize=8)
    axes[1].legend(fontsize=8)
    return _svg(fig)


def reasons_caption(shown: int, kept: int, total: int, what: str) -> str:
    """What a reasons plot or table shows of all the reason groups: "the top N of M" when it leaves some
    out."""
    n = min(shown, kept)
    if n < total:
        return f"the top {n} of {total} {what}, most frequent first"
    return f"all {total} {what}, most frequent first"


def _reasons_plot(rows: list[dict[str, Any]], total: int) -> str:
    import matplotlib.pyplot as plt

    top = rows[:REASONS_PLOTTED]
    labels = []
    for r in top:
        if r["verdict"] == "listed_not_eligible":
            labels.append(f"{r['entry_id']}: {FAILED_LABEL}: {r['reason']}"[:90])
        else:
            where = r["setting_table"] + (f"/{r['setting_column']}" if r["setting_column"] != "-" else "")
            where = "no table applies" if where == "-" else where
            labels.append(f"{r['decision_regimen']} not listed ({where})"[:90])
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.36 * len(top) + 1)))
    ax.barh(labels, [r["n"] for r in top], color=[VERDICT_COLORS[r["verdict"]] for r in top])
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("decision points")
    ax.set_title("Discordance reasons: " + reasons_caption(len(top), len(rows), total, "reasons"))
    return _svg(fig)


def _reasons_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reasons as shown: ``reason`` (a ``failing_condition``: the condition of the entry that was not
    met) under a header saying so; the summary keeps its key."""
    head = f"{FAILED_LABEL} (listed_not_eligible)"
    return [{(head if k == "reason" else k): v for k, v in r.items()} for r in rows]


def _concordance_html(summary: dict[str, Any]) -> str:
    c = summary["concordance"]
    if c["share"] is None:
        return "<p>Concordance: no decision the tables settle.</p>"
    skipped = ", ".join(f"<code>{html.escape(v)}</code> {n}" for v, n in c["not_counted"].items())
    counted = ", ".join(f"<code>{html.escape(v)}</code>" for v in c["denominator_verdicts"])
    return (
        f"<p>Concordance <b>{c['share']:.1%}</b>: <code>concordant</code> {c['numerator']} of"
        f" {c['denominator']} decisions the tables settle ({counted}). Not counted, in neither the"
        f" numerator nor the denominator: {skipped}.</p>"
    )


def concordance_by(groups: dict[str, dict[str, int]], label: str) -> list[dict[str, Any]]:
    """The concordance share of each group (its verdict counts): numerator, denominator and share as in
    summary.json ``concordance``, and the decision points counted in neither."""
    rows = []
    for group, counts in groups.items():
        agree, decided = _settled(counts)
        rows.append(
            {
                label: group,
                "concordant (numerator)": agree,
                "settled (denominator)": decided,
                "concordance share": f"{agree / decided:.1%}" if decided else "-",
                "not counted": sum(counts.values()) - decided,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(summary: dict[str, Any], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "netcds-cohort"
    total = summary["results"]
    reasons = summary["reasons"]
    groups = int(summary.get("reason_groups", len(reasons)))
    by_setting = _group(summary["by_setting"], _setting_label)
    by_year = _group(summary["by_year"], lambda r: str(r["year"] or "no date"))
    by_site = _group(summary["by_site"], lambda r: str(r["primary_site"]))
    per_group = (
        "<p>The concordance share of each group, counted as for the whole cohort (<code>concordant</code>"
        " over <code>concordant</code> + <code>listed_not_eligible</code> + <code>not_listed</code>):</p>"
    )
    charts = [
        (
            "Verdict by setting (table / column)",
            _stacked(by_setting, "Verdict by setting", "decision points")
            + per_group
            + _table(concordance_by(by_setting, "setting (table / column)")),
        ),
        (
            "Tier and category of the chosen therapies",
            _chosen_plot(summary["chosen"])
            if summary["chosen"]
            else "<p><em>no chosen regimen matched a table entry</em></p>",
        ),
        (
            "Top discordance reasons",
            f"<p>The plot shows {reasons_caption(REASONS_PLOTTED, len(reasons), groups, WHAT_REASONS)}"
            " (a reason: a verdict, table / column, chosen regimen, entry and failing condition).</p>"
            + _reasons_plot(reasons, groups)
            if reasons
            else "<p><em>none</em></p>",
        ),
        (
            "Verdicts by year of decision",
            _stacked(
                by_year,
                "Share of each verdict among the year's decision points (not the concordance share)",
                "share of the year's decision points",
                share=True,
                horizontal=False,
            )
            + per_group
            + _table(concordance_by(by_year, "year")),
        ),
        (
            "Verdicts by primary site",
            _stacked(by_site, "Verdict by primary site", "decision points")
            + per_group
            + _table(concordance_by(by_site, "primary site")),
        ),
    ]
    counts = summary["verdict_counts"]
    verdict_rows = [
        {
            "verdict": v,
            "n": counts[v],
            "share": f"{counts[v] / total:.1%}" if total else "-",
            "meaning": VERDICT_WORDS[v],
        }
        for v in VERDICTS
    ]
    g = summary["guideline"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>netcds cohort concordance audit</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}",
        "table{border-collapse:collapse;margin:1em 0;font-size:.9em}",
        "td,th{border:1px solid #ccc;padding:3px 8px}",
        "th{background:#f0f0f0}.note{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f9a825}",
        "svg{max-width:100%;height:auto}</style></head><body>",
        "<h1>Cohort concordance audit</h1>",
        f"<p>Guideline <b>{html.escape(g['id'])} {html.escape(g['version'])}</b>"
        f" (knowledge release <b>{html.escape(str(g.get('release') or g['version']))}</b>,"
        f" digest {html.escape(g['digest'])}),"
        f" backend <b>{html.escape(summary['engine'])}</b>,"
        f" input <code>{html.escape(summary['input'])}</code>.</p>",
        f"<p>Rows in: <b>{summary['rows_in']}</b> = results <b>{summary['results']}</b>"
        f" + rejects <b>{summary['rejects']}</b> (see <code>rejects.ndjson</code>).</p>",
        "<p class='note'>Decision support audit: a verdict says how a recorded choice relates to the encoded"
        " guideline tables for the recorded facts. It is not a judgement of care; unknown facts give"
        " <code>needs_data</code>, never a negative. Synthetic cohorts (<code>netcds synth</code>)"
        " describe no"
        " real patient.</p>",
        "<h2>Verdicts</h2>",
        _table(verdict_rows),
        _concordance_html(summary),
        "<h2>Out of scope: not judged</h2>",
        "<p>No table applies and an exclusion of the knowledge marks the situation as handled on guideline"
        " pages not in the source: the encoded tables cannot judge these decisions, systemic or not"
        " (column <code>scope_exclusions</code> of <code>decisions.parquet</code>).</p>",
        _table(summary["out_of_scope"]),
    ]
    for title, svg in charts:
        parts += [f"<h2>{html.escape(title)}</h2>", svg]
    parts += [
        "<h2>Top discordance reasons (table)</h2>",
        f"<p>The table lists {reasons_caption(REASONS_KEPT, len(reasons), groups, WHAT_REASONS)}."
        f" For <code>listed_not_eligible</code> the last column is the condition of the chosen entry that"
        f" was not met (<code>failing_condition</code>), shown as <em>{FAILED_LABEL}</em>.</p>",
        _table(_reasons_rows(summary["reasons"])),
        "</body></html>",
    ]
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
