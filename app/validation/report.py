"""A self-contained HTML report of a verdict: decision on top, gate table, plots as inline SVG.

:func:`render_html` takes a :class:`~app.validation.gates.Verdict` or the dict of
``Verdict.to_dict()`` (so a stored report can be rendered again) and returns one HTML page with
no external asset: styles inline, plots drawn here as SVG (no plotting library needed).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

REAL, SYNTH, HOLD = "#4c72b0", "#dd8452", "#55a868"
PASS_C, FAIL_C, SKIP_C = "#1b7f3b", "#b3261e", "#777"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{margin:0 0 4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.banner{padding:16px 20px;border-radius:8px;color:#fff;margin-bottom:16px}
.banner.pass{background:#1b7f3b}.banner.fail{background:#b3261e}
.banner .big{font-size:28px;font-weight:700}.muted{color:#666;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #eee;border-radius:6px;padding:6px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
.note{border-left:4px solid #c77c02;background:#fff7e6;padding:6px 10px}
"""


def render_html(verdict: Any, *, title: str | None = None, notes: Sequence[str] = ()) -> str:
    """The report page for ``verdict`` (a Verdict or its ``to_dict()``).

    Args:
        verdict: a :class:`~app.validation.gates.Verdict` or its ``to_dict()``.
        title: the page title; default names the policy.
        notes: sentences shown right under the verdict (e.g. who may see the report).
    """
    v = verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict)
    metrics = v.get("metrics", {})
    pol = v.get("policy", {})
    name = title or f"Validation report: {pol.get('name')}@{pol.get('version')}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(name)}</h1>",
        _banner(v),
        "".join(f"<p class='note'>{_e(n)}</p>" for n in notes),
        _business(v.get("business")),
        _gate_table(v.get("gates", []), metrics),
        _utility(metrics.get("utility"), metrics.get("hybrid"), v.get("gates", [])),
        _causal(metrics.get("causal")),
        _privacy(metrics),
        _joint(metrics.get("joint")),
        _adversarial(metrics.get("adversarial")),
        _fairness(metrics.get("fairness")),
        _allocation(metrics.get("release")),
        _columns(metrics.get("columns")),
        _timings(v.get("timings", {})),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


# --- sections -------------------------------------------------------------------------------


def _banner(v: Mapping[str, Any]) -> str:
    passed = v.get("passed")
    pol = v.get("policy", {})
    rows = v.get("rows", {})
    failed = v.get("failed_gates", [])
    lines = [
        f"<div class='big'>{'RELEASED' if passed else 'REJECTED'}</div>",
        f"<div>{_e(v.get('message', ''))}</div>",
    ]
    if failed:
        lines.append("<div>Failed blocking gates: " + ", ".join(f"<b>{_e(g)}</b>" for g in failed) + "</div>")
    meta = (
        f"policy <code>{_e(pol.get('name'))}@{_e(pol.get('version'))}</code>"
        f" ({_e(pol.get('mode') or 'no mode')}, {_e(pol.get('use_case') or 'no use case')}),"
        f" digest {_e(str(pol.get('digest', ''))[:12])}; rows: train {rows.get('train')},"
        f" holdout {rows.get('holdout')}, synthetic {rows.get('synthetic')}; seed {v.get('seed')}"
    )
    out = f"<div class='banner {'pass' if passed else 'fail'}'>{''.join(lines)}</div><p class='muted'>{meta}</p>"
    advisory = v.get("advisory_failures") or []
    if advisory:
        out += "<p>Advisory gates failed (reported, not blocking): " + ", ".join(_e(a) for a in advisory) + "</p>"
    for w in v.get("warnings") or []:
        out += f"<p class='muted'>Note: {_e(w)}</p>"
    return out


def _business(b: Mapping[str, Any] | None) -> str:
    if not b or b.get("value_lost") is None:
        return ""
    unit = b.get("unit", "EUR")
    label = b.get("label") or "business value"
    pts = b["points_lost"]
    verb = "costs" if pts >= 0 else "gains"
    return (
        "<h2>In business terms</h2><p>"
        f"Training on the synthetic data instead of the real data {verb} <b>{abs(pts):.2f} points</b> "
        f"of <code>{_e(b['metric'])}</code> (one point = {b.get('point', 0.01):g}), worth "
        f"<b>{abs(b['value_lost']):,.0f} {_e(unit)}</b> of {_e(label)} "
        f"at {b['value_per_point']:,.0f} {_e(unit)} per point.</p>"
    )


