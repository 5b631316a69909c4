"""Pages for leads: SOP list, history, a version as saved, diffs, alias moves, the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services import audit_trail
from services.console_reads import evidence_notes, find_groups, groups_following
from services.headline import headline
from services.history import diff_versions, history, list_sops, show_version
from services.sessions import Login
from services.workspace import Workspace
from sop_models.i18n import tr
from sopflow.web.app import render
from sopflow.web.auth import checked_form, lead, login, now, workspace
from sopflow.web.diffview import side_by_side

router = APIRouter()
AUDIT_ROWS = 500
WEEK_GROUPS = 10  # groups planned when none are asked for
HISTORY_PAGE = 50  # versions per history page (the newest first)
KPI_VERSIONS = 20  # versions (with their diffs) the KPI page lists; the history page has all


@router.get("/")
def sop_list(request: Request, user: Login = Depends(login)) -> Response:
    if not user.user.is_lead:
        return RedirectResponse("/tasks", status_code=303)
    ws = workspace(request)
    sops, today = list_sops(ws), now().astimezone(ws.settings.zone).date()
    headlines = {
        s.latest.sop_id: headline(ws, sop_id=s.latest.sop_id, today=today, production=s.production)
        if s.production
        else None
        for s in sops
    }
    return render(
        request, "sops.html", sops=sops, following=groups_following(ws), headlines=headlines
    )


@router.get("/sops/{sop_id}")
def sop_history(
    request: Request, sop_id: str, page: int = 1, user: Login = Depends(lead)
) -> Response:
    ws = workspace(request)
    entries = history(ws, sop_id=sop_id)
    pages = max(1, -(-len(entries) // HISTORY_PAGE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * HISTORY_PAGE : page * HISTORY_PAGE]
    return render(
        request,
        "history.html",
        sop_id=sop_id,
        entries=entries,
        shown=shown,
        page=page,
        pages=pages,
        evidence=evidence_notes(ws, sop_id=sop_id),
    )


@router.get("/sops/{sop_id}/v/{ref}")
def sop_version(request: Request, sop_id: str, ref: str, user: Login = Depends(lead)) -> Response:
    from sopflow.web.evidence_view import chart, stored

    shown = show_version(workspace(request), sop_id=sop_id, ref=ref)
    return render(request, "version.html", sop_id=sop_id, shown=shown, chart=chart, stored=stored)


@router.get("/sops/{sop_id}/kpis")
def sop_kpis(request: Request, sop_id: str, user: Login = Depends(lead)) -> Response:
    """KPI trends per version with alert days: the offline report's page (inline SVG, no JS)."""
    from report.html import render_report
    from services.report_data import report_data

    data = report_data(workspace(request), sop_id, now=now(), newest=KPI_VERSIONS)
    html = render_report(data)
    # The report is one self-contained file: its own inline styles, no scripts at all.
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/sops/{sop_id}/week")
def sop_week(
    request: Request, sop_id: str, group: str = "", start: str = "", user: Login = Depends(lead)
) -> Response:
    """A week of planned posts per group (each group's own alias), markers from the planner."""
    from services.planning import plan_window

    ws = workspace(request)
    try:
        first = date.fromisoformat(start) if start else now().astimezone(ws.settings.zone).date()
    except ValueError:
        raise HTTPException(400, f"start: {start!r} is not a date (YYYY-MM-DD)") from None
    wanted = [g for g in group.replace(",", " ").split() if g]
    if not wanted:
        wanted = [g.id for g in find_groups(ws, sop_id=sop_id, limit=WEEK_GROUPS)[0]]
    plan = plan_window(
        ws, sop_id=sop_id, ref=None, start=first, end=first + timedelta(days=6), group_ids=wanted
    )
    days: dict[date, list] = {first + timedelta(days=n): [] for n in range(7)}
    for action in plan.actions:
        days.setdefault(action.at.astimezone(ws.settings.zone).date(), []).append(action)
    return render(
        request,
        "week.html",
        sop_id=sop_id,
        days=days,
        warnings=plan.warnings,
        group=" ".join(wanted),
        start=first.isoformat(),
        zone=ws.settings.zone,
    )


@router.get("/sops/{sop_id}/diff")
def sop_diff(
    request: Request, sop_id: str, a: str, b: str, user: Login = Depends(lead)
) -> Response:
    ws = workspace(request)
    changes = diff_versions(ws, sop_id=sop_id, a=a, b=b)
    left = show_version(ws, sop_id=sop_id, ref=a)
    right = show_version(ws, sop_id=sop_id, ref=b)
    rows = side_by_side(left.text, right.text)
    return render(request, "diff.html", sop_id=sop_id, a=left, b=right, changes=changes, rows=rows)


def _confirmed(form: dict[str, str]) -> None:
    if form.get("confirm") != "yes":
        raise HTTPException(400, tr("tick the confirmation box"))


@router.post("/sops/{sop_id}/{action}")
def sop_action(
    request: Request,
    sop_id: str,
    action: str,
    user: Login = Depends(lead),
    form: dict[str, str] = Depends(checked_form),
) -> Response:
    """Candidate, promote, reject or rollback as the logged-in lead, after a confirmation
    and with a reason (kept in the audit record)."""
    from services.console_policy import ALIAS_MOVES, alias_move_with_reason

    if action not in ALIAS_MOVES:
        raise HTTPException(404, f"no action {action!r}")
    _confirmed(form)
    alias_move_with_reason(
        workspace(request),
        action=action,
        sop_id=sop_id,
        version=form.get("version", ""),
        account=user.user.name,
        reason=form.get("reason", ""),
        now=now(),
    )
    return RedirectResponse(f"/sops/{sop_id}", status_code=303)


@router.get("/audit")
def audit_log(
    request: Request,
    sop: str = "",
    actor: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    full: bool = False,
    user: Login = Depends(lead),
) -> Response:
    """The audit log, newest first; `since`/`until` are local days (both included). The
    banner hashes the records since the last clean check (`full`: every record)."""
    ws = workspace(request)
    start, end = _local_day(ws, "since", since), _local_day(ws, "until", until)
    newest, total = audit_trail.newest(
        ws,
        limit=AUDIT_ROWS,
        sop_id=sop or None,
        actor=actor or None,
        action=action or None,
        since=start,
        until=end + timedelta(days=1) if end else None,
    )
    checked = audit_trail.verify_recent(ws, now=now(), full=full)
    return render(
        request,
        "audit.html",
        rows=newest,
        total=total,
        findings=checked.findings,
        checked=checked,
        filters={"sop": sop, "actor": actor, "action": action, "since": since, "until": until},
    )


def _local_day(ws: Workspace, name: str, text: str) -> datetime | None:
    """The start of a local day typed as YYYY-MM-DD (None when empty)."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(400, f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(), tzinfo=ws.settings.zone)
