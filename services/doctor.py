"""`sop doctor`: one line per part a run depends on, ok or problem with the fix.

    database       connects; every migration this sopflow knows is applied (none unknown)
    store          the local store.git opens; with `store_url`: the remote answers and the
                   local mirror holds the same refs
    prefect        PREFECT_API_URL answers /health (or: ephemeral mode, noted)
    work pool      the pool exists; workers   at least one worker sent a recent heartbeat
    calendar       holiday data covers the next 45 days
    events         the event store this machine reads: shared (events_url) with a shared store
    files          calendar.json / overlays.json match their last audit record
    wecom, robots  the corp id/secret get a token; every robot a group posts through has a key

Checks only read: a database behind on migrations is reported, not migrated. The Prefect
parts live in services.doctor_prefect (imported only when a pool or a server is named).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from services.channels import MASS_SEND, configured_secrets
from services.db import applied_migrations, make_engine
from services.settings import CONFIG_FILE
from services.workspace import Workspace, all_migrations
from sop_models.errors import MASK, SopflowError, one_line, redact
from sop_models.i18n import tr

GIT_TIMEOUT = 20.0  # seconds for `git ls-remote` against the store remote


@dataclass(frozen=True)
class Check:
    """One health line: what was checked, whether it is fine, and what to do if not."""

    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        """`ok  what` or `problem  what — fix`."""
        head = f"{'ok' if self.ok else 'problem'}  {self.what}"
        return f"{head} — {self.fix}" if self.fix and not self.ok else head


def run_checks(
    ws: Workspace,
    *,
    today: date,
    now: datetime,
    prefect_url: str | None,
    pool: str | None,
) -> list[Check]:
    """Every health check of the workspace, in a fixed order (database first)."""
    engine = make_engine(ws.database_url)
    try:
        database = check_database(engine)
        checks = [database, *check_store(ws)]
        from services import doctor_prefect  # Prefect's client loads only for these lines

        checks.append(doctor_prefect.check_server(prefect_url))
        checks.extend(doctor_prefect.check_pool(prefect_url, pool, now=now))
        checks.append(check_calendar(ws, today=today))
        from services.doctor_events import check_events  # imports this module: import here

        checks.append(check_events(ws))
        if database.ok:  # the audit trail is readable (and needs no migration)
            checks.append(check_workspace_files(ws))
        groups = _group_channels(engine) if database.ok else None
        checks.extend(check_channels(ws, groups))
        return checks
    finally:
        engine.dispose()


def check_database(engine: Engine) -> Check:
    """The database connects and carries exactly the migrations this sopflow knows."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        applied = applied_migrations(engine)
    except SQLAlchemyError as err:
        first = one_line(str(getattr(err, "orig", None) or err))
        return Check(
            False,
            tr("database {where}: cannot connect ({cause})").format(where=where, cause=first),
            tr("start the database or correct database_url / SOPFLOW_DATABASE_URL"),
        )
    known = [name for name, _ in all_migrations()]
    unknown = [name for name in applied if name not in known]
    missing = [name for name in known if name not in applied]
    if unknown:
        return Check(
            False,
            tr("database {where}: migrated by a newer sopflow ({name})").format(
                where=where, name=unknown[-1]
            ),
            tr("upgrade sopflow on this machine"),
        )
    if missing:
        return Check(
            False,
            tr("database {where}: {count} migration(s) not applied (first {name})").format(
                where=where, count=len(missing), name=missing[0]
            ),
            tr("run `sop init WORKSPACE` (it migrates) with this sopflow"),
        )
    level = tr("database {where}: migration level {name} ({count} applied)")
    return Check(True, level.format(where=where, name=known[-1], count=len(applied)))


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # a check never waits for a password
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False, env=env
    )


def _refs(lines: Iterable[str]) -> dict[str, str]:
    """`<object> <ref>` lines -> {ref: object}, without peeled `^{}` lines or HEAD."""
    found: dict[str, str] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("refs/") and not parts[1].endswith("^{}"):
            found[parts[1]] = parts[0]
    return found


