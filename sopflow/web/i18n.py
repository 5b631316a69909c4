"""The console's words: Chinese by default, English with `language = "en"` in sopflow.toml.

Templates say `t(key)`; each key names an English msgid of the one gettext catalog
(sop_models.i18n, the same words and mechanism as the CLI's), translated per language.
"""

from __future__ import annotations

from collections.abc import Callable

from sop_models.i18n import N_, NP_, translation

WORDS: dict[str, str | tuple[str, str]] = {
    "app": N_("sopflow ops console"),
    "skip": N_("Skip to content"),
    "sops": N_("SOPs"),
    "approvals": N_("Approvals"),
    "tasks": N_("My tasks"),
    "audit": N_("Audit log"),
    "logout": N_("Log out"),
    "login": N_("Log in"),
    "account": N_("Account"),
    "password": N_("Password"),
    "sop": N_("SOP"),
    "latest": N_("Latest"),
    "production": N_("Production"),
    "candidate": N_("Candidate"),
    "groups": NP_("column", "Groups"),
    "last_change": N_("Last change"),
    "history": N_("History"),
    "version": N_("Version"),
    "author": N_("Author"),
    "time": N_("Time"),
    "changelog": N_("Changelog"),
    "aliases": N_("Aliases"),
    "evidence": N_("Evidence"),
    "diff": N_("Diff"),
    "compare": N_("Compare"),
    "from": N_("From"),
    "to": N_("To"),
    "path": N_("Field path"),
    "change": N_("Change"),
    "before": N_("Before"),
    "after": N_("After"),
    "text_diff": N_("Side-by-side text"),
    "group_list": N_("Groups"),
    "g_q": N_("Search name or id"),
    "g_owner": N_("Owner"),
    "g_tag": N_("Tag"),
    "g_sop": N_("SOP"),
    "channel": N_("Channel"),
    "members": N_("Members"),
    "group_edit": N_("Edit group"),
    "g_history": N_("Deliveries and joins recorded"),
    "f_name": N_("Name"),
    "f_owner": N_("Owner"),
    "f_sender": N_("Owner's staff userid"),
    "f_channel": N_("Channel"),
    "f_target": N_("Target (chat id or robot name)"),
    "f_sop_id": N_("SOP"),
    "f_alias": N_("Alias (production/candidate)"),
    "f_start_date": N_("Cold-start day 1"),
    "f_member_count": N_("Members"),
    "f_tags": N_("Tags (separated by ;)"),
    "save": N_("Save"),
    "group_import": N_("Import groups (CSV)"),
    "imported": N_("Imported"),
    "import_refused": N_("Nothing imported; fix these rows:"),
    "row": N_("Row"),
    "problem": N_("Problem"),
    "csv_file": N_("CSV file"),
    "csv_text": N_("Or paste CSV"),
    "import": N_("Import"),
    "kpis": N_("KPI trends and alert days (report)"),
    "week": N_("Week of planned posts"),
    "slot": N_("Slot"),
    "text": N_("Text"),
    "unchanged": N_("unchanged lines left out"),
    "no_changes": N_("The two versions are the same."),
    "promote": N_("Promote"),
    "make_candidate": N_("Make candidate"),
    "reject": N_("Reject candidate"),
    "rollback": N_("Roll back"),
    "reason": N_("Reason"),
    "confirm": N_("I confirm this action"),
    "actor": N_("Actor"),
    "action": N_("Action"),
    "note": N_("Note"),
    "filter": N_("Filter"),
    "headline": N_("Primary KPI (production, 7 days)"),
    "since": NP_("filter", "From"),
    "until": NP_("filter", "To"),
    "audit_ok": N_("Audit trail intact: no findings."),
    "audit_bad": N_("Audit trail findings:"),
    "ci_chart": N_("Relative lift per metric with its 95% CI (the chart as text):"),
    "no_paused": N_("No check runs wait for approval."),
    "approve": N_("Approve and promote"),
    "decline": N_("Decline"),
    "run": N_("Run"),
    "today": N_("Today"),
    "tomorrow": N_("Tomorrow"),
    "hand_posts": N_("Post by hand"),
    "other_tasks": N_("Other tasks"),
    "copy": N_("Copy text"),
    "post_image": N_("Image to post"),
    "copied": N_("Copied"),
    "done": N_("Done"),
    "nothing": N_("Nothing to do."),
    "group": N_("Group"),
    "on_time": N_("on time"),
    "late": N_("late"),
    "early": N_("early, not on time"),
    "internal_tasks": N_("Internal tasks — never paste into a customer group"),
    "recorded": N_("Recorded"),
    "as_saved": N_("As saved"),
    "view": N_("View"),
    "wecom_qr": N_("Log in with WeCom (QR code)"),
    "wecom_app": N_("Log in inside WeCom"),
    "error": N_("Error"),
    "home": N_("Home"),
}


def translator(language: str) -> Callable[[str], str]:
    """`t(key)` in the language (unknown keys show as themselves)."""
    catalog = translation(language)

    def t(key: str) -> str:
        word = WORDS.get(key)
        if word is None:
            return key
        if isinstance(word, tuple):
            return catalog.pgettext(*word)
        return catalog.gettext(word)

    return t