def _gate_table(gates: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any] | None = None) -> str:
    rows = []
    for g in gates:
        if g.get("basis", "estimate") == "estimate" and g.get("value") is not None:
            # a point-estimate gate on a metric that reports an interval: show it, the noise is news
            family, _, key = g["metric"].partition(".")
            vals = ((metrics or {}).get(family) or {}).get("values") or {}
            if vals.get(f"{key}_low") is not None and vals.get(f"{key}_high") is not None:
                g = {**g, "interval": [vals[f"{key}_low"], vals[f"{key}_high"]]}
        colour = {"pass": PASS_C, "fail": FAIL_C}.get(g["status"], SKIP_C)
        kind = "blocking" if g["blocking"] else "advisory"
        note = g.get("reason") or g.get("description") or ""
        rows.append(
            f"<tr><td><span class='pill' style='background:{colour}'>{_e(g['status'])}</span></td>"
            f"<td>{_e(g['id'])}</td><td class='num'>{_fmt(g['value'])}</td>"
            f"<td>{_rule(g)}</td><td>{kind}</td>"
            f"<td class='muted'>{_e(note)}</td></tr>"
        )
    return (
        "<h2>Gates</h2><table><tr><th>status</th><th>gate</th><th>value</th><th>rule</th><th>kind</th>"
        "<th>note</th></tr>" + "".join(rows) + "</table>"
    )


def _rule(g: Mapping[str, Any]) -> str:
    """The gate's rule; a ci_bound gate names the bound it compares and shows the estimate and interval."""
    rule = f"{_e(g['comparison'])} {_fmt(g['threshold'])}"
    if g.get("basis", "estimate") != "ci_bound":
        low, high = g.get("interval") or (None, None)
        if low is None or high is None:
            return rule
        return f"{rule}<br><span class='muted'>on the estimate; interval [{_fmt(low)}, {_fmt(high)}]</span>"
    bound = "lower" if g["comparison"] in ("<", "<=") else "upper"
    low, high = g.get("interval") or (None, None)
    return f"{bound} bound {rule}<br><span class='muted'>estimate {_fmt(g.get('estimate'))} [{_fmt(low)}, {_fmt(high)}]</span>"


def _utility(util: Mapping[str, Any] | None, hyb: Mapping[str, Any] | None, gates: Sequence[Mapping[str, Any]] = ()) -> str:
    out = ""
    if util and util.get("details", {}).get("trtr"):
        d = util["details"]
        keys = [k for k in ("auc", "accuracy", "r2") if k in d["trtr"]]
        chart = _grouped_bars(
            keys,
            {"TRTR (real)": [d["trtr"][k] for k in keys], "TSTR (synthetic)": [d["tstr"][k] for k in keys]},
            colours=[REAL, SYNTH],
            ymin=0.0,
            ymax=1.0,
            width=420,
            height=220,
        )
        vals = util["values"]
        deg = vals.get("tstr_degradation")
        low, high = vals.get("tstr_degradation_low"), vals.get("tstr_degradation_high")
        iv = d.get("interval") or {}
        shown = f"<b>{_fmt(deg)}</b>"
        if low is not None and high is not None:
            level = f"{iv['level'] * 100:g} %" if isinstance(iv.get("level"), (int, float)) else ""
            shown += f" [{_fmt(low)}, {_fmt(high)}] ({_e(level)} paired bootstrap of the holdout rows)"
        out += (
            f"<h2>ML utility: TSTR vs TRTR</h2><p>Target <code>{_e(d['target'])}</code> ({_e(d['task'])}), "
            f"{d['holdout_rows']} real holdout rows; relative degradation {shown}.</p>"
            + _legend({"TRTR (train real)": REAL, "TSTR (train synthetic)": SYNTH})
            + chart
            + _degradation_chart(vals, gates, d["task"])
        )
    if hyb and hyb.get("values", {}).get("recall_real") is not None:
        hv, hd = hyb["values"], hyb["details"]
        chart = _grouped_bars(
            ["recall"],
            {"real only": [hv["recall_real"]], "real + replicates": [hv["recall_blend"]]},
            colours=[REAL, SYNTH],
            ymin=0.0,
            ymax=1.0,
            width=260,
            height=200,
        )
        out += (
            f"<h3>Hybrid split: rare class <code>{_e(hd['rare_class'])}</code></h3>"
            f"<p>{hd['replicates']} synthetic replicates blended with {hd['real_rows']} real rows: recall lift "
            f"<b>{_fmt(hv['recall_lift'])}</b>, AUC change {_fmt(hv['auc_change'])}.</p>" + chart
        )
    return out


