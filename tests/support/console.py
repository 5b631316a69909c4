"""The ops console over HTTP: a workspace with accounts, and a logged-in TestClient."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from services.accounts import add_user
from services.workspace import DB_FILE, STORE_DIR, Workspace, init_workspace
from sopflow.web.app import create_app
from tests.support.examples import example_text, modified
from tests.support.workspaces import in_production
from versions import services

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-9"
SCRIPT = "<script>alert('x')</script>"
ACCOUNTS = {"李经理": "lead", "小王": "lead", "阿芳": "operator", "管理员": "admin"}


def with_accounts(ws: Workspace) -> Workspace:
    """Every account of ACCOUNTS, each with PASSWORD.

    Argon2id hashing is slow on purpose (~0.1-0.3 s a password), and most console tests start
    from the same fresh workspace: the accounts are added once per session to a fresh
    workspace by `add_user`, and its database and store (audit records and their git anchor)
    are copied into each fresh `ws` with the same settings. Any other `ws` gets them directly.
    """
    template = _accounts_template()
    if not _fresh_like(ws, template):
        _add_accounts(ws)
        return ws
    ws.close()  # no handle may keep the files replaced below open
    for cached in ("engine", "store"):
        ws.__dict__.pop(cached, None)
    for leftover in ws.root.glob(f"{DB_FILE}*"):  # the database and its -wal/-shm files
        leftover.unlink()
    shutil.rmtree(ws.root / STORE_DIR)
    shutil.copy2(template / DB_FILE, ws.root / DB_FILE)
    shutil.copytree(template / STORE_DIR, ws.root / STORE_DIR)
    return ws


def _add_accounts(ws: Workspace) -> None:
    for name, role in ACCOUNTS.items():
        add_user(ws, name=name, role=role, password=PASSWORD, actor="os:test", now=T0)


_TEMPLATE: list[Path] = []


def _accounts_template() -> Path:
    """A fresh workspace with ACCOUNTS, made once per session (closed: only copied from)."""
    if not _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="sopflow-accounts-")) / "ws"
        with init_workspace(root) as ws:
            _add_accounts(ws)
        _TEMPLATE.append(root)
    return _TEMPLATE[0]


def _fresh_like(ws: Workspace, template: Path) -> bool:
    """`ws` has the template's settings, a local SQLite database and nothing recorded yet."""
    config = ws.root / "sopflow.toml"
    return (
        config.exists()
        and config.read_bytes() == (template / "sopflow.toml").read_bytes()
        and not ws.settings.store_url
        and not ws.settings.database_url
        and ws.store.audit_anchor() is None  # no audit record yet (each one is anchored)
        and not ws.store.refs()
    )


def with_versions(ws: Workspace) -> Workspace:
    """mombaby-refined v1.0 in production (by 小王, promoted by 李经理) and v2.0 by 小王 whose
    welcome text carries a <script> tag."""
    in_production(ws, "mombaby-refined", now=T0)

    def change(data: dict) -> None:
        data["base_content"]["welcome"]["warmth"] = f"欢迎！{SCRIPT}"

    services.save_version(
        ws.uow(),
        text=modified(example_text("mombaby-refined"), change),
        source="v2.yaml",
        author="小王",
        message="新欢迎语",
        major=True,
        now=T0,
    )
    return ws


def csrf_of(html: str, field: str = "csrf") -> str:
    """The hidden CSRF token of the first form with that field in a page."""
    found = re.search(rf'name="{field}" value="([^"]+)"', html)
    assert found, f"no {field} field in the page"
    return found.group(1)


def client(ws: Workspace) -> TestClient:
    """A client of the console for `ws` (no login yet), following no redirects."""
    return TestClient(create_app(ws), follow_redirects=False)


def log_in(web: TestClient, name: str, password: str = PASSWORD) -> object:
    """Fill in the login form as a person would; returns the POST's response."""
    page = web.get("/login")
    return web.post(
        "/login", data={"name": name, "password": password, "pre": csrf_of(page.text, "pre")}
    )


POSTS = {
    "g-fang": ("阿芳的福利群", "阿芳", "今晚 20:00 会员福利：<b>湿巾</b>买一送一 ✨"),
    "g-other": ("别人的群", "小李", "别人的文案"),
}


def with_hand_posts(ws: Workspace, *, now: datetime) -> dict[str, str]:
    """Two task-list groups (阿芳's and someone else's), each with a hand post due one hour
    after `now` (written by the real task list channel); returns group id -> delivery key."""
    from datetime import timedelta

    from engine.dispatch import dispatch
    from engine.groups import add_group
    from services.channels import build_channel, close_channels
    from tests.support.wecom_fake import planned

    with ws.session() as session:
        for gid, (name, owner, _) in POSTS.items():
            add_group(
                session,
                id=gid,
                name=name,
                sop_id="mombaby-refined",
                owner=owner,
                channel="tasklist",
                now=now,
            )
        session.commit()
    due = now.astimezone(ws.settings.zone) + timedelta(hours=1)
    keys = {gid: f"mombaby-refined:1.0:{gid}:evening:{due.date()}" for gid in POSTS}
    actions = [
        planned(
            keys[gid],
            group_id=gid,
            at=due,
            channel="tasklist",
            sop_id="mombaby-refined",
            version="1.0",
            slot="columns.evening",
            text=text,
        )
        for gid, (_, _, text) in POSTS.items()
    ]
    try:
        dispatch(ws.session, build_channel("tasklist", ws), actions, now=now)
    finally:
        close_channels()
    return keys


PLANNED_GROUPS = (
    ("g-fang", "阿芳的福利群", "阿芳", "tasklist"),
    ("g-robot", "阿芳的机器人群", "阿芳", "console"),
    ("g-other", "别人的群", "小李", "tasklist"),
)


def _evening_every_day(data: dict) -> None:
    for column in data["schedule"]["columns"]:
        if column["id"] == "evening-welfare":
            column["days"] = "every_day"  # whatever day a test runs, 晚间福利 is planned


def with_planned_hand_posts(ws: Workspace) -> Workspace:
    """mombaby-refined v1.0 (晚间福利 at 20:00 every day) in production and PLANNED_GROUPS:
    阿芳 posts g-fang by hand and owns g-robot (console channel); 小李 posts g-other. Nothing
    is run: the ledger stays empty, the hand posts come from the plan."""
    from engine.groups import add_group

    services.save_version(
        ws.uow(), text=modified(example_text("mombaby-refined"), _evening_every_day),
        source="mombaby.yaml", author="小王", message="首版", major=False, now=T0,
    )  # fmt: skip
    services.promote(
        ws.uow(), sop_id="mombaby-refined", version="1.0", approver="李经理", policy=ws.policy,
        now=T0,
    )  # fmt: skip
    with ws.session() as session:
        for gid, name, owner, channel in PLANNED_GROUPS:
            add_group(session, id=gid, name=name, sop_id="mombaby-refined", owner=owner,
                      channel=channel, now=T0)  # fmt: skip
        session.commit()
    return ws
