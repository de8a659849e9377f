// The orders page of examples/orders: draws /api/orders/summary as the
// dashboard's event stream pushes it. It runs on the dashboard's app.js.
"use strict";
(() => {
  const { $, num, esc, listen } = squall;
  const yuan = (n) => "¥" + Number(n || 0).toLocaleString("zh-CN", { maximumFractionDigits: 0 });

  function rows(table, items, cells) {
    const body = $(table).tBodies[0];
    body.innerHTML = items.map((it) => "<tr>" + cells(it).map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("");
  }

  function barRows(table, items, value, label) {
    const max = Math.max(1, ...items.map(value));
    rows(table, items, (it) => [esc(it.name), label(it),
      '<div class="bar" style="width:' + Math.round(100 * value(it) / max) + 'px"></div>']);
  }

  function lineChart(svg, points) {
    const w = 800, h = 220, pad = 28;
    const max = Math.max(1, ...points.map((p) => p.orders));
    const x = (i) => pad + i * (w - 2 * pad) / Math.max(1, points.length - 1);
    const y = (v) => h - pad - v * (h - 2 * pad) / max;
    const path = points.map((p, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(p.orders).toFixed(1)).join(" ");
    const labels = points.filter((_, i) => i % 5 === 0 || i === points.length - 1)
      .map((p) => '<text x="' + x(points.indexOf(p)) + '" y="' + (h - 8) + '" text-anchor="middle">' + esc(p.at) + "</text>").join("");
    svg.innerHTML = '<path d="' + path + '" fill="none" stroke="#2f81f7" stroke-width="2"/>' + labels +
      '<text x="' + pad + '" y="14">' + num(max) + "</text>";
  }

  listen({
    summary: (s) => {
      // The server sends a failed read as {error} without redis set, so
      // the error must be checked first or it reads as "no Redis".
      if (s.error) { $("status").textContent = "Redis: " + s.error; return; }
      if (!s.redis) { $("status").textContent = "no Redis configured"; return; }
      $("status").textContent = "live · " + new Date(s.at).toLocaleTimeString("zh-CN");
      $("orders").textContent = num(s.orders);
      $("gmv").textContent = yuan(s.gmv);
      $("rate").textContent = num(Math.round(s.rate));
      $("buyers").textContent = num(s.buyersToday);
      $("gmv5m").textContent = yuan(s.gmv5m);
      $("malformed").textContent = num(s.malformed);
      $("malformed").className = "v" + (s.malformed ? " bad" : "");
      lineChart($("minutes"), s.minutes || []);
      rows("top", s.topProducts || [], (p) => [esc(p.name), yuan(p.gmv)]);
      barRows("provinces", s.provinces || [], (p) => p.gmv, (p) => yuan(p.gmv) + " · " + num(p.orders) + " 单");
      barRows("categories", s.categories || [], (p) => p.gmv, (p) => yuan(p.gmv));
      barRows("payments", s.payments || [], (p) => p.orders, (p) => num(p.orders) + " 单");
      const recent = s.recentErrors || [];
      $("recent").innerHTML = recent.length ? recent.map((l) => "<div><code>" + esc(l) + "</code></div>").join("") : "none";
    },
  });
})();