def _degradation_chart(vals: Mapping[str, Any], gates: Sequence[Mapping[str, Any]], task: str) -> str:
    """The degradations with their intervals (error bars) and, on each row, its gates' thresholds."""
    keys = ("tstr_degradation", "accuracy_degradation", "mae_degradation")
    head = "R²" if task == "regression" else "ROC AUC"
    labels = {"tstr_degradation": f"{head} (headline)", "accuracy_degradation": "accuracy", "mae_degradation": "MAE"}
    shown = [k for k in keys if all(isinstance(vals.get(x), (int, float)) for x in (k, f"{k}_low", f"{k}_high"))]
    if not shown:
        return ""
    rows = [(labels[k], vals[k], vals[f"{k}_low"], vals[f"{k}_high"], SYNTH) for k in shown]
    marks = {
        (shown.index(g["metric"][len("utility.") :]), float(g["threshold"]))
        for g in gates
        if g.get("metric", "").startswith("utility.") and g["metric"][len("utility.") :] in shown
    }
    return (
        "<p class='muted'>Relative degradation (TRTR − TSTR) / TRTR (MAE: (TSTR − TRTR) / TRTR) with its interval; "
        "dashed: 0; red ticks: the thresholds of the gates on that row.</p>" + _forest(rows, marks=sorted(marks))
    )


def _causal(causal: Mapping[str, Any] | None) -> str:
    if not causal or "real" not in causal.get("details", {}):
        return ""
    d = causal["details"]
    rows = []
    for est in ("regression", "ipw"):
        for side, colour in (("real", REAL), ("synthetic", SYNTH)):
            e = d[side].get(est) or {}
            if e.get("ate") is not None:
                rows.append((f"{est}: {side}", e["ate"], e["low"], e["high"], colour))
    spec = d.get("spec", {})
    head = (
        f"<h2>Treatment effect</h2><p>ATE of <code>{_e(spec.get('treatment'))}</code> on "
        f"<code>{_e(spec.get('outcome'))}</code>, adjusted for {_e(', '.join(spec.get('confounders', [])))}; "
        "real = holdout. Bars are 95 % bootstrap intervals.</p>"
    )
    return head + _forest(rows)


def _privacy(metrics: Mapping[str, Any]) -> str:
    out = ""
    dcr = metrics.get("dcr")
    if dcr and dcr.get("details", {}).get("synthetic"):
        d = dcr["details"]
        out += (
            "<h2>Distance to closest training record</h2><p>Cumulative distributions: a synthetic curve left of "
            "the holdout curve means synthetic rows sit closer to training rows than new real people do. "
            f"Near-copy threshold {_fmt(d.get('threshold'))}.</p>"
            + _legend({"synthetic → train": SYNTH, "holdout → train": HOLD})
            + _cdf(
                {"synthetic → train": d["synthetic"], "holdout → train": d["holdout"]},
                d["quantiles"],
                colours=[SYNTH, HOLD],
            )
        )
    rows = []
    for fam in ("membership", "singling_out", "linkability", "attribute_inference", "exact_copies"):
        m = metrics.get(fam)
        if not m:
            continue
        vals = m.get("values", {})
        if "risk" in vals:
            shown = f"risk {_fmt(vals['risk'])} [{_fmt(vals.get('risk_low'))}, {_fmt(vals.get('risk_high'))}]"
            det = m.get("details", {})
            extra = ""
            if "member_rate" in det:
                extra = f"members {_fmt(det['member_rate'])} vs controls {_fmt(det['control_rate'])} (n={det['n']})"
            elif "secrets" in det:
                extra = "; ".join(
                    f"{_e(k)}: members {_fmt(s['member_rate'])} vs controls {_fmt(s['control_rate'])}"
                    for k, s in det["secrets"].items()
                )
        else:
            shown = ", ".join(f"{k} {_fmt(x)}" for k, x in vals.items())
            extra = ""
        rows.append(f"<tr><td>{_e(fam)}</td><td>{shown}</td><td class='muted'>{extra}</td></tr>")
    if rows:
        out += "<h3>Attacks</h3><table><tr><th>attack</th><th>result</th><th>rates</th></tr>" + "".join(rows)
        out += "</table>"
    return out


