"""`sop check-data` on generated unit-level tables with known answers, and on broken files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import optimize, stats
from statsmodels.stats import proportion as sm_proportion

from tests.support.check_data import UNIT_ARGS, assert_one_line_error, run, run_json


def argv(text: str) -> list[str]:
    """Command-line words from one string (no quoting needed in these tests)."""
    return text.split()


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def opened_rows(arm: str, n: int, opened: int, spelling: tuple[str, str]) -> list[list[Any]]:
    return [[f"{arm}{i}", arm, spelling[0] if i < opened else spelling[1]] for i in range(n)]


def test_proportion_from_csv_excludes_duplicates_and_ignores_other_variants(tmp_path: Path) -> None:
    rows = opened_rows("A", 1000, 200, ("True", "False")) + opened_rows("B", 1000, 260, ("1", "0"))
    rows += [["dup", "A", "True"], ["dup", "A", "False"], ["both", "A", "True"], ["both", "B", "1"]]
    rows += [["c1", "C", "True"], ["c2", "C", "False"], ["c3", "", "True"]]
    path = write_csv(tmp_path / "units.csv", ["member", "arm", "opened"], rows)
    out = run_json(path, *UNIT_ARGS, "--metric", "opened")
    assert out["decision"] == "PROMOTE"
    assert out["excluded_units"] == 2 and out["ignored_rows"] == 3
    assert "ignored 3 rows with other arm values" in out["reasons"]
    assert "excluded 2 units with several rows, with all their rows" in out["reasons"]
    (m,) = out["metrics"]
    assert (m["name"], m["role"], m["kind"]) == ("opened", "primary", "proportion")
    assert m["baseline"] == {"n": 1000, "value": pytest.approx(0.2)}
    assert m["candidate"] == {"n": 1000, "value": pytest.approx(0.26)}
    assert m["abs_lift"] == pytest.approx(0.06) and m["rel_lift"] == pytest.approx(0.3)
    log_ratio = sm_proportion.test_proportions_2indep(
        260, 1000, 200, 1000, compare="ratio", method="log", correction=False
    )
    assert m["p_value"] == pytest.approx(log_ratio.pvalue, rel=1e-9)
    assert m["ci_rel"][0] < 0.3 < m["ci_rel"][1]
    assert out["srm"]["ok"] is True and out["srm"]["p_value"] == pytest.approx(1.0)


def log_welch_p(b: np.ndarray, c: np.ndarray) -> float:
    """Welch's t on log(mean_c / mean_b) with the delta-method variance: the reference."""
    vb = b.var(ddof=1) / b.size / b.mean() ** 2
    vc = c.var(ddof=1) / c.size / c.mean() ** 2
    df = (vb + vc) ** 2 / (vb**2 / (b.size - 1) + vc**2 / (c.size - 1))
    se = np.sqrt(vb + vc)
    return float(2 * stats.t.sf(abs(np.log(c.mean() / b.mean())) / se, df))


