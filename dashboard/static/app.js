// squall dashboard: listens to /api/events and redraws. No framework, no build step.
// The pages a program adds (dashboard.Page) use $, num, esc and listen too;
// listen reports the stream's state in the page's #status.
"use strict";
const squall = (() => {
  const $ = (id) => document.getElementById(id);
  const num = (n) => Number(n || 0).toLocaleString("zh-CN");
  const rateText = (r) => r === undefined ? "—" : num(Math.round(r));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

  function listen(handlers) {
    const es = new EventSource("/api/events");
    es.onopen = () => { $("status").textContent = "live"; };
    es.onerror = () => { $("status").textContent = "reconnecting…"; };
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    }
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

  // dag draws a topology as Storm UI's visualization does: components as
  // boxes in columns by their distance from the spouts, coloured from green
  // to red by capacity, and streams as curves labelled with their grouping.
  function dag(t) {
    const edges = t.edges || [];
    // Nothing to draw without the streams, or without the components' figures
    // (every node running the topology left out).
    if (!edges.length || !t.components.length) return "";
    const n = t.components.length;
    const depth = new Map(t.components.filter((c) => c.kind === "spout").map((c) => [c.id, 0]));
    // Longest path from a spout; a cycle stops growing at n columns.
    for (let changed = true, round = 0; changed && round < n; round++) {
      changed = false;
      for (const e of edges) {
        const d = depth.has(e.from) ? depth.get(e.from) + 1 : -1;
        if (d > (depth.get(e.to) ?? -1) && d < n) { depth.set(e.to, d); changed = true; }
      }
    }
    const boxW = 210, boxH = 46, colW = boxW + 160, rowH = 64, pad = 16;
    const rowsUsed = new Map(), at = new Map();
    for (const c of [...t.components].sort((a, b) => a.id.localeCompare(b.id))) {
      const col = depth.get(c.id) ?? 0, row = rowsUsed.get(col) ?? 0;
      rowsUsed.set(col, row + 1);
      at.set(c.id, { x: pad + col * colW, y: pad + row * rowH });
    }
    const w = pad * 2 + (Math.max(...rowsUsed.keys()) * colW) + boxW;
    const h = pad * 2 + (Math.max(...rowsUsed.values()) - 1) * rowH + boxH;
    const byId = new Map(t.components.map((c) => [c.id, c]));
    const lines = edges.filter((e) => at.has(e.from) && at.has(e.to)).map((e) => {
      const a = at.get(e.from), b = at.get(e.to);
      const x1 = a.x + boxW, y1 = a.y + boxH / 2, x2 = b.x, y2 = b.y + boxH / 2;
      const rate = (byId.get(e.from).streamRate || {})[e.stream];
      const label = e.grouping + (e.stream === "default" ? "" : " · " + e.stream) + (rate === undefined ? "" : " · " + rateText(rate) + "/s");
      // The label sits by the arrow's head: a source's streams fan out, and
      // their middles crowd together.
      return '<g class="edge"><path d="M' + x1 + " " + y1 + " C" + (x1 + 60) + " " + y1 + " " + (x2 - 60) + " " + y2 + " " + x2 + " " + y2 +
        '" fill="none" stroke="#8b98a5" marker-end="url(#arrow)"/><text x="' + (x2 - 10) + '" y="' + (y2 - 6) +
        '" text-anchor="end">' + esc(label) + "</text></g>";
    });
    const boxes = t.components.map((c) => {
      const p = at.get(c.id), hue = Math.round(120 * (1 - Math.min(1, c.capacity)));
      return '<g class="node"><rect x="' + p.x + '" y="' + p.y + '" width="' + boxW + '" height="' + boxH + '" rx="6" fill="hsl(' + hue + ',55%,30%)"/>' +
        '<text class="id" x="' + (p.x + 8) + '" y="' + (p.y + 18) + '">' + esc(c.id) + "</text>" +
        '<text x="' + (p.x + 8) + '" y="' + (p.y + 36) + '">' + c.kind + " · " + c.tasks + " tasks · " + c.rateText + "/s · cap " + c.capacity.toFixed(2) + "</text></g>";
    });
    return '<svg class="dag" viewBox="0 0 ' + w + " " + h + '" width="' + w + '" height="' + h + '">' +
      '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0 0 L10 5 L0 10 z" fill="#8b98a5"/></marker></defs>' + lines.join("") + boxes.join("") + "</svg>";
  }

  function topology() {
    // A component's rate is tuples/s between two updates (emitted for a
    // spout, executed for a bolt), smoothed; counts are since the start.
    const seen = new Map();
    const rateOf = (key, count, now) => {
      const p = seen.get(key);
      let rate;
      if (p && now > p.at && count >= p.count) {
        const r = (count - p.count) * 1000 / (now - p.at);
        rate = p.rate === undefined ? r : 0.5 * p.rate + 0.5 * r;
      }
      seen.set(key, { at: now, count, rate });
      return rate;
    };
    // Storm UI's topology actions, when the server offers them.
    // A topology run in-process has no status: every action is offered.
    const buttons = (t) => ["activate", "deactivate", "kill"]
      .filter((a) => !t.status || (a === "activate" ? t.status === "inactive" : a === "deactivate" ? t.status === "active" : t.status !== "killed"))
      .map((a) => '<button data-act="' + a + '" data-topology="' + esc(t.name) + '">' + a[0].toUpperCase() + a.slice(1) + "</button>").join("");
    $("topologies").addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-act]");
      if (!b) return;
      const act = b.dataset.act, name = b.dataset.topology;
      let wait = 0;
      if (act === "kill") {
        const answer = prompt("Kill " + name + "? Its spouts stop, in-flight tuples get this many seconds to finish, then it is removed.", "30");
        if (answer === null) return;
        wait = Number(answer);
        if (answer.trim() === "" || !(wait >= 0)) {
          $("action").textContent = "not killed: " + JSON.stringify(answer) + " is not a number of seconds";
          $("action").className = "bad";
          return;
        }
      }
      let ok = false, text;
      try {
        const res = await fetch("/api/topologies/" + encodeURIComponent(name) + "/" + act,
          { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ waitSeconds: wait }) });
        const body = await res.json().catch(() => ({ error: res.statusText }));
        ok = res.ok;
        text = ok ? body.done : body.error;
      } catch (err) {
        text = act + " " + name + ": " + err.message; // the dashboard did not answer
      }
      $("action").textContent = text;
      $("action").className = ok ? "" : "bad";
    });
    listen({
      topologies: (v) => {
        const tops = v.topologies || [];
        if (v.error) { $("status").textContent = "cluster: " + v.error; }
        else if (!tops.length) { $("status").textContent = "no topology runs"; }
        else { $("status").textContent = "live"; }
        const now = Date.now();
        for (const t of tops) {
          for (const c of t.components) {
            const key = t.name + "/" + c.id;
            c.rateText = rateText(rateOf(key, c.kind === "spout" ? c.emitted : c.executed, now));
            c.streamRate = Object.fromEntries((c.streams || []).map((s) => [s.stream, rateOf(key + "#" + s.stream, s.emitted, now)]));
          }
        }
        // Redrawing must not close a tasks table the user opened.
        const open = new Set([...document.querySelectorAll("#topologies details[open]")].map((d) => d.dataset.topology));
        $("topologies").innerHTML = tops.map((t) => {
          const tasks = t.components.flatMap((c) => (c.taskList || []).map((k) => [k.task, esc(c.id), esc(k.node || "—"), ...figureCells(k)]));
          return '<div class="panel full"><h2>' + esc(t.name) + (t.status ? " · " + esc(t.status) : "") + "</h2>" +
            (v.actions ? '<p class="actions">' + buttons(t) + "</p>" : "") +
            (t.unreachable && t.unreachable.length ? '<p class="warn">not answering, left out: ' + t.unreachable.map(esc).join(", ") + "</p>" : "") +
            dag(t) +
            table("components", ["Component", "Kind", "Tasks", "Tuples/s", ...figureHead],
              t.components.map((c) => [esc(c.id), c.kind, c.tasks, c.rateText, ...figureCells(c)])) +
            '<details data-topology="' + esc(t.name) + '"' + (open.has(t.name) ? " open" : "") + "><summary>Tasks</summary>" +
            table("tasks", ["Task", "Component", "Node", ...figureHead], tasks) + "</details></div>";
        }).join("");
      },
    });
  }

  return { $, num, esc, listen, topology };
})();