def _joint(joint: Mapping[str, Any] | None) -> str:
    if not joint:
        return ""
    d = joint.get("details", {})
    out = "<h2>Joint distribution</h2>"
    corr = d.get("correlation", {})
    if corr.get("difference"):
        out += "<h3>Correlation difference |real − synthetic|</h3>" + _heatmap(corr["columns"], corr["difference"])
    cv = d.get("cramers_v", {})
    if cv.get("difference"):
        out += "<h3>Cramér's V difference (binned)</h3>" + _heatmap(cv["columns"], cv["difference"])
    tw = d.get("three_way", {})
    if tw.get("mean") is not None:
        out += (
            f"<p>3-way marginals with the target: mean TVD {_fmt(tw['mean'])} over {tw['triples']} triples, "
            f"worst {_fmt(tw['max'])} on {_e(', '.join(tw['worst']))}.</p>"
        )
    return out


def _adversarial(adv: Mapping[str, Any] | None) -> str:
    if not adv or adv.get("values", {}).get("auc") is None:
        return ""
    top = adv["details"].get("top_features", [])
    chart = _hbars([t["column"] for t in top], [t["importance"] for t in top], colour=SYNTH)
    return (
        f"<h2>Adversarial validation</h2><p>A classifier tells real from synthetic with cross-validated ROC AUC "
        f"<b>{_fmt(adv['values']['auc'])}</b> (0.5 = indistinguishable). Columns it relies on most "
        "(AUC lost when shuffled):</p>" + chart
    )


