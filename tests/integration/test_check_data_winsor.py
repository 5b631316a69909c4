"""`sop check-data --winsorize`: heavy-tailed metrics capped at one pooled cap for both arms
(the rule of engine/stats/winsor.py, computed in DuckDB), on generated tables."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pytest

from engine.stats.winsor import DEFAULT_QUANTILE, cap_sql, pooled_cap
from sop_models.i18n import use_language
from tests.support.check_data import UNIT_ARGS, assert_one_line_error, run, run_json


def spend(rng: np.random.Generator, n: int) -> np.ndarray:
    """10% buyers with lognormal(4, 1.5) spend (median 55 yuan, a few in the thousands)."""
    return np.where(rng.random(n) < 0.1, np.round(rng.lognormal(4.0, 1.5, n), 2), 0.0)


def write_table(path: Path, b: np.ndarray, c: np.ndarray, column: str = "spend") -> Path:
    rows = [[f"A{i}", "A", v, f"g{i % 40}"] for i, v in enumerate(b)]
    rows += [[f"B{i}", "B", v, f"h{i % 40}"] for i, v in enumerate(c)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member", "arm", column, "grp"])
        writer.writerows(rows)
    return path


def test_sql_cap_is_the_same_rule_as_pooled_cap() -> None:
    rng = np.random.default_rng(5)
    con = duckdb.connect()
    for n in (1, 2, 3, 10, 99, 100, 101, 1000):
        b, c = spend(rng, n) * rng.choice([-1, 1], n), spend(rng, n)
        b[0] = 7.5  # at least one non-zero value
        con.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?) AS v", [[*b, *c]])
        for q in (0.5, 0.55, 0.7, 0.9, 0.95, 0.99, 1.0):
            (cap,) = con.execute(f"SELECT {cap_sql('v', q)} FROM t").fetchone()
            assert cap == pooled_cap(b, c, q), (n, q)
            nonzero = np.abs(np.concatenate([b, c])[np.concatenate([b, c]) != 0])
            assert cap == np.quantile(nonzero, q, method="inverted_cdf")
    con.execute("CREATE OR REPLACE TABLE t AS SELECT 0.0 AS v")
    assert con.execute(f"SELECT {cap_sql('v', 0.9)} FROM t").fetchone() == (None,)


def test_each_units_value_is_capped_at_numpys_pooled_cap(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    b, c = spend(rng, 1500), spend(rng, 1400)
    path = write_table(tmp_path / "units.csv", b, c)
    out = run_json(path, *UNIT_ARGS, "--metric", "spend", "--winsorize", "spend")
    (m,) = out["metrics"]
    cap = float(pooled_cap(b, c, DEFAULT_QUANTILE))
    assert m["capped"] == {"cap": pytest.approx(cap), "quantile": 0.9, "level": "unit"}
    assert 0 < cap < max(b.max(), c.max())
    assert m["baseline"]["value"] == pytest.approx(np.minimum(b, cap).mean())
    assert m["candidate"]["value"] == pytest.approx(np.minimum(c, cap).mean())
    assert any(f"spend 封顶为 {cap:.6g}" in r for r in out["reasons"]), out["reasons"]
    q95 = run_json(path, *UNIT_ARGS, "--metric", "spend", "--winsorize", "spend=0.95")
    assert q95["metrics"][0]["capped"]["cap"] == pytest.approx(float(pooled_cap(b, c, 0.95)))


def test_cluster_mode_caps_each_clusters_sum(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    b, c = spend(rng, 1200), spend(rng, 1200)
    path = write_table(tmp_path / "units.csv", b, c)
    args = ["--cluster", "grp", "--variant-column", "arm", "--baseline", "A", "--candidate", "B"]
    out = run_json(path, *args, "--metric", "spend", "--winsorize", "spend=0.8")
    sums_b = np.bincount(np.arange(1200) % 40, weights=b)
    sums_c = np.bincount(np.arange(1200) % 40, weights=c)
    (m,) = out["metrics"]
    cap = float(pooled_cap(sums_b, sums_c, 0.8))
    assert m["capped"] == {"cap": pytest.approx(cap), "quantile": 0.8, "level": "cluster"}
    assert m["baseline"]["n"] == 40
    assert m["baseline"]["value"] == pytest.approx(np.minimum(sums_b, cap).sum() / 1200)


def test_a_capped_heavy_tailed_a_a_table_does_not_decide_where_the_raw_one_does(
    tmp_path: Path,
) -> None:
    # Seed 7: both arms drawn alike, but a few thousand-yuan orders land in arm A.
    rng = np.random.default_rng(7)
    b, c = spend(rng, 2000), spend(rng, 2000)
    path = write_table(tmp_path / "aa.csv", b, c)
    for mode in ((), ("--sequential",)):
        raw = run_json(path, *UNIT_ARGS, "--metric", "spend", *mode)
        capped = run_json(path, *UNIT_ARGS, "--metric", "spend", "--winsorize", "spend", *mode)
        assert raw["decision"] == "REJECT" and raw["metrics"][0]["capped"] is None
        assert capped["decision"] == "CONTINUE", capped["reasons"]
        assert capped["metrics"][0]["p_value"] > 0.05


def test_a_registry_money_metric_is_capped_by_default_and_no_winsorize_turns_it_off(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(8)
    b, c = spend(rng, 1000), spend(rng, 1000)
    path = write_table(tmp_path / "aov.csv", b, c, column="average_order_value")
    metric = ("--metric", "average_order_value")
    default = run_json(path, *UNIT_ARGS, *metric)
    cap = float(pooled_cap(b, c, 0.9))
    assert default["metrics"][0]["capped"]["cap"] == pytest.approx(cap)
    assert any("客单价 封顶为" in r for r in default["reasons"])
    off = run_json(path, *UNIT_ARGS, *metric, "--no-winsorize", "average_order_value")
    assert off["metrics"][0]["capped"] is None
    assert off["metrics"][0]["baseline"]["value"] == pytest.approx(b.mean())
    assert not any("封顶" in r for r in off["reasons"])
    text = run(path, *UNIT_ARGS, *metric).stdout
    assert f"客单价 封顶为 {cap:.6g}（两组合并后非零取值的第 90 百分位）" in text


def test_english_note_names_the_metric_cap_and_percentile(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    b, c = spend(rng, 500), spend(rng, 500)
    path = write_table(tmp_path / "aov.csv", b, c, column="average_order_value")
    with use_language("en"):
        out = run_json(path, *UNIT_ARGS, "--metric", "average_order_value")
    cap = float(pooled_cap(b, c, 0.9))
    note = f"capped at {cap:.6g} (90th percentile of non-zero values, both arms)"
    assert f"average_order_value {note}" in out["reasons"]


def test_unknown_or_unusable_winsorize_names_are_one_line_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    path = write_table(tmp_path / "u.csv", spend(rng, 200), spend(rng, 200))
    base = (path, *UNIT_ARGS, "--metric", "spend")
    assert_one_line_error(run(*base, "--winsorize", "spnd"), "--winsorize spnd")
    assert_one_line_error(run(*base, "--no-winsorize", "revenue"), "--no-winsorize revenue")
    assert_one_line_error(run(*base, "--winsorize", "spend=0.3"), "--winsorize spend=0.3")
    assert_one_line_error(run(*base, "--winsorize", "spend=x"), "--winsorize spend=x")
    both = run(*base, "--winsorize", "spend", "--no-winsorize", "spend")
    assert_one_line_error(both, "--no-winsorize spend")
    rows = path.read_text().splitlines()
    flags = [rows[0] + ",bought"] + [f"{r},{i % 2}" for i, r in enumerate(rows[1:])]
    (tmp_path / "f.csv").write_text("\n".join(flags) + "\n")
    flagged = run(tmp_path / "f.csv", *UNIT_ARGS, "--metric", "bought", "--winsorize=bought")
    assert_one_line_error(flagged, "--winsorize bought")


def test_a_ratio_spec_caps_its_numerator_per_unit(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    b, c = spend(rng, 800), spend(rng, 800)
    visits = rng.integers(1, 6, 1600)
    rows = [["member", "arm", "spend", "visits"]]
    rows += [[f"A{i}", "A", v, visits[i]] for i, v in enumerate(b)]
    rows += [[f"B{i}", "B", v, visits[800 + i]] for i, v in enumerate(c)]
    path = tmp_path / "ratio.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    out = run_json(path, *UNIT_ARGS, "--metric", "spend/visits", "--winsorize", "spend/visits")
    (m,) = out["metrics"]
    cap = float(pooled_cap(b, c, 0.9))
    assert m["kind"] == "ratio" and m["capped"]["cap"] == pytest.approx(cap)
    assert m["baseline"]["value"] == pytest.approx(np.minimum(b, cap).sum() / visits[:800].sum())
