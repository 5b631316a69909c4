"""One metric registry (sop_models.kpis.METRICS) and one vocabulary for direction.

The engine adds formulas to the domain's metrics and nothing else; labels and directions are
read from the domain everywhere, which the source scans below pin.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

import engine.stats
from engine.kpi import METRICS as ENGINE_METRICS
from engine.kpi import STAGES as ENGINE_STAGES
from engine.kpi import get_metric
from engine.kpi.definitions import FORMULAS, MEASURES
from engine.stats.result import Direction as ResultDirection
from engine.stats.unit_table import check_unit_table, parse_spec
from sop_models.errors import CheckError
from sop_models.kpis import (
    METRIC_LABELS,
    METRIC_STAGE,
    METRICS,
    RATE_METRICS,
    STAGES,
    Direction,
    KpiTarget,
    MetricDefinition,
    _registry,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = (
    "sop_models", "versions", "engine", "simulator", "report", "services", "flows", "sopflow",
    "bench",
)  # fmt: skip
DOMAIN_FILE = Path("sop_models/kpis.py")


def _sources() -> dict[Path, ast.Module]:
    files = sorted(p for d in SOURCE_DIRS if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py"))
    return {p.relative_to(ROOT): ast.parse(p.read_text(encoding="utf-8")) for p in files}


def _strings(tree: ast.Module) -> set[str]:
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_every_metric_is_defined_exactly_once_in_the_domain() -> None:
    tree = ast.parse((ROOT / DOMAIN_FILE).read_text(encoding="utf-8"))
    defined = [
        call.args[0].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in ("_D", "MetricDefinition")
        and call.args
        and isinstance(call.args[0], ast.Constant)
    ]
    assert [n for n, k in Counter(defined).items() if k > 1] == []
    assert defined == list(METRICS)
    assert all(key == d.name for key, d in METRICS.items())


def test_a_second_definition_of_a_metric_is_refused() -> None:
    first = METRICS["open_rate"]
    with pytest.raises(ValueError, match="open_rate"):
        _registry(first, METRICS["roi"], first)


def test_derived_tables_come_from_the_registry() -> None:
    assert {n: d.stage for n, d in METRICS.items()} == METRIC_STAGE
    assert {n: d.label for n, d in METRICS.items()} == METRIC_LABELS
    assert {n for n, d in METRICS.items() if d.rate} == RATE_METRICS
    assert {d.stage for d in METRICS.values()} == set(STAGES)
    assert KpiTarget(metric="ugc_count", target=3).metric == "ugc_count"
    with pytest.raises(ValueError, match="join_rate"):
        KpiTarget(metric="open_rates", target=0.2)


def test_engine_has_a_formula_for_every_domain_metric_and_no_other() -> None:
    assert set(FORMULAS) == set(METRICS)
    assert list(ENGINE_METRICS) == list(METRICS)
    assert ENGINE_STAGES is STAGES
    for name, metric in ENGINE_METRICS.items():
        assert metric.definition is METRICS[name]
        words = set(re.findall(r"[a-z_0-9]+", f"{metric.numerator} {metric.denominator}"))
        assert words <= MEASURES.keys(), f"{name}: unknown measures {words - MEASURES.keys()}"
        assert metric.measures == words


def test_engine_metrics_read_label_kind_and_direction_from_the_domain() -> None:
    roi = get_metric("roi")
    assert (roi.label, roi.kind, roi.direction, roi.stage_label) == (
        "ROI",
        "ratio",
        "higher",
        "变现期",
    )
    assert get_metric("churn_rate").direction == "lower"
    for name, metric in ENGINE_METRICS.items():
        d: MetricDefinition = METRICS[name]
        got = (metric.label, metric.kind, metric.direction, metric.stage, metric.grain)
        assert got == (d.label, d.kind, d.direction, d.stage, d.grain)


def test_metric_and_stage_labels_are_written_only_in_the_domain() -> None:
    labels = set(METRIC_LABELS.values()) | set(STAGES.values())
    elsewhere = {
        str(path): sorted(found)
        for path, tree in _sources().items()
        if path != DOMAIN_FILE and (found := _strings(tree) & labels)
    }
    assert elsewhere == {}


def _assigned_names(tree: ast.Module) -> set[str]:
    targets = [t for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets]
    targets += [n.target for n in ast.walk(tree) if isinstance(n, ast.AnnAssign)]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def test_the_only_direction_type_is_the_domains() -> None:
    defining = [str(p) for p, tree in _sources().items() if "Direction" in _assigned_names(tree)]
    assert defining == [str(DOMAIN_FILE)]
    assert ResultDirection is Direction
    assert engine.stats.Direction is Direction


def test_no_other_direction_vocabulary_is_left_in_the_source() -> None:
    old = {"higher_is_better", "lower_is_better"}
    found = {str(p): sorted(_strings(t) & old) for p, t in _sources().items()}
    assert {p: words for p, words in found.items() if words} == {}


def test_check_data_takes_a_known_metrics_direction_from_the_registry() -> None:
    columns = ["arm", "churn_rate", "open_rate", "left", "orders", "clicks"]
    assert parse_spec("churn_rate", "guardrail", columns, []).direction == "lower"
    assert parse_spec("churn_rate", "guardrail", columns, ["churn_rate"]).direction == "lower"
    assert parse_spec("open_rate", "primary", columns, []).direction == "higher"


def test_check_data_ad_hoc_metrics_are_higher_is_better_unless_listed() -> None:
    columns = ["arm", "left", "orders", "clicks"]
    assert parse_spec("left", "guardrail", columns, []).direction == "higher"
    assert parse_spec("left", "guardrail", columns, ["left"]).direction == "lower"
    ratio = parse_spec("orders/clicks", "secondary", columns, ["orders"])
    assert (ratio.columns, ratio.direction) == (("orders", "clicks"), "lower")


def test_check_data_refuses_lower_is_better_for_a_higher_is_better_kpi() -> None:
    with pytest.raises(CheckError, match=r"open_rate .*higher is better"):
        parse_spec("open_rate", "primary", ["open_rate"], ["open_rate"])


def test_a_churn_rate_column_is_checked_lower_is_better_without_the_flag(tmp_path: Path) -> None:
    rows = ["member,arm,opened,churn_rate"]
    rows += [f"m{i},{'A' if i % 2 else 'B'},{i % 3 == 0},{int(i % 5 == 0)}" for i in range(200)]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    check = check_unit_table(
        path,
        variant_column="arm",
        baseline="A",
        candidate="B",
        metrics=["opened"],
        guardrails=["churn_rate"],
        unit="member",
    )
    directions = {m["name"]: m["direction"] for m in check.as_dict()["metrics"]}
    assert directions == {"opened": "higher", "churn_rate": "lower"}