def check_store(ws: Workspace) -> list[Check]:
    """The local store opens (with `store_url`, a mirror not cloned yet is fine: the first run
    clones it); with `store_url`, the remote answers and the mirror matches it."""
    path = ws.store_path
    url = getattr(ws.settings, "store_url", None)
    if url and not path.exists():
        fresh = tr("store {path}: no mirror yet (cloned from the store remote on the first run)")
        return [Check(True, fresh.format(path=path)), _check_remote(url, path, None)]
    local = _git("--git-dir", str(path), "for-each-ref", "--format=%(objectname) %(refname)")
    if local.returncode != 0:
        first = one_line(local.stderr or "unreadable")
        return [
            Check(
                False,
                tr("store {path}: cannot read ({cause})").format(path=path, cause=first),
                tr("restore store.git from a backup or clone it from the store remote"),
            )
        ]
    mine = _refs(local.stdout.splitlines())
    tags = sum(1 for ref in mine if ref.startswith("refs/tags/"))
    readable = tr("store {path}: readable ({count} version tag(s))")
    checks = [Check(True, readable.format(path=path, count=tags))]
    if not url:
        alone = tr("store remote: none (store_url unset: a one-machine store)")
        return [*checks, Check(True, alone)]
    return [*checks, _check_remote(url, path, mine)]


def _check_remote(url: str, path: object, mine: dict[str, str] | None) -> Check:
    """The store remote answers; with the mirror's refs (`mine`), it holds the same ones."""
    shown = _shown(url)
    try:
        remote = _git("ls-remote", url)
    except subprocess.TimeoutExpired:
        remote = subprocess.CompletedProcess([], 1, "", f"no answer in {GIT_TIMEOUT:.0f}s")
    if remote.returncode != 0:
        first = one_line(remote.stderr.strip().splitlines()[0] if remote.stderr.strip() else "")
        first = redact(first, [urlsplit(url).password or ""])
        return Check(
            False,
            tr("store remote {url}: unreachable ({cause})").format(url=shown, cause=first),
            tr(
                "check store_url / SOPFLOW_STORE_URL and this machine's access "
                "(path mounted, ssh key)"
            ),
        )
    theirs = _refs(remote.stdout.splitlines())
    if mine is None:
        reachable = tr("store remote {url}: reachable ({count} ref(s))")
        return Check(True, reachable.format(url=shown, count=len(theirs)))
    differ = sorted(ref for ref in set(mine) | set(theirs) if mine.get(ref) != theirs.get(ref))
    if differ:
        return Check(
            False,
            tr("store remote {url}: the local mirror differs in {count} ref(s), e.g. {ref}").format(
                url=shown, count=len(differ), ref=differ[0]
            ),
            tr("fetch the mirror: {command}").format(
                command=f"git --git-dir {path} fetch --prune {shown} '+refs/*:refs/*'"
            ),
        )
    return Check(True, tr("store remote {url}: reachable, mirror in sync").format(url=shown))


