// squall dashboard: listens to /api/events and redraws. No framework, no build step.
"use strict";
const squall = (() => {
  const $ = (id) => document.getElementById(id);
  const num = (n) => Number(n || 0).toLocaleString("zh-CN");
  const yuan = (n) => "¥" + Number(n || 0).toLocaleString("zh-CN", { maximumFractionDigits: 0 });
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

  function listen(handlers) {
    const es = new EventSource("/api/events");
    es.onopen = () => { $("status").textContent = "live"; };
    es.onerror = () => { $("status").textContent = "reconnecting…"; };
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    }
  }

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

  function orders() {
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
  }

  const figureHead = ["Emitted", "Transferred", "Executed", "Acked", "Failed",
    "Execute ms", "Process ms", "Complete ms", "Capacity", "Queue", "Pending", "Restarts", "Errors", "Last error"];
  // The last error shows its time and as much of the message as fits; all
  // of it on hover.
  const lastError = (f) => f.lastError ? '<span class="lasterr" title="' + esc(f.lastError) + '">' +
    esc(new Date(f.lastErrorAt).toLocaleTimeString("zh-CN")) + " · " + esc(f.lastError) + "</span>" : "—";
  const figureCells = (f) => [num(f.emitted), num(f.transferred), num(f.executed), num(f.acked), num(f.failed),
    f.executeLatencyMs.toFixed(3), f.processLatencyMs.toFixed(3), f.completeLatencyMs.toFixed(2), f.capacity.toFixed(2),
    num(f.queueDepth), num(f.pending), f.restarts, f.errors, lastError(f)];
  const table = (cls, head, rows) => '<table class="' + cls + '"><thead><tr>' + head.map((h) => "<th>" + h + "</th>").join("") +
    "</tr></thead><tbody>" + rows.map((r) => "<tr>" + r.map((x) => "<td>" + x + "</td>").join("") + "</tr>").join("") + "</tbody></table>";

  function topology() {
    listen({
      topologies: (v) => {
        const tops = v.topologies || [];
        if (v.error) { $("status").textContent = "cluster: " + v.error; }
        else if (!tops.length) { $("status").textContent = "no topology runs"; }
        else { $("status").textContent = "live"; }
        $("topologies").innerHTML = tops.map((t) => {
          const tasks = t.components.flatMap((c) => (c.taskList || []).map((k) => [k.task, esc(c.id), esc(k.node || "—"), ...figureCells(k)]));
          return '<div class="panel full"><h2>' + esc(t.name) + (t.status ? " · " + esc(t.status) : "") + "</h2>" +
            (t.unreachable && t.unreachable.length ? '<p class="warn">not answering, left out: ' + t.unreachable.map(esc).join(", ") + "</p>" : "") +
            table("components", ["Component", "Kind", "Tasks", ...figureHead],
              t.components.map((c) => [esc(c.id), c.kind, c.tasks, ...figureCells(c)])) +
            "<details><summary>Tasks</summary>" + table("tasks", ["Task", "Component", "Node", ...figureHead], tasks) + "</details></div>";
        }).join("");
      },
    });
  }

  return { orders, topology };
})();
