"""One error tree, drawn in one place: every SopflowError subclass is defined and drawn in
`sop_models/errors.py`, under its real parent, with a one-line docstring."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path

import pytest

from sop_models import errors
from sop_models.errors import (
    BadRowsError,
    DocumentInvalid,
    EventRowsError,
    FlowRunError,
    PartialRunError,
    PrefectApiError,
    PrefectServerError,
    Problem,
    RowProblem,
    SopflowError,
    StoreConflictError,
    UnknownDeliveryError,
    UnknownGroupError,
    WeComApiError,
    WeComRateLimited,
    WeComSetupError,
    WeComTokenRejected,
    WeComUnreachable,
)

PACKAGES = (
    "sop_models",
    "versions",
    "engine",
    "simulator",
    "report",
    "services",
    "flows",
    "sopflow",
)
MODULE = "sop_models.errors"
DRAWN = re.compile(r"^    (?P<tree>(?:│   |    )*(?:├── |└── )?)(?P<name>\w+)(?P<rest>.*)$")

# Where classes were defined before they moved to sop_models.errors; callers import them there.
OLD_HOMES = {
    "engine.render": ("TemplateRenderError",),
    "engine.planner.core": ("PlanError",),
    "engine.groups": (
        "BadRowsError",
        "GroupRegistryError",
        "DuplicateGroupError",
        "UnknownGroupError",
    ),
    "engine.events.schema": ("EventRowsError", "RowProblem"),
    "engine.ledger.model": ("LedgerError", "UnknownDeliveryError"),
    "engine.wecom.errors": (
        "WeComApiError",
        "WeComTokenRejected",
        "WeComUnreachable",
        "WeComRequestInvalid",
        "WeComRateLimited",
        "redact",
    ),
    "engine.channels.content": ("ContentError",),
    "report.html": ("ReportWriteError",),
    "simulator.errors": ("SimulationError", "SimulationParamsInvalid", "ActionNotSimulable"),
    "services.channels": ("ChannelNotConfigured",),
    "services.playbooks": ("PlaybookError",),
    "flows.runtime": ("PrefectServerError",),
    "flows.deploy": ("DeploymentError",),
}

SECRET = "s3cr3t-token"
# Every class with its own constructor, built with foreign text that spans lines, and how many
# lines its message may have (one per problem, plus a heading for EventRowsError).
SAMPLES: dict[type[SopflowError], tuple[SopflowError, int]] = {
    DocumentInvalid: (
        DocumentInvalid([Problem("a.yaml", "steps[0]", "bad\nvalue"), Problem("a.yaml", "", "x")]),
        2,
    ),
    BadRowsError: (BadRowsError([Problem("g.csv", "line 2", "id: empty\r\n(required)")]), 1),
    EventRowsError: (EventRowsError("e.csv", [RowProblem("line 2", "bad time\n'soon'")], 1), 2),
    UnknownGroupError: (UnknownGroupError(["g1", "g2"]), 1),
    WeComRateLimited: (
        WeComRateLimited(f"/cgi-bin/x?access_token={SECRET}", 45009, "api freq\nout of limit"),
        1,
    ),
    WeComApiError: (WeComApiError(f"/x?key={SECRET}", 60020, "not allow\nto access"), 1),
    WeComTokenRejected: (WeComTokenRejected("/x", 42001, "access_token expired\nhint"), 1),
    WeComSetupError: (WeComSetupError("/x", 60020, "not allow\nfrom your ip"), 1),
    WeComUnreachable: (
        WeComUnreachable("/x", f"ConnectError\naccess_token={SECRET}", attempts=3),
        1,
    ),
    UnknownDeliveryError: (UnknownDeliveryError(["k1", "k2"]), 1),
    PrefectServerError: (
        PrefectServerError("not healthy\nwithin 1 s", log_path=Path("server.log"), log_tail="a\nb"),
        1,
    ),
    PrefectApiError: (
        PrefectApiError(
            "cannot reach the Prefect server at u: ConnectError:\nrefused", api_url="u"
        ),
        1,
    ),
    FlowRunError: (FlowRunError("flow run r cannot be resumed:\nnot paused", flow_run_id="r"), 1),
    StoreConflictError: (StoreConflictError(["mombaby-refined", "flash-sale"]), 1),
    PartialRunError: (PartialRunError("1 of 3 SOP(s) failed:\nbad", {"planned": 2}), 1),
}


def _import_everything() -> None:
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if module.name.rsplit(".", 1)[-1] != "__main__":
                importlib.import_module(module.name)


@cache
def _project_errors() -> tuple[type[SopflowError], ...]:
    """SopflowError and every subclass defined in sopflow's packages (not in tests)."""
    _import_everything()
    found: list[type[SopflowError]] = [SopflowError]
    todo = [SopflowError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found and sub.__module__.split(".")[0] in PACKAGES:
                found.append(sub)
                todo.append(sub)
    return tuple(found)


def _drawing() -> dict[str, str | None]:
    """Each class drawn in sop_models.errors' docstring -> its parent in the drawing."""
    parents: dict[str, str | None] = {}
    path: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        if not (match := DRAWN.match(line)):
            continue
        depth = len(match["tree"]) // 4
        name = match["name"]
        assert name not in parents, f"{name} is drawn twice"
        assert match["rest"].strip(), f"{name} is drawn without a description"
        assert depth <= len(path), f"{name} is indented deeper than a child of {path[-1]}"
        del path[depth:]
        parents[name] = path[-1] if path else None
        path.append(name)
    return parents


def test_the_drawing_has_exactly_one_root_and_every_class_once() -> None:
    drawn = _drawing()
    assert [name for name, parent in drawn.items() if parent is None] == ["SopflowError"]
    assert sorted(drawn) == sorted(cls.__name__ for cls in _project_errors())


def test_every_error_is_drawn_under_its_real_parent() -> None:
    drawn = _drawing()
    wrong = {}
    for cls in _project_errors():
        bases = [base.__name__ for base in cls.__bases__ if issubclass(base, SopflowError)]
        if len(bases) > 1 or drawn.get(cls.__name__, "(not drawn)") != (bases or [None])[0]:
            wrong[cls.__name__] = {"parents": bases, "drawn under": drawn.get(cls.__name__)}
    assert wrong == {}


def test_every_error_is_defined_in_sop_models_errors_with_a_one_line_docstring() -> None:
    elsewhere = {c.__name__: c.__module__ for c in _project_errors() if c.__module__ != MODULE}
    assert elsewhere == {}, "define these in sop_models/errors.py and import them where used"
    docs = {cls.__name__: cls.__dict__.get("__doc__") or "" for cls in _project_errors()}
    assert [name for name, doc in docs.items() if len(doc.strip().splitlines()) != 1] == []


def test_every_error_with_its_own_constructor_has_a_sample() -> None:
    custom = {cls for cls in _project_errors() if cls.__init__ is not SopflowError.__init__}
    assert custom == set(SAMPLES)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_str_is_one_line_per_problem_even_for_foreign_text_with_line_breaks(
    cls: type[SopflowError],
) -> None:
    err, lines = SAMPLES[cls]
    assert type(err) is cls
    assert len(str(err).splitlines()) == lines, str(err)
    assert SECRET not in str(err)


def test_wecom_errors_keep_their_context() -> None:
    err = WeComApiError(f"/cgi-bin/send?access_token={SECRET}", 60020, "not allow", attempts=2)
    assert (err.api, err.errcode, err.errmsg, err.attempts) == (
        "/cgi-bin/send?access_token=***",
        60020,
        "not allow",
        2,
    )
    assert str(err) == "WeCom /cgi-bin/send?access_token=***: errcode 60020 (not allow)"


@pytest.mark.parametrize("module_name", sorted(OLD_HOMES))
def test_old_homes_still_export_the_same_objects(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in OLD_HOMES[module_name]:
        assert getattr(module, name) is getattr(errors, name), f"{module_name}.{name}"


def test_prefect_failures_have_their_own_branch_not_the_workspace_one() -> None:
    drawn = _drawing()
    for name in ("PrefectServerError", "PrefectApiError", "DeploymentError", "FlowRunError"):
        assert drawn[name] == "PrefectError"
    assert drawn["PrefectError"] == "SopflowError"