def test_means_from_parquet_with_lower_is_better_guardrail(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    spend_b, spend_c = rng.gamma(2.0, 30.0, 400), rng.gamma(2.0, 31.0, 380)
    left_b, left_c = rng.random(400) < 0.05, rng.random(380) < 0.05
    table = pa.table(
        {
            "member": [f"m{i}" for i in range(780)],
            "group_arm": [0] * 400 + [1] * 380,  # integer variants compare as text "0" / "1"
            "opened": np.concatenate([rng.random(400) < 0.2, rng.random(380) < 0.3]),
            "spend": np.concatenate([spend_b, spend_c]),
            "left": np.concatenate([left_b, left_c]),
        }
    )
    path = tmp_path / "units.parquet"
    pq.write_table(table, path)
    out = run_json(
        path,
        "--unit",
        "member",
        "--variant-column",
        "group_arm",
        "--baseline",
        "0",
        "--candidate",
        "1",
        "--metric",
        "opened",
        "--metric",
        "spend",
        "--guardrail",
        "left",
        "--lower-is-better",
        "left",
    )
    roles = {m["name"]: m for m in out["metrics"]}
    spend = roles["spend"]
    assert (spend["role"], spend["kind"], spend["baseline"]["n"]) == ("secondary", "mean", 400)
    assert spend["baseline"]["value"] == pytest.approx(spend_b.mean())
    assert spend["p_value"] == pytest.approx(log_welch_p(spend_b, spend_c), rel=1e-9)
    left = roles["left"]
    assert (left["role"], left["kind"], left["direction"]) == ("guardrail", "proportion", "lower")
    assert left["candidate"]["value"] == pytest.approx(left_c.mean())


def test_ratio_metric_uses_delta_method_on_unit_sums(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    clicks = rng.poisson(4.0, 1200) + 1
    orders = rng.binomial(clicks, np.where(np.arange(1200) < 600, 0.10, 0.13))
    arms = ["A"] * 600 + ["B"] * 600
    rows = [[f"m{i}", arms[i], int(orders[i]), int(clicks[i])] for i in range(1200)]
    path = write_csv(tmp_path / "r.csv", ["member", "arm", "orders", "clicks"], rows)
    (m,) = run_json(path, *UNIT_ARGS, "--metric", "orders/clicks")["metrics"]
    assert (m["name"], m["kind"], m["baseline"]["n"]) == ("orders/clicks", "ratio", 600)
    b, c = slice(0, 600), slice(600, 1200)
    assert m["baseline"]["value"] == pytest.approx(orders[b].sum() / clicks[b].sum())
    assert m["candidate"]["value"] == pytest.approx(orders[c].sum() / clicks[c].sum())
    var, terms = {}, {}
    for arm, s in (("b", b), ("c", c)):
        y, x = orders[s].astype(float), clicks[s].astype(float)
        e = y - y.sum() / x.sum() * x  # CR2: residuals scaled by 1 / (1 - leverage)
        terms[arm] = e**2 / (1 - x / x.sum())
        var[arm] = terms[arm].sum() / x.sum() ** 2 / (y.sum() / x.sum()) ** 2
    # df: Satterthwaite under var(e_i) = s x_i + t x_i^2, (s, t) >= 0 fitted to the CR2 terms
    # of both arms (scipy's non-negative least squares as the reference).
    x_all = clicks.astype(float)
    (s_fit, t_fit), _ = optimize.nnls(np.column_stack([x_all, x_all**2]), np.concatenate(
        [terms["b"], terms["c"]]))  # fmt: skip
    dfs = {}
    for arm, s in (("b", b), ("c", c)):
        w = s_fit * x_all[s] + t_fit * x_all[s] ** 2
        dfs[arm] = w.sum() ** 2 / (w**2).sum() - 1
    t = np.log(m["candidate"]["value"] / m["baseline"]["value"]) / np.sqrt(var["b"] + var["c"])
    df = (var["b"] + var["c"]) ** 2 / (var["b"] ** 2 / dfs["b"] + var["c"] ** 2 / dfs["c"])
    assert m["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)


def test_cluster_mode_counts_groups_and_excludes_groups_in_both_variants(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    rates = {f"g{i}": 0.20 + 0.04 * (i >= 8) + rng.normal(0, 0.02) for i in range(16)}
    rows = []
    for group, rate in rates.items():
        arm = "旧版" if int(group[1:]) < 8 else "新版"
        opened = rng.random(200) < rate
        rows += [
            [f"{group}-m{j}", group, arm, "TRUE" if o else "FALSE"] for j, o in enumerate(opened)
        ]
    rows += [["gx-1", "gx", "旧版", "TRUE"], ["gx-2", "gx", "新版", "FALSE"]]
    path = write_csv(tmp_path / "groups.csv", ["member", "group", "arm", "打开"], rows)
    args = argv(
        "--cluster group --variant-column arm --baseline 旧版 --candidate 新版 --metric 打开"
    )
    out = run_json(path, *args)
    assert out["excluded_units"] == 1 and out["randomization"] == "cluster"
    (m,) = out["metrics"]
    assert m["name"] == "打开" and m["baseline"]["n"] == 8 and m["candidate"]["n"] == 8
    per_group = {}
    for _member, group, arm, opened in rows[:-2]:
        per_group.setdefault((arm, group), []).append(opened == "TRUE")
    old = [np.mean(v) for (arm, _), v in per_group.items() if arm == "旧版"]
    new = [np.mean(v) for (arm, _), v in per_group.items() if arm == "新版"]
    # Equal group sizes: the delta method on group sums is Welch's log-ratio test on group rates.
    assert m["p_value"] == pytest.approx(log_welch_p(np.array(old), np.array(new)), rel=1e-9)
    assert m["baseline"]["value"] == pytest.approx(np.mean(old))
    text = run(path, *args, "--json").stdout
    assert '"name": "打开"' in text and "\\u" not in text


def test_clusters_all_in_both_variants_leave_an_arm_empty(tmp_path: Path) -> None:
    rows = [[f"m{i}", f"g{i % 2}", "AB"[i // 2 % 2], i % 3 == 0] for i in range(8)]
    path = write_csv(tmp_path / "crossed.csv", ["member", "group", "arm", "opened"], rows)
    args = argv("--cluster group --variant-column arm --baseline A --candidate B --metric opened")
    assert_one_line_error(
        run(path, *args),
        "an arm is empty after excluding 2 clusters seen in both variants; is the cluster "
        "column the unit of randomization?",
    )


def test_sample_ratio_mismatch_rejects_and_expected_share_fixes_it(tmp_path: Path) -> None:
    rows = opened_rows("A", 1000, 200, ("true", "false")) + opened_rows(
        "B", 1250, 330, ("true", "false")
    )
    path = write_csv(tmp_path / "srm.csv", ["member", "arm", "opened"], rows)
    out = run_json(path, *UNIT_ARGS, "--metric", "opened")
    assert out["decision"] == "REJECT" and out["srm"]["ok"] is False
    assert any(r.startswith("样本比例不匹配：") for r in out["reasons"])
    assert out["srm"]["p_value"] == pytest.approx(stats.chisquare([1000, 1250]).pvalue)
    fixed = run_json(path, *UNIT_ARGS, "--metric", "opened", "--expected-share", "0.5556")
    assert fixed["srm"]["ok"] is True and fixed["decision"] == "PROMOTE"


def test_sequential_and_minimum_units_options(tmp_path: Path) -> None:
    rows = opened_rows("A", 1000, 200, ("1", "0")) + opened_rows("B", 1000, 240, ("1", "0"))
    path = write_csv(tmp_path / "seq.csv", ["member", "arm", "opened"], rows)
    fixed = run_json(path, *UNIT_ARGS, "--metric", "opened")
    seq = run_json(path, *UNIT_ARGS, "--metric", "opened", "--sequential")
    assert fixed["mode"] == "fixed" and seq["mode"] == "sequential"
    assert fixed["decision"] == "PROMOTE" and seq["decision"] == "CONTINUE"
    assert seq["metrics"][0]["p_value"] > fixed["metrics"][0]["p_value"]
    blocked = run_json(path, *UNIT_ARGS, "--metric", "opened", "--min-units", "5000")
    assert blocked["decision"] == "CONTINUE"
    assert any("未达到最小样本量" in r for r in blocked["reasons"])


def test_text_output_shows_decision_reasons_and_metrics(tmp_path: Path) -> None:
    rows = opened_rows("A", 500, 100, ("1", "0")) + opened_rows("B", 500, 100, ("1", "0"))
    path = write_csv(tmp_path / "flat.csv", ["member", "arm", "opened"], rows)
    result = run(path, *UNIT_ARGS, "--metric", "opened")
    assert result.exit_code == 0
    assert result.stdout.startswith("CONTINUE")
    assert "主指标       opened：候选 20.0%，基线 20.0%（+0.0%，95% 置信区间 " in result.stdout
    assert "\n样本比例：基线 500 / 候选 500（单位：unit），p=1（正常）\n" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("member,arm,opened\nm1,A,1\nm2,B,0\n", ("--metric", "clicks"), "no column 'clicks'"),
        ("member,arm,opened\nm1,A,1\nm2,B,x\n", ("--metric", "opened"), "is not numeric"),
        ("member,arm,opened\nm1,A,1\nm2,B,\n", ("--metric", "opened"), "1 empty values"),
        ("member,arm,opened\nm1,A,1\nm2,Z,0\n", ("--metric", "opened"), "no rows with arm = 'B'"),
        ("member,group,opened\nm1,A,1\nm2,B,0\n", ("--metric", "opened"), "no column 'arm'"),
        ("member,arm,opened\nm1,A,1\n ,B,0\nm3,B,1\n", ("--metric", "opened"), "1 empty ids"),
        (
            "member,arm,opened\nm1,A,1\nm2,A,0\nm1,B,1\nm2,B,1\n",
            ("--metric", "opened"),
            "an arm is empty after excluding 2 units with several rows",
        ),
    ],
)
def test_bad_tables_give_one_line_errors(
    tmp_path: Path, content: str, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(run(path, *UNIT_ARGS, *args), message)


def test_unreadable_and_missing_files_give_one_line_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "units.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet at all")
    assert_one_line_error(run(garbage, *UNIT_ARGS, "--metric", "opened"), "cannot read as Parquet")
    missing = tmp_path / "nowhere.csv"
    assert_one_line_error(run(missing, *UNIT_ARGS, "--metric", "opened"), "no such file")


def test_file_name_is_read_exactly_never_as_a_glob(tmp_path: Path) -> None:
    """DuckDB expands `*?[` in file names: `a[1].csv` would read `a1.csv`, `*.csv` every CSV."""
    header = ["member", "arm", "opened"]
    decoy = opened_rows("A", 200, 20, ("1", "0")) + opened_rows("B", 200, 180, ("1", "0"))
    write_csv(tmp_path / "a1.csv", header, decoy)
    exact = opened_rows("A", 200, 20, ("1", "0")) + opened_rows("B", 200, 60, ("1", "0"))
    literal = write_csv(tmp_path / "a[1].csv", header, exact)
    star = write_csv(tmp_path / "b*?.csv", header, exact)
    for path in (literal, star):
        result = run_json(path, *UNIT_ARGS, "--metric", "opened")
        (metric,) = result["metrics"]
        assert (metric["baseline"]["n"], metric["candidate"]["n"]) == (200, 200)
        assert metric["candidate"]["value"] == pytest.approx(0.30)
    for pattern in ("a?.csv", "*.csv", "a[0-9].csv"):
        missing = tmp_path / pattern
        assert not missing.exists()
        result = run(missing, *UNIT_ARGS, "--metric", "opened")
        assert_one_line_error(result, "no such file")


def test_unit_or_cluster_is_required(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "u.csv", ["member", "arm", "opened"], [["m1", "A", 1], ["m2", "B", 0]]
    )
    result = run(path, *argv("--variant-column arm --baseline A --candidate B --metric opened"))
    assert_one_line_error(result, "--unit")


def test_misspelled_lower_is_better_name_is_an_error(tmp_path: Path) -> None:
    rows = [[f"m{i}", "AB"[i % 2], i % 3 == 0, i % 7 == 0] for i in range(400)]
    path = write_csv(tmp_path / "g.csv", ["member", "arm", "opened", "left"], rows)
    args = ("--metric", "opened", "--guardrail", "left", "--lower-is-better", "lfet")
    assert_one_line_error(run(path, *UNIT_ARGS, *args), "--lower-is-better lfet")


def test_guardrail_must_rule_out_the_margin_before_promote(tmp_path: Path) -> None:
    """Opened 20% -> 30% (significant); left 5% -> 5.5%: not significantly worse, but its CI
    still allows a rise far above 10%, so the guardrail is inconclusive and PROMOTE waits."""
    rows = [
        [f"{arm}{i}", arm, i < opened, i < left]
        for arm, opened, left in (("A", 200, 50), ("B", 300, 55))
        for i in range(1000)
    ]
    path = write_csv(tmp_path / "g.csv", ["member", "arm", "opened", "left"], rows)
    args = ("--metric", "opened", "--guardrail", "left", "--lower-is-better", "left")
    out = run_json(path, *UNIT_ARGS, *args)
    guard = out["metrics"][1]
    assert out["decision"] == "CONTINUE" and guard["state"] == "inconclusive"
    assert any("护栏指标 left 尚无定论" in r for r in out["reasons"])
    loose = run_json(path, *UNIT_ARGS, *args, "--guardrail-margin", "2")
    assert loose["decision"] == "PROMOTE" and loose["metrics"][1]["state"] == "passes"
    small = run_json(path, *UNIT_ARGS, *args, "--guardrail-margin", "2", "--min-effect", "0.6")
    assert small["decision"] == "CONTINUE"
    assert any("低于实际意义的最小值 60%：太小，不值得推广" in r for r in small["reasons"])


def test_mean_metric_leaves_out_units_whose_trimmed_ids_repeat(tmp_path: Path) -> None:
    """`m7` and ` m7 ` are one unit with two rows: both rows go, and the mean and Welch test
    are those of the remaining units (the moments come from the filtered rows, not the file)."""
    rng = np.random.default_rng(21)
    spend = rng.gamma(2.0, 30.0, 600)
    arms = ["A"] * 300 + ["B"] * 300
    rows = [[f"m{i}", arms[i], round(float(spend[i]), 6)] for i in range(600)]
    rows.append([" m7 ", "B", 5000.0])
    path = write_csv(tmp_path / "spend.csv", ["member", "arm", "spend"], rows)
    out = run_json(path, *UNIT_ARGS, "--metric", "spend")
    assert out["excluded_units"] == 1
    (m,) = out["metrics"]
    kept = np.array([r[2] for r in rows[:600]])
    b, c = np.delete(kept[:300], 7), kept[300:]
    assert (m["kind"], m["baseline"]["n"], m["candidate"]["n"]) == ("mean", 299, 300)
    assert m["baseline"]["value"] == pytest.approx(b.mean(), rel=1e-12)
    assert m["candidate"]["value"] == pytest.approx(c.mean(), rel=1e-12)
    assert m["p_value"] == pytest.approx(log_welch_p(b, c), rel=1e-9)
