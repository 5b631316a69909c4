"""Threshold triggers live: `events push` / imports feed the counts, the ledger keeps them once.

The seeds' weekly fruit 接龙 (Monday to Wednesday) posts 成团 at 10 orders and a progress post
every 20 orders; group g1 posts through the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from engine.members import MemberJoin
from services import playbooks, sending
from services.event_imports import import_events
from services.event_push import push_event
from services.workspace import Workspace
from sop_models.errors import DataFileError
from tests.support.examples import example_text, modified
from tests.support.planning import local
from tests.support.workspaces import Cli
from versions import services

SOP = "seeds-group-buy"
SAVED = datetime(2026, 8, 1, tzinfo=UTC)
FORMED = f"{SOP}:1.0:g1:triggers.weekly-chain.formed.10:2026-09-07"


def save(ws: Workspace, text: str) -> None:
    services.save_version(
        ws.uow(), text=text, source="seed.yaml", author="小王", message="首版", major=False,
        now=SAVED,
    )  # fmt: skip
    services.promote(
        ws.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=ws.policy, now=SAVED
    )
    with ws.session() as session:
        add_group(session, id="g1", name="一号楼团购群", sop_id=SOP, now=SAVED, channel="outbox")
        add_group(session, id="g2", name="二号楼团购群", sop_id=SOP, now=SAVED, channel="outbox")
        session.commit()


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    save(workspace, example_text("seeds/group-buy-jielong"))
    return workspace


def order(
    ws: Workspace,
    n: int,
    *,
    group: str = "g1",
    minute: int = 0,
    campaign: str | None = "weekly-chain",
) -> list[str]:
    """Push order `n` (member m<n>) of `campaign` at Monday 12:00 + minute; the keys of the
    posts it fired."""
    now = local(2026, 9, 7, 12, 0) + timedelta(minutes=minute)
    done = push_event(
        ws, group=group, event="order", at=now, now=now, value=39.9, member=f"m{n}", actor="小王",
        campaign=campaign,
    )  # fmt: skip
    return [key for report in done.reports for key in report.sent]


def posted(ws: Workspace) -> list[str]:
    paths = sorted((ws.root / "outbox").glob("*.jsonl"))
    return [row["text"] for path in paths for row in read_outbox(path)]


def test_the_tenth_pushed_order_posts_formed_once_and_never_again(ws: Workspace) -> None:
    assert [order(ws, n, minute=n) for n in range(1, 10)] == [[]] * 9
    assert order(ws, 10, minute=10) == [FORMED]
    assert posted(ws) == ["成团啦！产地直发水果箱 已接龙 10 单，满单发货，明天统一配送。"]
    assert order(ws, 11, minute=11) == []
    # the on-join loop evaluates triggers too: a rerun finds the threshold in the ledger
    planned = playbooks.plan_due(ws, playbook="welcome", now=local(2026, 9, 7, 12, 30))
    assert [a.key for a in planned.actions] == []
    assert order(ws, 12, group="二号楼团购群") == []  # g2 counts its own orders
    assert len(posted(ws)) == 1


def test_plain_orders_of_the_group_never_fire_the_campaigns_threshold_its_own_orders_do_once(
    ws: Workspace, tmp_path: Path
) -> None:
    # twelve ordinary orders that day (no campaign named) and two of another SOP's post
    assert [order(ws, n, minute=n, campaign=None) for n in range(1, 13)] == [[]] * 12
    rows = [f"g1,m{n},2026-09-07T11:{n:02d}:00+08:00,order,20,other:1.0:columns.sale:2026-09-07"
            for n in range(2)]  # fmt: skip
    events = tmp_path / "other.csv"
    events.write_text("group,member,time,event,value,message\n" + "\n".join(rows) + "\n", "utf-8")
    import_events(ws, events, now=local(2026, 9, 7, 12, 0), actor="小王")
    assert order(ws, 100, minute=30) == []
    assert posted(ws) == []
    # the campaign's own orders: the tenth fires 成团, once
    fired = [key for n in range(101, 112) for key in order(ws, n, minute=n - 60)]
    assert fired == [FORMED]
    assert len(posted(ws)) == 1


def test_an_order_for_a_campaign_the_group_does_not_run_is_refused_in_one_line(
    ws: Workspace,
) -> None:
    with pytest.raises(DataFileError, match=r"--campaign: .xmas. is no campaign.*weekly-chain"):
        order(ws, 1, campaign="xmas")


def test_pushing_an_order_already_counted_is_refused_and_fires_nothing(ws: Workspace) -> None:
    for n in range(1, 11):
        order(ws, n, minute=n)
    with pytest.raises(DataFileError, match="already"):
        order(ws, 10, minute=10)
    assert len(posted(ws)) == 1


def test_every_twenty_posts_progress_at_twenty_and_forty_only(ws: Workspace) -> None:
    fired = [(n, key) for n in range(1, 46) for key in order(ws, n, minute=n)]
    progress = [n for n, key in fired if ".progress." in key]
    assert progress == [20, 40]
    assert [n for n, key in fired if ".formed." in key] == [10]
    assert "已接龙 40 单，离 200 单还差一点，邻居们冲！" in posted(ws)


def test_imported_orders_fire_in_the_welcome_loop_and_a_reimport_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = [f"g1,m{n},2026-09-07T11:{n:02d}:00+08:00,order,20,campaigns.weekly-chain"
            for n in range(10)]  # fmt: skip
    events = tmp_path / "orders.csv"
    events.write_text("group,member,time,event,value,message\n" + "\n".join(rows) + "\n", "utf-8")
    now = local(2026, 9, 7, 12, 0)
    import_events(ws, events, now=now, actor="小王")
    planned = playbooks.plan_due(ws, playbook="welcome", now=now)
    assert [a.key for a in planned.actions] == [FORMED]
    for batch in sending.batches(planned.actions):
        sending.send_batch(ws, batch, now=now)
    with pytest.raises(DataFileError, match="already"):
        import_events(ws, events, now=now, actor="小王")
    again = playbooks.plan_due(ws, playbook="welcome", now=now + timedelta(minutes=5))
    assert again.actions == []
    assert len(posted(ws)) == 1


def test_events_push_on_the_cli_fires_and_reports_bad_flags_in_one_line(
    workspace: Workspace, cli: Cli
) -> None:
    def all_week(data: dict) -> None:  # a run every day of the week, so the wall clock is in it
        data["playbooks"]["campaigns"][0]["window"]["weekly"]["last_weekday"] = "sun"
        data["playbooks"]["campaigns"][0]["scarcity"] = []
        data["playbooks"]["campaigns"][0]["kind"] = "holiday"
        data["schedule"].pop("quiet_hours")  # nor do quiet hours hold the post back at night

    save(workspace, modified(example_text("seeds/group-buy-jielong"), all_week))
    for n in range(1, 10):
        out = cli("events", "push", "--group", "g1", "--type", "order", "--member", f"m{n}",
                  "--value", "10", "--campaign", "weekly-chain").output  # fmt: skip
        assert "fired" not in out
    out = cli("events", "push", "--group", "一号楼团购群", "--type", "order", "--member", "m10",
              "--value", "10", "--campaign", "weekly-chain").output  # fmt: skip
    assert "已触发 triggers.weekly-chain.formed.10：已发送  成团啦！" in out
    bad = cli("events", "push", "--group", "g1", "--type", "order", "--member", "m11", ok=False)
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sop: error: sop events push:")
    assert "value" in lines[0]
    assert cli("audit", "--action", "events-import").output.count("events-import") == 10


def test_triggers_that_cannot_be_evaluated_fail_their_sop_while_welcomes_still_go_out(
    ws: Workspace,
) -> None:
    with ws.session() as session:
        joined = local(2026, 9, 7, 11, 50)
        session.add(MemberJoin(group_id="g1", member_id="m1", member_name="小红", joined_at=joined))
        session.commit()
    ws.dir("events").mkdir(parents=True, exist_ok=True)
    (ws.dir("events") / "manifest.json").write_text("{not json", "utf-8")  # a broken store
    planned = playbooks.plan_due(ws, playbook="welcome", now=local(2026, 9, 7, 12, 0))
    assert [a.kind for a in planned.actions] == ["welcome"]
    assert [(f.stage, f.sop_id, f.groups) for f in planned.failures] == [
        ("plan", SOP, ("g1", "g2"))
    ]
    assert "unreadable event store manifest" in planned.failures[0].error
