"""/_mock/report: the coverage document as one readable HTML page."""

from __future__ import annotations

import html
from typing import Any

LIVE_LINKS = {"JSON": ("coverage", "/_mock/coverage"), "journal": ("requests", "/_mock/requests")}
"""Where /_mock/report points: the live documents, relative to it."""


def render_report(coverage: dict[str, Any], links: dict[str, tuple[str, str]] | None = None) -> str:
    """The coverage document as one self-contained HTML page: /_mock/report (``links`` the live
    documents), or a saved ``coverage.html`` (``links`` only to files saved beside it, so every
    link works opened from disk)."""
    e = html.escape
    links = LIVE_LINKS if links is None else links
    footer = " &middot; ".join(
        f'{e(label)}: <a href="{e(href)}">{e(text)}</a>' for label, (href, text) in links.items()
    )
    rows = []
    for op in coverage["operations"]:
        statuses = ", ".join(f"{s}&times;{n}" for s, n in op["statuses"].items()) or "&mdash;"
        css = "hit" if op["calls"] else "miss"
        if op["violations"]:
            css += " bad"
        rows.append(
            f'<tr class="{css}"><td><code>{e(op["operationId"])}</code></td><td>{e(op["method"])}</td>'
            f"<td><code>{e(op['path'])}</code></td><td>{op['calls']}</td><td>{statuses}</td>"
            f"<td>{op['violations']}</td></tr>"
        )
    violations = [
        f"<li><code>{e(v['method'])} {e(v['path'])}</code> &rarr; {v['status']} "
        f"({e(str(v['operationId']))}): {e('; '.join(v['violations']))}</li>"
        for v in coverage["violations"]
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowdock-mock contract coverage</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .25em .75em; border-bottom: 1px solid #ddd; text-align: left; }}
tr.miss td {{ color: #999; }} tr.bad td {{ background: #fdd; }} code {{ font-size: .95em; }}
</style></head><body>
<h1>flowdock-mock contract coverage</h1>
<p><strong>{coverage["operations_exercised"]} of {coverage["operations_total"]}</strong> operations exercised
({coverage["percent"]}%) by {coverage["requests"]} requests; {coverage["unmatched_requests"]} matched no operation;
{len(coverage["violations"])} recent requests violated the contract.</p>
<table><thead><tr><th>operationId</th><th>method</th><th>path</th><th>calls</th><th>statuses</th>
<th>violations</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Requests that violated the contract</h2>
<ul>{"".join(violations) or "<li>none</li>"}</ul>
{f"<p>{footer}</p>" if footer else ""}
</body></html>
"""
