// The dashboard: reads this node's GET /health and GET /peers?detailed=1
// every 2 s (same origin, read-only) and draws them. Everything a peer
// sent is shown as text (textContent), never as markup.
"use strict";
(function () {
  const SAMPLES = 150; // 5 minutes of 2 s samples
  const rates = [];
  let last = null;
  let views = {}; // peer id -> the ids its own /peers lists (GET /ui/cluster)
  let selfId = null;

  function $(id) { return document.getElementById(id); }
  function text(id, v) { $(id).textContent = v; }
  function cell(row, v, cls) {
    const td = document.createElement("td");
    td.textContent = v;
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function short(id) { return id.length > 16 ? id.slice(0, 16) + "…" : id; }
  function ago(t) {
    if (!t) return "–";
    const s = Math.max(0, Date.now() / 1000 - t);
    return s < 120 ? s.toFixed(0) + " s" : (s / 60).toFixed(0) + " min";
  }
  function svg(name, attrs) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  function drawRates() {
    const box = $("rates");
    clear(box);
    const max = Math.max(1, ...rates.map(r => Math.max(r.rx, r.tx)));
    for (const [key, color] of [["rx", "#2f6fde"], ["tx", "#e07b24"]]) {
      const pts = rates.map((r, i) =>
        ((600 * i) / (SAMPLES - 1)).toFixed(1) + "," + (115 - (110 * r[key]) / max).toFixed(1));
      if (pts.length > 1)
        box.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color,
                                          "stroke-width": 2 }));
    }
    const now = rates[rates.length - 1];
    if (now)
      text("rate-now", "now: " + now.rx.toFixed(1) + " in, " + now.tx.toFixed(1) + " out /s; " +
           (now.bin / 1024).toFixed(1) + " KiB/s in, " + (now.bout / 1024).toFixed(1) + " KiB/s out");
  }

  // This node in the middle, its peers around it, and the nodes only its
  // peers know further out; thin lines: what each peer's own view holds.
  function drawGraph(peers) {
    const box = $("graph");
    clear(box);
    const at = {};
    if (selfId) at[selfId] = [0, 0];
    peers.forEach((p, i) => {
      const a = (2 * Math.PI * i) / Math.max(1, peers.length);
      at[p.peer_id] = [100 * Math.cos(a), 100 * Math.sin(a)];
    });
    const outer = [];
    for (const pid of Object.keys(views))
      for (const id of views[pid]) if (!(id in at) && outer.indexOf(id) < 0 && outer.length < 40) outer.push(id);
    outer.forEach((id, i) => {
      const a = (2 * Math.PI * i) / outer.length + 0.3;
      at[id] = [145 * Math.cos(a), 145 * Math.sin(a)];
    });
    for (const pid of Object.keys(views)) {
      const from = at[pid];
      if (!from) continue;
      for (const id of views[pid]) {
        const to = at[id];
        if (to && id !== pid)
          box.appendChild(svg("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1],
            stroke: "#d5d9e0", "stroke-width": 1, class: "view" }));
      }
    }
    for (const p of peers) {
      const [x, y] = at[p.peer_id];
      const dead = p.state === "dead";
      box.appendChild(svg("line", { x1: 0, y1: 0, x2: x, y2: y,
        stroke: dead ? "#c9ced6" : "#7d8796", "stroke-width": p.eager ? 4 : 1.5 }));
    }
    for (const id of outer) {
      const c = svg("circle", { cx: at[id][0], cy: at[id][1], r: 5, fill: "#9fb5dc" });
      const t = svg("title", {});
      t.textContent = id + " (known to a peer)";
      c.appendChild(t);
      box.appendChild(c);
    }
    for (const p of peers) {
      const [x, y] = at[p.peer_id];
      const c = svg("circle", { cx: x, cy: y, r: 9, fill: p.state === "dead" ? "#c9ced6" : "#2f6fde" });
      const t = svg("title", {});
      t.textContent = p.peer_id + " (" + p.state + ")";
      c.appendChild(t);
      box.appendChild(c);
    }
    box.appendChild(svg("circle", { cx: 0, cy: 0, r: 13, fill: "#1d2430" }));
  }

  function show(h, peers) {
    selfId = h.node_id;
    text("node-id", short(h.node_id));
    text("node-url", h.url);
    text("version", h.version);
    text("uptime", ago(Date.now() / 1000 - h.uptime));
    text("peer-count", String(h.peer_count));
    text("dead-count", String(h.peers ? h.peers.dead : 0));
    text("received", String(h.metrics.messages_received));
    text("sent", String(h.metrics.messages_sent));
    const st = $("status");
    st.textContent = h.status;
    st.className = "status " + (h.status === "healthy" ? "ok" : "err");

    const now = Date.now() / 1000;
    if (last) {
      const dt = Math.max(0.001, now - last.t);
      rates.push({ rx: (h.metrics.messages_received - last.rx) / dt,
                   tx: (h.metrics.messages_sent - last.tx) / dt,
                   bin: (h.metrics.bytes_in - last.bin) / dt,
                   bout: (h.metrics.bytes_out - last.bout) / dt });
      if (rates.length > SAMPLES) rates.shift();
    }
    last = { t: now, rx: h.metrics.messages_received, tx: h.metrics.messages_sent,
             bin: h.metrics.bytes_in, bout: h.metrics.bytes_out };
    drawRates();

    const body = $("peers").tBodies[0];
    clear(body);
    for (const p of peers) {
      const row = document.createElement("tr");
      if (p.state === "dead") row.className = "dead";
      cell(row, short(p.peer_id), "mono");
      cell(row, p.url, "mono");
      cell(row, p.state);
      cell(row, p.latency_ms ? p.latency_ms.toFixed(1) + " ms" : "–");
      cell(row, ago(p.last_seen));
      cell(row, typeof p.score === "number" ? p.score.toFixed(1) + (p.graylisted ? " (graylisted)" : "") : "–");
      const tags = p.tags && typeof p.tags === "object"
        ? Object.keys(p.tags).map(k => k + "=" + p.tags[k]).join(" ") : "";
      cell(row, tags);
      body.appendChild(row);
    }
    drawGraph(peers);

    const types = $("types").tBodies[0];
    clear(types);
    for (const t of h.recent_types || []) {
      const row = document.createElement("tr");
      cell(row, t.type);
      cell(row, String(t.count));
      types.appendChild(row);
    }
    const plugins = $("plugins").tBodies[0];
    clear(plugins);
    const pl = h.plugins;
    if (pl && pl.calls) {
      for (const name of Object.keys(pl.calls).sort()) {
        const row = document.createElement("tr");
        cell(row, name);
        cell(row, String(pl.calls[name]));
        cell(row, String((pl.errors || {})[name] || 0));
        cell(row, (pl.quarantined || {})[name] ? "yes" : "no");
        plugins.appendChild(row);
      }
    }
  }

  async function tick() {
    try {
      const [h, p] = await Promise.all([
        fetch("/health", { cache: "no-store" }).then(r => r.json()),
        fetch("/peers?detailed=1", { cache: "no-store" }).then(r => r.ok ? r.json() : [])]);
      show(h, Array.isArray(p) ? p : []);
      const s = await fetch("/state", { cache: "no-store" }).then(r => r.ok ? r.json() : null);
      if (s) { text("state-root", s.merkle_root || "(none)"); text("state-version", String(s.state_version)); }
    } catch (e) {
      const st = $("status");
      st.textContent = "unreachable";
      st.className = "status err";
    }
  }
  // The peers' own views: every 10 s (the node asks its peers for them).
  async function gather() {
    try {
      const r = await fetch("/ui/cluster", { cache: "no-store" });
      if (r.ok) views = (await r.json()).views || {};
    } catch (e) { /* the next round */ }
  }
  gather();
  tick();
  setInterval(tick, 2000);
  setInterval(gather, 10000);
})();
