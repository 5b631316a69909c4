"""The report in a real headless Chromium: the DOM holds the Chinese text, the pixels hold charts.

Needs the Debian package `chromium` (and `fonts-noto-cjk` for Chinese glyphs); `./dev test`
installs both. The tests fail, never skip, when they are missing.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from report import write_report
from report.forest import DECISION_COLOURS
from report.svg import ALERT_COLOUR, PALETTE
from tests.support.report_samples import ADVICE, CHANGELOG, sample_report

pytestmark = pytest.mark.e2e

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_BACKGROUND = (0xF5, 0xF6, 0xF8)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of the Chromium binary; a missing browser is a failure, not a skip."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)  # fmt: skip
    if path is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (./dev test does)")
    return path


def shoot(chromium: str, page: Path, tmp_path: Path, size: str) -> tuple[np.ndarray, str]:
    """Load `page` in headless Chromium; returns the screenshot's RGB pixels and the DOM."""
    png = tmp_path / f"{page.stem}.png"
    cmd = [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}"]
    cmd += ["--dump-dom", f"--window-size={size}", page.resolve().as_uri()]
    home = tmp_path / "home"  # Chromium keeps crash-report settings and a dconf cache there
    env = {**os.environ, "HOME": str(home)}
    env |= {"XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return decode_png(png.read_bytes()), done.stdout


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced RGB(A) PNG as an (h, w, 3) array: zlib + struct, no Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, stride + 1)
    out = np.empty((height, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for r in range(height):
        kind, line = rows[r, 0], rows[r, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: a running sum per channel along the row
            cur = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 2:  # Up
            cur = line + prev
        else:
            cur = np.frombuffer(_unfilter(int(kind), line.tobytes(), prev.tobytes(), bpp), np.uint8)
        out[r] = cur
        prev = cur
    return out.reshape(height, width, bpp)[:, :, :3]


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    """Average (3) and Paeth (4) filters, byte by byte: each byte needs its decoded left byte."""
    cur = bytearray(line)
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 3:
            cur[i] = (cur[i] + ((a + b) >> 1)) & 255
            continue
        c = prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[i] = (cur[i] + pred) & 255
    return bytes(cur)


def near(pixels: np.ndarray, colour: str, tolerance: int = 24) -> np.ndarray:
    """Mask of pixels within `tolerance` of a #rrggbb colour on every channel."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.abs(pixels.astype(np.int16) - rgb).max(axis=2) <= tolerance


def test_report_renders_in_chromium_with_text_and_charts_in_version_colours(
    chromium: str, tmp_path: Path
) -> None:
    page = write_report(sample_report(), tmp_path / "report.html")
    pixels, dom = shoot(chromium, page, tmp_path, "1280,2400")

    for text in ("新人欢迎 SOP", "打开率", "推广", "预警日", "版本历史", ADVICE, CHANGELOG):
        assert text in dom, text
    assert dom.count("<svg") == 3 and dom.count("<details") == 3

    assert pixels.shape == (2400, 1280, 3)
    assert tuple(pixels[2, 2]) == PAGE_BACKGROUND, "decoded page background"
    packed = pixels.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
    assert len(np.unique(packed)) > 1000, "screenshot looks blank"
    masks = {c: near(pixels, c) for c in (PALETTE[0], PALETTE[1])}
    for colour, mask in masks.items():
        ys, xs = np.nonzero(mask)
        assert mask.sum() > 1000, f"too few {colour} pixels: {mask.sum()}"
        assert xs.max() - xs.min() > 400 and ys.max() - ys.min() > 100, f"{colour} is no line"
    # A chart is ~320 px tall: bands of 300 rows holding long runs of both version colours.
    per_row = [masks[c].sum(axis=1) for c in (PALETTE[0], PALETTE[1])]
    bands = [y for y in range(0, 2100, 100) if all(r[y : y + 300].sum() > 800 for r in per_row)]
    assert bands and bands[-1] - bands[0] >= 300, f"two KPI charts with both versions: {bands}"
    assert near(pixels, ALERT_COLOUR).sum() > 150, "alert days not marked in red"
    assert near(pixels, DECISION_COLOURS["PROMOTE"]).sum() > 300, "PROMOTE badge/CI bar missing"


def test_chinese_text_renders_as_glyphs_not_boxes(chromium: str, tmp_path: Path) -> None:
    """Missing CJK fonts draw every character as the same box, so two different words match."""
    page = tmp_path / "glyphs.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#fff;'
        'font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif}'
        "div{position:absolute;left:10px;font-size:40px;line-height:60px;height:60px}"
        "#a{top:0}#b{top:100px}</style></head><body>"
        '<div id="a">打开率推广</div><div id="b">预警版本历</div></body></html>',
        encoding="utf-8",
    )
    pixels, _ = shoot(chromium, page, tmp_path, "400,200")
    first, second = pixels[0:60].astype(np.int16), pixels[100:160].astype(np.int16)
    assert (first < 128).any() and (second < 128).any(), "no text drawn"
    differing = (np.abs(first - second).max(axis=2) > 64).sum()
    assert differing > 500, "Chinese renders as boxes: apt-get install -y fonts-noto-cjk"
