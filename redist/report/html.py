"""A self-contained HTML report: tables, embedded figures and provenance in one file.

The page needs nothing but itself: the style sheet is inline, figures are PNG
``data:`` URIs, there is no script and no link to another host, so it can be
mailed, attached to a logbook or opened offline. :func:`report_html` turns
:class:`Section` objects into the page; :func:`section_for` builds a section from
a saved result through the result-kind registry (:mod:`redist.report.registry`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tables import Table

__all__ = ["Section", "report_html", "section_for", "table_html"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass
class Section:
    """One result in a report.

    Attributes
    ----------
    title : str
        Heading.
    tables : list of Table
        Summary tables.
    figures : list of (str, bytes)
        ``(caption, PNG bytes)``.
    provenance : mapping
        Command, input hashes, versions, time (shown under the section).
    source : str
        The result file the section was made from.
    """

    title: str
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;
background:#fff;line-height:1.45}
header{background:#14213d;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.45rem}header p{margin:.3rem 0 0;opacity:.85;font-size:.9rem}
main{max-width:1180px;margin:0 auto;padding:1rem 2rem 3rem}
nav ul{padding-left:1.2rem}section{border-top:1px solid #ddd;margin-top:1.8rem;padding-top:.6rem}
h2{font-size:1.25rem;margin:.4rem 0}h3{font-size:1.02rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0 .6rem;font-size:.88rem}
th,td{padding:.22rem .7rem;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
th{background:#f3f4f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
tr.warn td{background:#fff4e0}dl.summary{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;
margin:.3rem 0;font-size:.88rem}dl.summary dt{color:#555}dl.summary dd{margin:0}
p.note{font-size:.84rem;color:#555;margin:.15rem 0}
figure{margin:1rem 0;display:inline-block;max-width:100%}figure img{max-width:100%;height:auto;
border:1px solid #eee}figcaption{font-size:.84rem;color:#555}
details{font-size:.82rem;color:#444;margin-top:.6rem}code{font-size:.82rem;word-break:break-all}
.scroll{overflow-x:auto}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def table_html(table: Table, *, title: bool = True) -> str:
    r"""One :class:`Table` as HTML (caption, summary list, table, notes).

    Examples
    --------
    >>> t = Table("fit", ("name", "value"), [("cVL", "11.5")], numeric=(False, True))
    >>> '<td class="num">11.5</td>' in table_html(t)
    True
    """
    out = [f"<h3>{_e(table.title)}</h3>"] if title else []
    if table.summary:
        out.append('<dl class="summary">')
        out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in table.summary]
        out.append("</dl>")
    num = table.numeric or (False,) * len(table.columns)
    out.append('<div class="scroll"><table><thead><tr>')
    out += [f"<th>{_e(c)}</th>" for c in table.columns]
    out.append("</tr></thead><tbody>")
    for k, row in enumerate(table.rows):
        warn = k < len(table.warn) and table.warn[k]
        out.append('<tr class="warn">' if warn else "<tr>")
        for j, cell in enumerate(row):
            cls = ' class="num"' if j < len(num) and num[j] else ""
            out.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    out += [f'<p class="note">{_e(n)}</p>' for n in table.notes]
    return "".join(out)


def _provenance_html(prov: Mapping[str, Any], source: str) -> str:
    if not prov and not source:
        return ""
    rows = []
    if source:
        rows.append(("result file", source))
    if prov.get("command"):
        rows.append(("command", prov["command"]))
    for name, info in dict(prov.get("inputs", {})).items():
        rows.append((f"input {name}", f"sha256 {info.get('sha256', '?')}"))
    if prov.get("versions"):
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in prov["versions"].items())))
    if prov.get("created_utc"):
        rows.append(("created (UTC)", prov["created_utc"]))
    body = "".join(f"<dt>{_e(k)}</dt><dd><code>{_e(v)}</code></dd>" for k, v in rows)
    return f'<details open><summary>Provenance</summary><dl class="summary">{body}</dl></details>'


def report_html(
    sections: Sequence[Section], *, title: str = "redist report", provenance: Mapping[str, Any] | None = None
) -> str:
    """The whole page.

    Parameters
    ----------
    sections : sequence of Section
        One per result.
    title : str
        Page title.
    provenance : mapping, optional
        Provenance of the report itself (the ``redist report`` command).
    """
    anchors = [f"s{k}" for k in range(len(sections))]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing may be fetched: no scripts, no remote images, fonts or styles
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>{len(sections)} result(s), made with redist</p></header><main>",
    ]
    if len(sections) > 1:
        parts.append("<nav><ul>")
        parts += [f'<li><a href="#{a}">{_e(s.title)}</a></li>' for a, s in zip(anchors, sections)]
        parts.append("</ul></nav>")
    for a, s in zip(anchors, sections):
        parts.append(f'<section id="{a}"><h2>{_e(s.title)}</h2>')
        parts += [table_html(t, title=t.title != s.title) for t in s.tables]
        for caption, png in s.figures:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
                f"<figcaption>{_e(caption)}</figcaption></figure>"
            )
        parts.append(_provenance_html(s.provenance, s.source))
        parts.append("</section>")
    if provenance:
        parts.append(f"<section><h2>This report</h2>{_provenance_html(provenance, '')}</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def section_for(
    doc: Mapping[str, Any],
    *,
    source: str = "",
    figures: bool = True,
    extra_figures: Sequence[tuple[str, bytes]] = (),
) -> Section:
    """A report section for a result document (dispatch on its ``"kind"``)."""
    from . import registry
    from .figures import figure_bytes

    tag = registry.kind_of(doc, source or "result")
    kind = registry.get(tag)
    obj = kind.from_dict(doc)
    figs: list[tuple[str, bytes]] = []
    if figures and kind.figures is not None:
        figs = [(name, figure_bytes(fig)) for name, fig in kind.figures(obj)]
    figs += list(extra_figures)
    return Section(
        title=kind.title,
        tables=kind.tables(obj),
        figures=figs,
        provenance=dict(doc.get("provenance", {})),
        source=source,
    )
