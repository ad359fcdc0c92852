"""The inline CSS and JavaScript of the HTML report (no fonts, scripts or styles from the network)."""

CSS = """
:root { --fg: #1d2330; --muted: #5d6675; --line: #e3e6ec; --card: #ffffff; --bg: #f5f6f8;
        --towards: rgb(255, 0, 81); --against: rgb(0, 138, 250); }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 0; }
.meta, .muted { color: var(--muted); font-size: 13px; }
.status { margin: 12px 0; padding: 8px 12px; border-radius: 6px; background: #fff4e5; border: 1px solid #f5c27a; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 12px; margin: 18px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 24px; font-weight: 650; margin: 2px 0; }
.card p { margin: 0; font-size: 13px; color: var(--muted); }
.card p.headline { font-size: 14px; color: var(--fg); margin: 4px 0; }
.baseline { margin: 18px 0 0; } .baseline table { margin-top: 8px; }
.baseline tr.better td { background: #e6f4ea; } .baseline tr.worse td { background: #fde7e9; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend { display: flex; align-items: center; gap: 10px; font-size: 13px; color: var(--muted); margin: 6px 0 16px; }
.legend .bar { width: 220px; height: 12px; border-radius: 3px; border: 1px solid var(--line);
               background: linear-gradient(to right, var(--against), #fff, var(--towards)); }
article { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 14px 0; padding: 14px 16px; }
article.failed { border-color: #f0a0a0; }
article > header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; margin-bottom: 10px; }
.chip { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #eef0f4; }
.chip.proxy { background: #e6f4ea; } .chip.oracle { background: #ede7f6; } .chip.miss { background: #fde7e9; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 14px; }
figure { margin: 0; }
figcaption { font-size: 12px; font-weight: 600; color: var(--muted); margin-bottom: 4px; }
.heat { margin: 0; line-height: 2.05; font-size: 15px; }
.u { padding: 2px 3px; border-radius: 3px; cursor: default; }
.u.hl { outline: 2px solid var(--fg); outline-offset: 1px; }
.uncertain { font-style: italic; text-decoration: underline dotted; }
.top { font-size: 12px; color: var(--muted); margin-top: 4px; }
.top b { font-weight: 600; color: var(--fg); }
.error { color: #b00020; }
.plot img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: #1d2330; color: #fff; font-size: 12px;
       padding: 4px 8px; border-radius: 4px; white-space: nowrap; box-shadow: 0 2px 6px rgba(0,0,0,.25); }
.expl.level { margin-top: 12px; }
.grp { margin: 2px 0 6px; }
.lab { font-size: 12px; font-weight: 600; color: var(--muted); margin-right: 4px; }
.qa { margin: 2px 0; } .qa b { font-size: 12px; color: var(--muted); margin-right: 6px; }
.rule { font-size: 13px; margin: 4px 0 0; } .rule-card { margin-bottom: 12px; }
footer { margin-top: 28px; font-size: 12px; color: var(--muted); }
"""

# Hover (or focus) a word: a tooltip with its value, and the same word outlined in the other
# explanation of the instance (within its own level, data-scope, for generated answers). The title attributes serve readers without JavaScript; with it,
# they move to data-t so that the browser's own tooltip does not double ours.
JS = """
(function () {
  var tip = document.getElementById('tip');
  document.querySelectorAll('.u[title]').forEach(function (el) {
    el.setAttribute('data-t', el.getAttribute('title'));
    el.removeAttribute('title');
  });
  function mark(el, on) {
    var art = el.closest('[data-scope]') || el.closest('article');
    if (!art) return;
    art.querySelectorAll('.u[data-i="' + el.getAttribute('data-i') + '"]').forEach(function (u) {
      u.classList.toggle('hl', on);
    });
  }
  function show(el) {
    tip.textContent = el.textContent + ': ' + el.getAttribute('data-t');
    tip.hidden = false;
    var r = el.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
    var x = Math.min(Math.max(4, r.left + r.width / 2 - w / 2), window.innerWidth - w - 4);
    var y = r.top - h - 6 < 4 ? r.bottom + 6 : r.top - h - 6;
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
    mark(el, true);
  }
  function hide(el) { tip.hidden = true; mark(el, false); }
  ['mouseover', 'focusin'].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var el = ev.target.closest && ev.target.closest('.u');
      if (el) show(el);
    });
  });
  ['mouseout', 'focusout'].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var el = ev.target.closest && ev.target.closest('.u');
      if (el) hide(el);
    });
  });
})();
"""
