"""Check evidence as a typed model: notes written as plain dicts still read back."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from sop_models.evidence import read_evidence

# A note line exactly as the check wrote it before the model existed (sorted keys, compact).
OLD_NOTE = json.dumps(
    {
        "candidate": "2.0",
        "check": {
            "decision": "PROMOTE",
            "design": "randomized",
            "metrics": [
                {
                    "abs_lift": 0.07,
                    "baseline": {"n": 12, "value": 0.325},
                    "candidate": {"n": 12, "value": 0.395},
                    "ci_rel": [0.003, 0.469],
                    "direction": "higher",
                    "kind": "proportion",
                    "method": "delta",
                    "name": "open_rate",
                    "p_value": 0.04,
                    "p_worse": 0.98,
                    "rel_lift": 0.214,
                    "role": "primary",
                },
                {
                    "abs_lift": None,
                    "baseline": {"n": 12, "value": 0.0},
                    "candidate": {"n": 12, "value": 0.01},
                    "ci_rel": [None, None],
                    "name": "leave_rate",
                    "p_value": None,
                    "rel_lift": None,
                    "role": "guardrail",
                },
            ],
            "reasons": ["primary open_rate is significantly better"],
            "srm": {
                "baseline_n": 12,
                "candidate_n": 12,
                "expected_share": 0.5,
                "observed_share": 0.5,
                "ok": True,
                "p_value": 1.0,
            },
        },
        "decision": "PROMOTE",
        "groups_per_arm": [12, 12],
        "production": "1.0",
        "summary": "v2.0: 新欢迎语 — open rate +21.4%",
        "window": ["2026-09-08", "2026-09-22"],
    },
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
)


def test_a_note_written_as_a_dict_reads_back_as_evidence() -> None:
    evidence = read_evidence(OLD_NOTE)

    assert evidence is not None
    assert evidence.window == (date(2026, 9, 8), date(2026, 9, 22)) and evidence.days == 14
    assert evidence.groups_per_arm == (12, 12)
    primary, guardrail = evidence.check.metrics
    assert (primary.name, primary.candidate.value, primary.ci_rel) == (
        "open_rate",
        0.395,
        (0.003, 0.469),
    )
    # Fields older notes may lack take their documented defaults.
    assert (guardrail.direction, guardrail.p_worse, guardrail.method) == ("higher", None, "")
    assert evidence.check.srm is not None and evidence.check.srm.ok


def test_evidence_is_stored_with_the_keys_it_always_had() -> None:
    evidence = read_evidence(OLD_NOTE)
    assert evidence is not None

    stored = evidence.as_json()

    assert stored["window"] == ["2026-09-08", "2026-09-22"]
    assert read_evidence(json.dumps(stored, ensure_ascii=False)) == evidence
    assert set(stored) == set(json.loads(OLD_NOTE))


@pytest.mark.parametrize(
    "line",
    ['{"summary":"打开率 +18%"}', '{"open_rate":0.236}', "not json", "[1, 2]", '{"check": {}}'],
)
def test_lines_that_are_not_a_checks_evidence_read_as_none(line: str) -> None:
    assert read_evidence(line) is None


def test_evidence_is_frozen() -> None:
    evidence = read_evidence(OLD_NOTE)
    assert evidence is not None
    with pytest.raises(ValidationError):
        evidence.summary = "changed"  # type: ignore[misc]
