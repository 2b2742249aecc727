"""The drift report for people: the `drift-<dataset>` markdown artifact, and how a report names its reference."""

from __future__ import annotations

from typing import Any, Mapping

from tasks.core.artifacts import artifact_key, in_prefect_run
from tasks.core.datasets import dataset_spec
from tasks.core.tables import describe_months, markdown_table

DRIFT_KEY_PREFIX = "drift"  # Prefect artifact "drift-<dataset>"


def describe_reference(report: Mapping[str, Any]) -> str:
    """"champion jena_conv_gru 20261128-..." / "previous version jena-ab12" / "none"."""
    ref = report.get("reference") or {}
    if ref.get("kind") == "champion":
        return f"champion {ref.get('model')} run {ref.get('run')}"
    if ref.get("kind") == "previous_version":
        return f"previous version {ref.get('version')}"
    return str(ref.get("kind", "none"))


def drift_markdown(report: Mapping[str, Any], image: str | None = None) -> str:
    """The drift report as markdown: reference and new months, one row per feature (KL or change, flagged)."""
    ref, new = report.get("reference") or {}, report.get("new") or {}
    lines = [f"# Data drift of {report['dataset']}", "",
             f"Reference: {describe_reference(report)}"
             + (f", {describe_months(ref['months'])}" if ref.get("months") else "")
             + (f", {ref['rows']:,} rows" if ref.get("rows") else "") + ". "
             f"New: version `{new.get('version')}`"
             + (f", {describe_months(new['months'])}" if new.get("months") else "")
             + (f", {new['rows']:,} rows" if new.get("rows") else "") + ".", ""]
    if report.get("error"):
        lines += [f"Not computed: {report['error']}", ""]
    elif not report.get("features"):
        lines += ["Nothing to compare with (first ingestion): no flags.", ""]
    else:
        flagged = report.get("flagged") or []
        lines += [f"Flagged: {', '.join(flagged) if flagged else 'none'}.", ""]
        series = "kl" in (report.get("thresholds") or {})  # a time series' report: a KL divergence per feature
        name = dataset_spec(report["dataset"]).record.target if series else None
        target = next((f for f in report["features"] if f["name"] == name), None)
        if target is not None:  # what the models forecast, whatever moved most
            kl = "inf" if target["kl"] is None else f"{target['kl']:.3g}"
            lines += [f"Forecast target {name}: KL divergence {kl} ({'flagged' if target['flagged'] else 'not flagged'}), "
                      f"mean {target['reference']['mean']:.2f} -> {target['new']['mean']:.2f}.", ""]
        if series:
            lines += markdown_table(["feature", "KL divergence", "flagged", "reference mean", "new mean"],
                            [[f["name"], "inf" if f["kl"] is None else f["kl"], f["flagged"],
                              f["reference"]["mean"], f["new"]["mean"]] for f in report["features"]])
            lines += ["", f"Flagged: KL divergence above {report['thresholds']['kl']:g} (Great Expectations, "
                          "ExpectColumnKLDivergenceToBeLessThan against a partition of the reference rows)."]
        else:
            lines += markdown_table(["figure", "change", "tolerance", "flagged", "reference", "new"],
                            [[f["name"], f["change"], f["tolerance"], f["flagged"],
                              _figures(f["reference"]), _figures(f["new"])] for f in report["features"]])
            moved = next((f["moved"] for f in report["features"] if f.get("moved") and f["flagged"]), None)
            if moved:  # a user's label distribution: which labels gained and lost texts
                lines += ["", "Labels that moved: " + "; ".join(
                    f"{m['label']} {m['reference']:.1%} -> {m['new']:.1%}" for m in moved) + "."]
    if image:
        lines += ["", f"![drift of {report['dataset']}]({image})"]
    return "\n".join(lines) + "\n"


def _figures(side: Mapping[str, Any]) -> Any:
    """What a text report's row shows of one side: quantiles, label shares or a mean."""
    if "shares" in side:
        return ", ".join(f"{name} {share:.1%}" for name, share in side["shares"].items())
    return side.get("quantiles", side.get("mean"))


def publish_drift(dataset: str, markdown: str):
    """The drift report as the `drift-<dataset>` markdown artifact; its id, or None outside a Prefect run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=artifact_key(DRIFT_KEY_PREFIX, dataset), _sync=True,
                                    description=f"How the new {dataset} data differs from the champion's.")
