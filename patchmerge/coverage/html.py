"""coverage.html: one self-contained page (inline CSS and JS, nothing fetched) a person can filter."""

from __future__ import annotations

from html import escape
from typing import Any

from patchmerge.coverage.view import percent, rank_name, targets_view

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fbfbfd}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #dde1e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f6;position:sticky;top:0}
td.num,th.num{text-align:right}code{font:12px ui-monospace,monospace}
tr.hit td.state{background:#d6f5dc;color:#14532d}tr.miss td.state{background:#fde2e1;color:#7f1d1d}
tr.orig td.state{background:#dde8fb;color:#1e3a8a}tr.miss{background:#fff4f4}tr.hit{background:#f5fcf6}
td code{word-break:break-word}td.state{white-space:nowrap;font-weight:600}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde1e8;padding:10px 14px;
min-width:200px}.card b{font-size:22px}.bar{height:8px;background:#fde2e1;margin-top:6px}
.bar span{display:block;height:8px;background:#22a447}
.tools{display:flex;gap:14px;align-items:center;margin:8px 0}.tools input[type=search]{width:360px;padding:4px}
.muted{color:#6b7280}
"""

# Filters the per-target table by a text box (every word must occur) and by state, also preset from the URL's
# hash; counts what is shown.
JS = """
(function(){
  var box=document.getElementById('filter'),rows=document.querySelectorAll('#targets tbody tr'),
      count=document.getElementById('shown');
  function apply(){
    var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean),
        state=document.querySelector('input[name=state]:checked').value,shown=0;
    rows.forEach(function(r){
      var text=r.getAttribute('data-text'),ok=words.every(function(w){return text.indexOf(w)>=0;});
      if(state==='hit')ok=ok&&r.classList.contains('hit');
      if(state==='miss')ok=ok&&r.classList.contains('miss');
      r.style.display=ok?'':'none';if(ok)shown++;
    });
    count.textContent=shown+' of '+rows.length+' rows';
  }
  // a link can carry a filter: coverage.html#state=miss&q=parallel_state
  var hash=new URLSearchParams(location.hash.slice(1));
  if(hash.get('q'))box.value=hash.get('q');
  var preset=document.querySelector('input[name=state][value="'+hash.get('state')+'"]');
  if(preset)preset.checked=true;
  box.addEventListener('input',apply);
  document.querySelectorAll('input[name=state]').forEach(function(b){b.addEventListener('change',apply);});
  apply();
})();
"""


def render_html(document: dict[str, Any]) -> str:
    d = document
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>patchmerge coverage</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>patchmerge coverage</h1>",
        '<div class="cards">',
        _card("patches hit", d["patches_hit"], d["patches_total"], d["patch_ratio"]),
        _card("modules hit", d["modules_hit"], d["modules_total"], d["module_ratio"]),
        f'<div class="card">damaged probe lines<br><b>{d["lines_damaged"]}</b></div>',
        f'<div class="card">originals run under a router<br><b>{len(d["originals_hit"])}</b></div>',
        "</div>",
        "<h2>Per target</h2>",
        '<div class="tools"><input type="search" id="filter" placeholder="filter: target, patch, module, rank">',
        '<label><input type="radio" name="state" value="all" checked> all</label>',
        '<label><input type="radio" name="state" value="hit"> hit</label>',
        '<label><input type="radio" name="state" value="miss"> not hit</label>',
        '<span id="shown" class="muted"></span></div>',
        '<table id="targets"><thead><tr><th>state</th><th>target</th><th>branch</th><th>patch_import</th>'
        "<th>module</th><th>ranks</th></tr></thead><tbody>",
    ]
    for target in targets_view(d):
        for row in target["patches"]:
            branch = "#" + row["id"].rpartition("#")[2]
            state = "hit" if row["hit"] else "miss"
            parts.append(_row(target, branch, row["patch_import"], state, row["ranks"]))
        if target["original"] is not None:
            parts.append(_row(target, "original", "", "orig", target["original"]))
    parts.append("</tbody></table>")

    parts += ["<h2>Per rank</h2>", '<table><thead><tr><th>rank</th><th class="num">patches hit</th>']
    parts.append('<th class="num">originals run</th></tr></thead><tbody>')
    for r in d["ranks"]:
        parts.append(
            f"<tr><td>{escape(rank_name(r['rank']))}</td><td class=num>{r['patches_hit']}</td>"
            f"<td class=num>{r['originals_hit']}</td></tr>"
        )
    parts.append("</tbody></table>")

    if d["ids_not_in_json"]:
        parts.append("<h2>Probe ids not in the patch JSON</h2><ul>")
        parts += [f"<li><code>{escape(pid)}</code></li>" for pid in d["ids_not_in_json"]]
        parts.append("</ul>")

    parts += ["<h2>Logs</h2>", "<table><thead><tr><th>log</th><th>format</th><th class=num>probes</th>"]
    parts.append("<th class=num>damaged</th><th>first damaged lines</th></tr></thead><tbody>")
    for log in d["logs"]:
        examples = "<br>".join(f"{e['line']}: <code>{escape(e['excerpt'])}</code>" for e in log["damaged_examples"])
        parts.append(
            f"<tr><td><code>{escape(log['path'])}</code></td><td>{escape(log['format'])}</td>"
            f"<td class=num>{log['probes']}</td><td class=num>{log['damaged']}</td><td>{examples}</td></tr>"
        )
    parts += ["</tbody></table>", f"<script>{JS}</script>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _card(label: str, hit: int, total: int, ratio: float) -> str:
    width = f"{ratio * 100:.1f}%"
    return (
        f'<div class="card">{label}<br><b>{hit}</b> / {total} ({percent(ratio)})'
        f'<div class="bar"><span style="width:{width}"></span></div></div>'
    )


def _row(target: dict[str, Any], branch: str, patch_import: str, state: str, ranks: list[str]) -> str:
    label = {"hit": "hit", "miss": "not hit", "orig": "original ran"}[state]
    css = "hit orig" if state == "orig" else state  # an original that ran shows under "hit"
    ranks_text = ", ".join(ranks) if ranks else ("" if state == "miss" else "unknown")
    text = " ".join((target["target"], branch, patch_import, target["module"], ranks_text, label)).lower()
    return (
        f'<tr class="{css}" data-text="{escape(text)}"><td class="state">{label}</td>'
        f'<td><code>{escape(target["target"])}</code></td>'
        f"<td>{escape(branch)}</td><td><code>{escape(patch_import)}</code></td>"
        f'<td><code>{escape(target["module"])}</code></td><td>{escape(ranks_text)}</td></tr>'
    )