def _shown(url: str) -> str:
    """A store URL fit to print: a password in it (https://user:token@host) masked."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:{MASK}@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        url = urlunsplit(parts._replace(netloc=netloc))
    return redact(url)


def check_calendar(ws: Workspace, *, today: date) -> Check:
    """Holiday data covers the next days (the facts: engine.calendar.DataHorizon)."""
    from engine.calendar import library_note
    from services.calendar import horizon

    found = horizon(ws, today=today)
    listed = tr(", ").join(str(y) for y in found.missing)
    if found.ok and found.entered:
        what = tr("calendar: holiday data covers the next {days} days ({years} entered)")
        return Check(
            True, what.format(days=found.days, years=tr(", ").join(map(str, found.entered)))
        )
    if found.ok:
        covered = tr("calendar: holiday data covers the next {days} days")
        return Check(True, covered.format(days=found.days))
    fallback = tr("until then workday slots follow workday_fallback = {fallback}").format(
        fallback=repr(found.fallback)
    )
    if found.covered_until is None:
        what = tr("calendar: no holiday data for {years} ({library}, none entered)")
        fix = tr("enter it with `sop calendar import FILE`; {fallback}")
    else:
        what = tr(
            "calendar: holiday data ends {until} ({left} days from now), none for {years} "
            "({library}, none entered)"
        )
        fix = tr("enter {year}'s official schedule with `sop calendar import FILE`; {fallback}")
    what = what.format(
        until=found.covered_until, left=found.days_left, years=listed, library=library_note()
    )
    return Check(False, what, fix.format(year=found.missing[0], fallback=fallback))


def check_workspace_files(ws: Workspace) -> Check:
    """calendar.json and overlays.json match their last audit record (not edited by hand)."""
    from services.workspace_files import workspace_file_findings

    found = workspace_file_findings(ws)
    if found:
        fix = tr("re-enter the change through sopflow")
        return Check(False, tr("workspace files: {finding}").format(finding=found[0]), fix)
    return Check(True, tr("workspace files: calendar.json and overlays.json match the audit trail"))


def _group_channels(engine: Engine) -> list[tuple[str, str]]:
    from engine.groups import Group

    table = Group.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.channel, table.c.target).where(table.c.archived_at.is_(None))
        )
        return [(str(channel), str(target)) for channel, target in rows]


def check_channels(ws: Workspace, groups: list[tuple[str, str]] | None) -> list[Check]:
    """WeCom credentials get a token; every robot a group posts through has a key."""
    groups = groups or []
    return [_check_wecom(ws, groups), _check_robots(ws, groups)]


def _check_wecom(ws: Workspace, groups: list[tuple[str, str]]) -> Check:
    from engine.wecom.client import WeComClient
    from engine.wecom.transport import RetryPolicy
    from sop_models.errors import WeComSetupError

    settings = ws.settings
    users = sum(1 for channel, _ in groups if channel == MASS_SEND)
    corp_id = (settings.wecom_corp_id or "").strip()
    secret = (
        settings.wecom_corp_secret.get_secret_value().strip() if settings.wecom_corp_secret else ""
    )
    missing = [n for n, v in (("wecom_corp_id", corp_id), ("wecom_corp_secret", secret)) if not v]
    if missing and not users and len(missing) == 2:
        return Check(True, tr("wecom: not configured (no group uses wecom_mass)"))
    if missing:
        return Check(
            False,
            tr("wecom: {names} unset ({count} group(s) on wecom_mass)").format(
                names=tr(" and ").join(missing), count=users
            ),
            tr("set {names} in {path} (or {variables})").format(
                names=tr(" and ").join(missing),
                path=ws.root / CONFIG_FILE,
                variables=" / ".join("SOPFLOW_" + n.upper() for n in missing),
            ),
        )
    secrets = configured_secrets(settings)
    try:
        with WeComClient(
            corpid=corp_id,
            corpsecret=secret,
            base_url=settings.wecom_base_url,
            secrets=secrets,
            retry=RetryPolicy(max_attempts=2, base_delay=0.5, block_wait=0),
        ) as client:
            client.access_token()  # a real gettoken: the credentials themselves are checked
    except WeComSetupError as err:
        reason = secrets.redact(f"errcode {err.errcode} ({err.errmsg})")
        return Check(False, tr("wecom: gettoken refused: {reason}").format(reason=reason), err.fix)
    except SopflowError as err:
        return Check(
            False,
            tr("wecom: gettoken failed: {cause}").format(cause=secrets.redact(one_line(err))),
            tr("check wecom_base_url and that this machine reaches WeCom"),
        )
    works = tr("wecom: gettoken works for corp {corp} ({count} group(s) on wecom_mass)")
    return Check(True, works.format(corp=corp_id, count=users))


def _check_robots(ws: Workspace, groups: list[tuple[str, str]]) -> Check:
    used: dict[str, int] = {}
    for channel, target in groups:
        if channel == "robot":
            used[target] = used.get(target, 0) + 1
    if not used:
        return Check(True, tr("robots: no group posts through a robot"))
    keys = {name for name, key in ws.settings.robot_keys.items() if key.get_secret_value().strip()}
    missing = sorted(name for name in used if name not in keys)
    if missing:
        count = sum(used[name] for name in missing)
        return Check(
            False,
            tr("robots: no key for {names} ({count} group(s))").format(
                names=", ".join(missing), count=count
            ),
            tr("add them under [robot_keys] in {path} (or SOPFLOW_ROBOT_KEYS)").format(
                path=ws.root / CONFIG_FILE
            ),
        )
    every = tr("robots: a key for every robot groups use ({count} robot(s))")
    return Check(True, every.format(count=len(used)))
