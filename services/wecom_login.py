"""WeCom login (企业微信 OAuth2) for the console: the in-app authorization on phones and the
QR-code login on desktops both end with a one-time `code`, which `auth/getuserinfo` turns into
a WeCom userid; the account whose `wecom_userid` it is logs in.

The access_token comes from the workspace database's shared cache (services.channels
`shared_wecom_client`), as sending's does: logins and the workers fetch one token per app.
The login app is `wecom_agent_id` with `wecom_login_secret` when set (else the corp secret);
a different secret is a different cache entry. A rejected token (40014/42001) is fetched again
once by the client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from pydantic import SecretStr
from sqlmodel import select

from services.accounts import User, user_of
from services.channels import shared_wecom_client
from services.web_store import Account
from services.workspace import Workspace
from sop_models.errors import (
    AccountError,
    ChannelError,
    WeComApiError,
    WeComSetupError,
    WeComTokenRejected,
    one_line,
    redact,
)
from sop_models.i18n import tr

OAUTH = "https://open.weixin.qq.com/connect/oauth2/authorize"
QR_LOGIN = "https://login.work.weixin.qq.com/wwlogin/sso/login"


def _login_secret(ws: Workspace) -> SecretStr | None:
    """The login app's secret: `wecom_login_secret`, else the corp secret sending uses."""
    return ws.settings.wecom_login_secret or ws.settings.wecom_corp_secret


def _corp(ws: Workspace) -> tuple[str, str]:
    """The login app's corp id and secret."""
    settings, secret = ws.settings, _login_secret(ws)
    if not settings.wecom_corp_id or secret is None:
        raise AccountError("WeCom login needs wecom_corp_id and wecom_corp_secret in sopflow.toml")
    return settings.wecom_corp_id.strip(), secret.get_secret_value().strip()


def login_ways(ws: Workspace) -> tuple[bool, bool]:
    """Which WeCom logins the workspace is set up for: (in-app authorization, QR code)."""
    settings = ws.settings
    in_app = bool(settings.wecom_corp_id and _login_secret(ws) is not None)
    return in_app, in_app and bool(settings.wecom_agent_id)


def authorize_url(ws: Workspace, *, redirect_uri: str, state: str, qr: bool) -> str:
    """Where to send the browser: the QR-code login (desktop) or in-app authorization (phone)."""
    corp_id, _ = _corp(ws)
    if qr:
        if not ws.settings.wecom_agent_id:
            raise AccountError("WeCom QR-code login needs wecom_agent_id in sopflow.toml")
        query = {
            "login_type": "CorpApp",
            "appid": corp_id,
            "agentid": ws.settings.wecom_agent_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{QR_LOGIN}?{urlencode(query, quote_via=quote)}"
    query = {
        "appid": corp_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": state,
    }
    return f"{OAUTH}?{urlencode(query, quote_via=quote)}#wechat_redirect"


def identifies_visitors(ws: Workspace) -> bool:
    """Whether WeCom is configured, so tracked links can ask it who clicked."""
    return bool(ws.settings.wecom_corp_id and _login_secret(ws) is not None)


def visitor_for_code(ws: Workspace, *, code: str) -> str | None:
    """Who clicked a tracked link, from WeCom's in-app authorization `code`: the userid of a
    member of the company, or the external_userid (else openid) of a customer; None when
    WeCom refuses the code or names nobody (the click is then counted by address)."""
    try:
        answer = _userinfo(ws, code)
    except AccountError:
        return None
    for field in ("userid", "UserId", "external_userid", "openid", "OpenId"):
        if answer.get(field):
            return str(answer[field])
    return None


def _userinfo(ws: Workspace, code: str) -> dict[str, Any]:
    """`auth/getuserinfo` for a one-time OAuth2 code (the answer); AccountError when WeCom
    refuses the code or cannot be asked."""
    corp_id, secret = _corp(ws)
    try:
        with shared_wecom_client(ws, ws.engine, credentials=(corp_id, secret)) as client:
            reply = client.call(
                "auth/getuserinfo", method="GET", query={"code": code}, idempotent=True
            )
    except (WeComTokenRejected, WeComSetupError) as err:
        raise AccountError(
            tr("WeCom login failed: {error}").format(error=redact(one_line(err), [secret]))
        ) from None
    except WeComApiError as err:  # the code itself: unknown, used or expired
        raise AccountError(
            tr("WeCom login refused: errcode {code}").format(code=err.errcode)
        ) from None
    except ChannelError as err:  # unreachable, no answer, rate limited
        raise AccountError(
            tr("WeCom login failed: {error}").format(error=redact(one_line(err), [secret]))
        ) from None
    return dict(reply.payload)


def user_for_code(ws: Workspace, *, code: str) -> User:
    """The active account of the WeCom user a login `code` names."""
    answer = _userinfo(ws, code)
    userid = str(answer.get("userid") or answer.get("UserId") or "")
    if not userid:
        raise AccountError(tr("WeCom login: this WeCom user is not a member of the company"))
    with ws.session() as session:
        row = session.exec(select(Account).where(Account.wecom_userid == userid)).first()
        if row is None or row.disabled:
            raise AccountError(
                tr("WeCom user {userid} has no active console account").format(userid=userid)
            )
        return user_of(row)
