"""The fake WeCom server refuses what the real API refuses (each rule over real HTTP).

Every test here failed against the old, lenient fake: it pins a rule of
../shared/wecom-api.md so that channel tests prove something about production.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from tests.support.wecom_fake import FakeClock, FakeWeCom

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DAY = 86400
T0 = 1741395600  # 2025-03-08 09:00 +08:00


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=clock) as fake:
        fake.unix_now = lambda: T0 + int(clock() - clock.start)
        fake.add_chats("zhangsan", ["wr-1", "wr-2"])
        yield fake


class Api:
    """Raw calls to the fake: the answer whatever its errcode (no client logic in between)."""

    def __init__(self, wecom: FakeWeCom) -> None:
        self.wecom = wecom
        self.http = httpx.Client(base_url=wecom.base_url, timeout=5)

    def token(self) -> str:
        query = {"corpid": self.wecom.corpid, "corpsecret": self.wecom.corpsecret}
        return str(self.http.get("gettoken", params=query).json().get("access_token", ""))

    def post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.http.post(api, params={"access_token": self.token()}, json=body).json()

    def upload(self, raw: bytes, api: str = "media/upload") -> dict[str, Any]:
        files = {"media": ("pic.png", raw, "image/png")}
        params = {"access_token": self.token(), "type": "image"}
        return self.http.post(api, params=params, files=files).json()

    def mass(self, **fields: Any) -> dict[str, Any]:
        body = {"chat_type": "group", "sender": "zhangsan", "chat_id_list": ["wr-1"], **fields}
        return self.post("externalcontact/add_msg_template", body)


@pytest.fixture
def api(wecom: FakeWeCom) -> Iterator[Api]:
    client = Api(wecom)
    yield client
    client.http.close()


def image(media_id: str) -> list[dict[str, Any]]:
    return [{"msgtype": "image", "image": {"media_id": media_id}}]


def test_uploaded_media_id_is_refused_once_three_days_old(api: Api, clock: FakeClock) -> None:
    media_id = api.upload(PNG)["media_id"]
    assert api.mass(attachments=image(media_id))["errcode"] == 0
    clock.sleep(3 * DAY)
    assert api.mass(attachments=image(media_id))["errcode"] == 40007


def test_media_id_never_uploaded_is_refused(api: Api) -> None:
    assert api.mass(attachments=image("stored-in-an-sop-last-month"))["errcode"] == 40007


def test_upload_refuses_what_is_not_jpg_or_png(api: Api) -> None:
    assert api.upload(b"GIF89a" + b"\x00" * 32)["errcode"] == 40004
    assert api.upload(PNG, "media/uploadimg")["url"].startswith("https://")


def test_mass_text_over_4000_bytes_is_refused(api: Api) -> None:
    assert api.mass(text={"content": "好" * 1333})["errcode"] == 0  # 3,999 bytes
    assert api.mass(text={"content": "好" * 1334})["errcode"] == 45002


def test_link_title_over_128_bytes_is_refused(api: Api) -> None:
    link = {"title": "标" * 43, "url": "https://example.com/a"}  # 129 bytes
    answer = api.mass(attachments=[{"msgtype": "link", "link": link}])
    assert answer["errcode"] == 45002


def robot(api: Api, message: dict[str, Any]) -> int:
    key = next(iter(api.wecom.robot_keys))
    return int(api.http.post("webhook/send", params={"key": key}, json=message).json()["errcode"])


def test_robot_refuses_long_text_and_markdown(api: Api) -> None:
    assert robot(api, {"msgtype": "text", "text": {"content": "a" * 2049}}) == 45002
    assert robot(api, {"msgtype": "markdown", "markdown": {"content": "a" * 4097}}) == 45002
    assert robot(api, {"msgtype": "text", "text": {"content": "a" * 2048}}) == 0


def test_robot_image_must_be_png_or_jpg_with_the_md5_of_its_bytes(api: Api) -> None:
    def message(raw: bytes, md5: str) -> dict[str, Any]:
        encoded = base64.b64encode(raw).decode()
        return {"msgtype": "image", "image": {"base64": encoded, "md5": md5}}

    good = hashlib.md5(PNG).hexdigest()
    assert robot(api, message(PNG, "0" * 32)) == 40009
    assert (
        robot(api, message(b"BM" + b"\x00" * 64, hashlib.md5(b"BM" + b"\x00" * 64).hexdigest()))
        == 40004
    )
    big = PNG + b"\x00" * (2 * 1024 * 1024)
    assert robot(api, message(big, hashlib.md5(big).hexdigest())) == 40009
    assert robot(api, message(PNG, good)) == 0


def test_robot_news_title_and_description_have_byte_limits(api: Api) -> None:
    article = {"title": "t" * 129, "description": "d", "url": "https://example.com"}
    assert robot(api, {"msgtype": "news", "news": {"articles": [article]}}) == 45002
    article = {"title": "t", "description": "描" * 171, "url": "https://example.com"}
    assert robot(api, {"msgtype": "news", "news": {"articles": [article]}}) == 45002


def send_and_confirm(api: Api, wecom: FakeWeCom, at: int) -> int:
    msgid = api.mass(text={"content": "早上好"})["msgid"]
    return wecom.confirm(msgid, at=at)["wr-1"]


@pytest.mark.parametrize(
    ("rule", "allowed", "step"),
    [("day", 1, 3600), ("week", 7, 3600), ("month", 31, 3600 * 6)],
)
def test_group_over_the_cap_of_each_admin_rule_gets_status_3(
    api: Api, wecom: FakeWeCom, rule: str, allowed: int, step: int
) -> None:
    wecom.cap_rule = rule
    start = 1741017600 if rule == "month" else 1741395600  # 2025-03-01 00:00 / 03-08 09:00
    if rule == "week":
        start = 1741536000 - 6 * DAY  # Monday 2025-03-03 00:00 +08:00
        step = DAY // 2
    statuses = [send_and_confirm(api, wecom, start + n * step) for n in range(allowed + 1)]
    assert statuses == [1] * allowed + [3]


def test_other_tools_sends_count_to_the_cap(api: Api, wecom: FakeWeCom) -> None:
    wecom.cap_rule = "day"
    wecom.other_send("wr-1", T0 - 3600)
    assert send_and_confirm(api, wecom, T0) == 3


def test_a_confirmed_task_reports_status_2(api: Api, wecom: FakeWeCom) -> None:
    msgid = api.mass(text={"content": "早上好"})["msgid"]
    task = {"msgid": msgid, "limit": 10}
    assert api.post("externalcontact/get_groupmsg_task", task)["task_list"][0]["status"] == 0
    wecom.confirm(msgid)
    assert api.post("externalcontact/get_groupmsg_task", task)["task_list"][0]["status"] == 2


STAT_DAY = {"day_begin_time": 1741363200, "day_end_time": 1741363200}  # 2025-03-08


def test_statistics_without_owner_filter_get_81017_past_1000_visible_people(
    api: Api, wecom: FakeWeCom
) -> None:
    wecom.add_stats("zhangsan", date(2025, 3, 8), chat_total=5)
    assert api.post("externalcontact/groupchat/statistic", STAT_DAY)["errcode"] == 81017
    assert (
        api.post("externalcontact/groupchat/statistic_group_by_day", STAT_DAY)["errcode"] == 81017
    )
    wecom.visible_people = 1000
    assert api.post("externalcontact/groupchat/statistic", STAT_DAY)["errcode"] == 0
    owners = api.post("externalcontact/get_follow_user_list", {})["follow_user"]
    assert owners == ["zhangsan"]


def test_multi_day_owner_statistics_are_not_sums_of_days(api: Api, wecom: FakeWeCom) -> None:
    for day in (7, 8):
        wecom.add_stats("zhangsan", date(2025, 3, day), chat_total=5, new_chat_cnt=1)
    body = {
        "day_begin_time": 1741276800,
        "day_end_time": 1741363200,
        "owner_filter": {"userid_list": ["zhangsan"]},
    }
    assert api.post("externalcontact/groupchat/statistic", body)["items"] == []
    wecom.add_window_stats("zhangsan", date(2025, 3, 7), date(2025, 3, 8), chat_total=5)
    items = api.post("externalcontact/groupchat/statistic", body)["items"]
    assert items[0]["data"]["chat_total"] == 5


def test_45009_blocks_the_api_for_60_seconds(api: Api, wecom: FakeWeCom, clock: FakeClock) -> None:
    wecom.fail_next("externalcontact/add_msg_template", 45009)
    assert api.mass(text={"content": "a"})["errcode"] == 45009
    clock.sleep(4)
    assert api.mass(text={"content": "a"})["errcode"] == 45009
    clock.sleep(57)
    assert api.mass(text={"content": "a"})["errcode"] == 0


@pytest.mark.parametrize("errcode", [48002, 60020])
def test_setup_errors_stick_until_fixed(api: Api, wecom: FakeWeCom, errcode: int) -> None:
    wecom.misconfigure(errcode)
    assert api.mass(text={"content": "a"})["errcode"] == errcode
    assert api.mass(text={"content": "a"})["errcode"] == errcode
    wecom.misconfigure(None)
    assert api.mass(text={"content": "a"})["errcode"] == 0


@pytest.mark.parametrize("errcode", [40001, 40013])
def test_wrong_secret_or_corp_id_refuses_the_token(
    api: Api, wecom: FakeWeCom, errcode: int
) -> None:
    wecom.misconfigure(errcode)
    query = {"corpid": wecom.corpid, "corpsecret": wecom.corpsecret}
    assert api.http.get("gettoken", params=query).json()["errcode"] == errcode


def test_minus_one_after_effect_has_created_the_task(api: Api, wecom: FakeWeCom) -> None:
    wecom.fail_after_effect("externalcontact/add_msg_template", -1)
    assert api.mass(text={"content": "a"})["errcode"] == -1
    assert len(wecom.templates) == 1


def test_remind_three_times_a_day_then_refused_and_cancel_stops_confirmation(
    api: Api, wecom: FakeWeCom
) -> None:
    msgid = api.mass(text={"content": "a"})["msgid"]
    codes = [
        api.post("externalcontact/remind_groupmsg_send", {"msgid": msgid})["errcode"]
        for _ in range(4)
    ]
    assert codes == [0, 0, 0, 41063]
    assert api.post("externalcontact/cancel_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    assert wecom.confirm(msgid) == {}
