"""The report's inline stylesheet: system CJK fonts, no web fonts, readable on paper too."""

from __future__ import annotations

CSS = """
:root {
  --ink: #1f2328; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --bg: #f5f6f8;
  --green: #2ca02c; --red: #d62728; --amber: #e6a100;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--ink); line-height: 1.55; font-size: 15px;
  font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", "Hiragino Sans GB",
    "Source Han Sans SC", sans-serif;
}
main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }
small, .en { color: var(--muted); font-size: 0.78em; font-weight: normal; }
h1 { font-size: 26px; margin: 2px 0 6px; }
h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 6px; }
code, pre { font-family: "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 20px; margin: 0 0 18px; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.04);
}
.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 16px; }
.kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: 0.05em; }
.meta { margin: 0; color: var(--muted); font-size: 13px; }
.badge {
  display: inline-block; padding: 8px 16px; border-radius: 999px; color: #fff;
  font-weight: 700; font-size: 18px; white-space: nowrap;
}
.badge small { color: rgba(255, 255, 255, 0.85); }
.badge-promote { background: var(--green); }
.badge-reject { background: var(--red); }
.badge-continue { background: var(--amber); }
.badge-none { background: #9ca3af; }
.changelog { font-size: 16px; margin: 14px 0 0; padding: 10px 14px; background: #f0f7ff;
  border-left: 4px solid #1f77b4; border-radius: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 0 0 10px; padding: 0;
  list-style: none; font-size: 14px; }
.srm-ok { color: var(--green); font-weight: 600; }
.srm-bad { color: var(--red); font-weight: 700; }
.reasons { margin: 6px 0 14px; padding-left: 22px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; margin: 6px 0 14px; }
th, td { text-align: left; padding: 7px 9px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #f9fafb; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.good { color: var(--green); }
.bad { color: var(--red); }
.alias { display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 4px;
  padding: 0 6px; margin: 0 4px 2px 0; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  margin-right: 6px; vertical-align: baseline; }
figure { margin: 0 0 18px; break-inside: avoid; }
figcaption { margin: 0 0 4px; font-size: 15px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font-family: inherit; }
tr.diff-row td { border-bottom: 2px solid var(--line); padding-top: 0; }
details summary { cursor: pointer; color: #1f5fa8; font-size: 13px; }
pre.diff { margin: 6px 0 0; padding: 8px 0; background: #fbfbfb; border: 1px solid var(--line);
  border-radius: 6px; font-size: 12.5px; overflow-x: auto; white-space: pre; }
pre.diff span { display: block; padding: 0 10px; }
pre.diff .d-add { background: #e6ffec; color: #116329; }
pre.diff .d-del { background: #ffebe9; color: #a40e26; }
pre.diff .d-hunk { color: #0550ae; background: #f0f6ff; }
pre.diff .d-file { color: var(--muted); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
@page { margin: 12mm; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .card { box-shadow: none; border: none; border-top: 1px solid #bbb; border-radius: 0;
    padding: 10px 0; break-inside: auto; }
  table, figure, tr { break-inside: avoid; }
  .badge { border: 1px solid #000; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  pre.diff { white-space: pre-wrap; }
  /* Collapsed diffs still print (browsers that know ::details-content). */
  details::details-content { content-visibility: visible; display: block; }
}
"""