def _fairness(fair: Mapping[str, Any] | None) -> str:
    if not fair or not fair.get("details") or "reason" in fair["details"]:
        return ""
    rows = []
    for col, d in fair["details"].items():
        for group, g in d.get("groups", {}).items():
            rows.append(
                f"<tr><td>{_e(col)}</td><td>{_e(group)}</td><td class='num'>{g['rows']}</td>"
                f"<td class='num'>{_fmt(g.get('trtr'))}</td><td class='num'>{_fmt(g.get('tstr'))}</td>"
                f"<td class='num'>{_fmt(g.get('utility_gap'))}</td></tr>"
            )
    vals = fair.get("values", {})
    return (
        "<h2>Subgroup fairness</h2>"
        f"<p>Demographic-parity difference shift {_fmt(vals.get('dp_difference_shift'))}, "
        f"equal-opportunity difference shift {_fmt(vals.get('eo_difference_shift'))}.</p>"
        "<table><tr><th>column</th><th>group</th><th>rows</th><th>TRTR</th><th>TSTR</th><th>gap</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _allocation(release: Mapping[str, Any] | None) -> str:
    alloc = (release or {}).get("details", {}).get("allocation") or {}
    cols = [c for c in alloc.get("columns", []) if isinstance(c, Mapping) and "weight" in c]
    if not cols:
        return ""
    return "<h2>Privacy-weight allocation</h2><p>Weight of each column in the engine's budget split.</p>" + _hbars(
        [c["name"] for c in cols], [float(c["weight"]) for c in cols], colour=REAL
    )


def _columns(cols: Mapping[str, Any] | None) -> str:
    if not cols:
        return ""
    hists = cols.get("details", {}).get("histograms", {})
    per = cols.get("details", {}).get("columns", {})
    cards = []
    for name, h in hists.items():
        stats = ", ".join(f"{k} {_fmt(v)}" for k, v in per.get(name, {}).items())
        chart = _grouped_bars(
            h["labels"],
            {"real": h["real"], "synthetic": h["synthetic"]},
            colours=[REAL, SYNTH],
            ymin=0.0,
            ymax=None,
            width=340,
            height=170,
            rotate=True,
        )
        cards.append(f"<div class='card'><b>{_e(name)}</b><div class='muted'>{stats}</div>{chart}</div>")
    return (
        "<h2>Columns: real vs synthetic</h2>"
        + _legend({"real": REAL, "synthetic": SYNTH})
        + "<div class='grid'>"
        + "".join(cards)
        + "</div>"
    )


def _timings(t: Mapping[str, float]) -> str:
    if not t:
        return ""
    rows = "".join(f"<tr><td>{_e(k)}</td><td class='num'>{v:.3f}</td></tr>" for k, v in t.items())
    return "<h2>Timings (seconds)</h2><table><tr><th>step</th><th>s</th></tr>" + rows + "</table>"


# --- SVG primitives -------------------------------------------------------------------------


def _svg(width: int, height: int, body: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='10'>{body}</svg>"
    )


def _grouped_bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    colours: Sequence[str],
    ymin: float = 0.0,
    ymax: float | None = None,
    width: int = 400,
    height: int = 200,
    rotate: bool = False,
) -> str:
    left, bottom, top = 36, 48 if rotate else 20, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    values = [x for s in series.values() for x in s if x is not None]
    hi = ymax if ymax is not None else max([*values, 1e-9]) * 1.1
    n = max(len(labels), 1)
    group_w = plot_w / n
    bar_w = group_w * 0.8 / max(len(series), 1)
    body = [f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#999'/>"]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        body.append(f"<text x='{left - 4}' y='{y + 3:.1f}' text-anchor='end'>{ymin + frac * (hi - ymin):.2g}</text>")
    for s_i, (sname, vals) in enumerate(series.items()):
        for i, val in enumerate(vals):
            if val is None:
                continue
            h = plot_h * (max(val, ymin) - ymin) / (hi - ymin)
            x = left + i * group_w + group_w * 0.1 + s_i * bar_w
            body.append(
                f"<rect x='{x:.1f}' y='{top + plot_h - h:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
                f"fill='{colours[s_i % len(colours)]}'><title>{_e(sname)} {_e(labels[i])}: {val:.4g}</title></rect>"
            )
    for i, lab in enumerate(labels):
        x = left + (i + 0.5) * group_w
        text = _e(str(lab)[:14])
        if rotate:
            y = top + plot_h + 6
            body.append(f"<text x='{x:.1f}' y='{y}' transform='rotate(45 {x:.1f} {y})'>{text}</text>")
        else:
            body.append(f"<text x='{x:.1f}' y='{top + plot_h + 14}' text-anchor='middle'>{text}</text>")
    return _svg(width, height, "".join(body))


def _hbars(labels: Sequence[str], values: Sequence[float], *, colour: str, width: int = 520) -> str:
    row, left = 18, 130
    height = row * max(len(labels), 1) + 10
    hi = max([abs(v) for v in values] + [1e-9])
    body = []
    for i, (lab, val) in enumerate(zip(labels, values, strict=True)):
        w = (width - left - 60) * abs(val) / hi
        y = 4 + i * row
        body.append(f"<text x='{left - 6}' y='{y + 11}' text-anchor='end'>{_e(str(lab)[:22])}</text>")
        body.append(f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{row - 5}' fill='{colour}'/>")
        body.append(f"<text x='{left + w + 4:.1f}' y='{y + 11}'>{val:.3g}</text>")
    return _svg(width, height, "".join(body))


def _forest(
    rows: Sequence[tuple[str, float, float, float, str]],
    width: int = 560,
    *,
    marks: Sequence[tuple[int, float]] = (),
) -> str:
    """Estimates with interval bars, a dashed line at 0, and red ticks ``marks`` (row index, value)."""
    if not rows:
        return ""
    row, left, right = 22, 150, 40
    height = row * len(rows) + 30
    lo = min(0.0, *(r[2] for r in rows), *(m[1] for m in marks))
    hi = max(0.0, *(r[3] for r in rows), *(m[1] for m in marks))
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return left + (width - left - right) * (v - lo) / (hi - lo)

    body = [f"<line x1='{x(0):.1f}' y1='4' x2='{x(0):.1f}' y2='{height - 22}' stroke='#999' stroke-dasharray='3,3'/>"]
    for i, (label, est, low, high, colour) in enumerate(rows):
        y = 14 + i * row
        body.append(f"<text x='{left - 8}' y='{y + 4}' text-anchor='end'>{_e(label)}</text>")
        body.append(f"<line x1='{x(low):.1f}' y1='{y}' x2='{x(high):.1f}' y2='{y}' stroke='{colour}' stroke-width='3'/>")
        body.append(
            f"<circle cx='{x(est):.1f}' cy='{y}' r='5' fill='{colour}'><title>{est:.4g} [{low:.4g}, {high:.4g}]</title></circle>"
        )
    for i, value in marks:
        y = 14 + i * row
        body.append(
            f"<line x1='{x(value):.1f}' y1='{y - 9}' x2='{x(value):.1f}' y2='{y + 9}' stroke='{FAIL_C}' stroke-width='2'/>"
            f"<text x='{x(value) + 3:.1f}' y='{y - 3}' fill='{FAIL_C}'>{value:.3g}</text>"
        )
    for v in (lo + pad, 0.0, hi - pad):
        body.append(f"<text x='{x(v):.1f}' y='{height - 6}' text-anchor='middle'>{v:.3g}</text>")
    return _svg(width, height, "".join(body))


def _cdf(
    series: Mapping[str, Sequence[float]],
    quantiles: Sequence[float],
    *,
    colours: Sequence[str],
    width: int = 520,
    height: int = 240,
) -> str:
    left, bottom, top, right = 40, 24, 8, 12
    xs = [v for s in series.values() for v in s]
    hi = max([*xs, 1e-9])
    pw, ph = width - left - right, height - top - bottom
    body = [
        f"<line x1='{left}' y1='{top + ph}' x2='{left + pw}' y2='{top + ph}' stroke='#999'/>",
        f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + ph}' stroke='#999'/>",
        f"<text x='{left + pw}' y='{height - 6}' text-anchor='end'>distance (max {hi:.3g})</text>",
        f"<text x='{left - 4}' y='{top + 8}' text-anchor='end'>1</text>",
        f"<text x='{left - 4}' y='{top + ph}' text-anchor='end'>0</text>",
    ]
    for i, (name, vals) in enumerate(series.items()):
        pts = " ".join(f"{left + pw * v / hi:.1f},{top + ph * (1 - q):.1f}" for v, q in zip(vals, quantiles, strict=False))
        body.append(
            f"<polyline points='{pts}' fill='none' stroke='{colours[i]}' stroke-width='2'><title>{_e(name)}</title></polyline>"
        )
    return _svg(width, height, "".join(body))


def _heatmap(labels: Sequence[str], matrix: Sequence[Sequence[float]], *, cell: int = 22) -> str:
    n = len(labels)
    left, top = 110, 90
    width, height = left + n * cell + 10, top + n * cell + 10
    hi = max([abs(v) for r in matrix for v in r] + [1e-9])
    body = []
    for i, lab in enumerate(labels):
        body.append(f"<text x='{left - 4}' y='{top + i * cell + cell / 2 + 3:.1f}' text-anchor='end'>{_e(str(lab)[:16])}</text>")
        cx = left + i * cell + cell / 2
        body.append(f"<text x='{cx:.1f}' y='{top - 4}' transform='rotate(-60 {cx:.1f} {top - 4})'>{_e(str(lab)[:16])}</text>")
        for j in range(n):
            v = matrix[i][j]
            shade = int(255 * (1 - min(abs(v) / hi, 1.0)))
            body.append(
                f"<rect x='{left + j * cell}' y='{top + i * cell}' width='{cell - 1}' height='{cell - 1}' "
                f"fill='rgb(255,{shade},{shade})'><title>{_e(lab)} × {_e(labels[j])}: {v:.3f}"
                "</title></rect>"
            )
    body.append(f"<text x='{left}' y='{height - 1}' class='muted'>darkest = {hi:.3f}</text>")
    return _svg(width, height + 4, "".join(body))


def _legend(items: Mapping[str, str]) -> str:
    return (
        "<div class='legend muted'>"
        + "".join(f"<span style='background:{c}'></span>{_e(k)}" for k, c in items.items())
        + "</div>"
    )


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return "–"
        return f"{v:.4g}"
    return _e(str(v))


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)
