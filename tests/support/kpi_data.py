"""Small hand-computed event data for KPI tests, and a store holding it.

Data set A (window 2026-08-01 .. 08-10, end 08-11 exclusive):
  一群 v1.0: A B C join 08-01 10:00, D joins 08-03 09:00, C leaves 08-03 20:00.
      08-03: delivered 4, opens A B, messages A×3 B×1, orders A 100 B 50, cost 30.
      08-04: delivered 3, open A, messages D×2, order A 60.
  二群 v2.0: E F G join 08-02 10:00; E leaves 08-04 12:00 and rejoins 18:00.
      08-03: delivered 2, open E, messages E F, orders F 80 + 40, cost 60.
      08-04: delivered 2 (no opens), message F.
  三群 v1.0: H I join 08-05 10:00. 08-05: delivered 2, open H, message H, order I 30, cost 10.
Member-days: 一群 3+3+4+3×7 = 31, 二群 3×9 = 27, 三群 2×6 = 12.
"""

from __future__ import annotations

from pathlib import Path

from engine.events import EventStore

HEAD = "group,member,time,event,value,sop_version\n"
DATA_A = """一群,A,2026-08-01T10:00:00+08:00,join,,1.0
一群,B,2026-08-01T10:00:00+08:00,join,,1.0
一群,C,2026-08-01T10:00:00+08:00,join,,1.0
一群,D,2026-08-03T09:00:00+08:00,join,,1.0
一群,,2026-08-03T10:00:00+08:00,delivered,4,1.0
一群,A,2026-08-03T10:05:00+08:00,open,,1.0
一群,B,2026-08-03T10:06:00+08:00,open,,1.0
一群,A,2026-08-03T11:00:00+08:00,message,,1.0
一群,A,2026-08-03T11:01:00+08:00,message,,1.0
一群,A,2026-08-03T11:02:00+08:00,message,,1.0
一群,B,2026-08-03T11:03:00+08:00,message,,1.0
一群,A,2026-08-03T20:00:00+08:00,order,100,1.0
一群,B,2026-08-03T20:10:00+08:00,order,50,1.0
一群,,2026-08-03T21:00:00+08:00,cost,30,1.0
一群,C,2026-08-03T20:00:00+08:00,leave,,1.0
一群,,2026-08-04T10:00:00+08:00,delivered,3,1.0
一群,A,2026-08-04T10:30:00+08:00,open,,1.0
一群,D,2026-08-04T12:00:00+08:00,message,,1.0
一群,D,2026-08-04T12:01:00+08:00,message,,1.0
一群,A,2026-08-04T23:59:00+08:00,order,60,1.0
二群,E,2026-08-02T10:00:00+08:00,join,,2.0
二群,F,2026-08-02T10:00:00+08:00,join,,2.0
二群,G,2026-08-02T10:00:00+08:00,join,,2.0
二群,,2026-08-03T10:00:00+08:00,delivered,2,2.0
二群,E,2026-08-03T10:01:00+08:00,open,,2.0
二群,E,2026-08-03T11:00:00+08:00,message,,2.0
二群,F,2026-08-03T11:00:00+08:00,message,,2.0
二群,F,2026-08-03T19:00:00+08:00,order,80,2.0
二群,F,2026-08-03T19:30:00+08:00,order,40,2.0
二群,,2026-08-03T21:00:00+08:00,cost,60,2.0
二群,E,2026-08-04T12:00:00+08:00,leave,,2.0
二群,E,2026-08-04T18:00:00+08:00,join,,2.0
二群,,2026-08-04T10:00:00+08:00,delivered,2,2.0
二群,F,2026-08-04T11:00:00+08:00,message,,2.0
三群,H,2026-08-05T10:00:00+08:00,join,,1.0
三群,I,2026-08-05T10:00:00+08:00,join,,1.0
三群,,2026-08-05T11:00:00+08:00,delivered,2,1.0
三群,H,2026-08-05T11:10:00+08:00,open,,1.0
三群,H,2026-08-05T12:00:00+08:00,message,,1.0
三群,I,2026-08-05T20:00:00+08:00,order,30,1.0
三群,,2026-08-05T21:00:00+08:00,cost,10,1.0
"""


def make_store(tmp_path: Path, body: str) -> EventStore:
    """An event store under `tmp_path` holding `body` (CSV rows without the header)."""
    src = tmp_path / "events.csv"
    src.write_text(HEAD + body, encoding="utf-8")
    store = EventStore(tmp_path / "store")
    store.import_file(src)
    return store
