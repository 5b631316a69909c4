"""Which links of an SOP's messages are sent as tracked `/r/TOKEN` links (click counting).

Declared on the SOP as `track_links`, absent by default (nothing is rewritten):

    track_links: true                  # every http(s) link of every message (text, news card)
    track_links:                       # or per link: only links starting with these
      links: [https://shop.example.com/, https://mp.weixin.qq.com/s/]

Rewriting happens when a message is sent (services/tracked_links.py), under the workspace's
`console_url`; each click is then a `click` event carrying the message key, from which the
click_rate KPI is computed (sop_models/kpis.py).
"""

from __future__ import annotations

from sop_models.values import Items, SopModel


class LinkTracking(SopModel):
    """Links to send as tracked links: all of them, or those starting with one of `links`."""

    all: bool = False
    """Track every http(s) link in the SOP's messages."""
    links: Items[str] = ()
    """Track the links that start with one of these, e.g. https://shop.example.com/."""


def tracks(declared: bool | LinkTracking | None, url: str) -> bool:
    """Whether `url` is sent as a tracked link under an SOP's `track_links` declaration."""
    if declared is None or declared is False:
        return False
    if declared is True:
        return True
    return declared.all or any(url.startswith(prefix) for prefix in declared.links if prefix)
