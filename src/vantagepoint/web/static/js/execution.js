// One execution: follows its log and state live, cancels it, charts its results.
"use strict";

(() => {
  const root = document.getElementById("execution");
  const id = root.dataset.id;
  const log = document.getElementById("log");
  const stateEl = document.getElementById("state");
  const FINAL = new Set(["finished", "failed", "canceled"]);
  let after = 0;
  let state = root.dataset.state;

  /** Append log lines; remember the last one's id to follow from. */
  function showLog(data) {
    if (!data.length) return;
    const lines = data.map((l) =>
      `${VP.when(l.ts)} ${l.level.padEnd(7)} ${l.node || "core"}${l.action ? "/" + l.action : ""}: ${l.message}`);
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(lines.join("\n") + "\n");
    if (stick) log.scrollTop = log.scrollHeight;
    after = data[data.length - 1].id;
  }

  async function followLog() {
    for (;;) {  // drain: the API pages at most `limit` lines per call
      const res = await VP.api("GET", `/api/v1/executions/${id}/logs?after=${after}&limit=1000`);
      if (!res.ok) return;
      showLog(res.data);
      if (res.data.length < 1000) return;
    }
  }

  const inline = (elId) => JSON.parse(document.getElementById(elId).textContent);

  async function refreshState() {
    const res = await VP.api("GET", `/api/v1/executions/${id}`);
    if (!res.ok) return;
    const ex = res.data;
    state = ex.state;
    root.dataset.state = state;
    stateEl.textContent = state;
    stateEl.className = `badge ${state}`;
    document.getElementById("reason").textContent = ex.reason || "";
    document.getElementById("started").textContent = ex.started_at ? ex.started_at.replace("T", " ").slice(0, 19) : "—";
    document.getElementById("ended").textContent = ex.ended_at ? ex.ended_at.replace("T", " ").slice(0, 19) : "—";
    const progress = document.getElementById("progress");
    if (ex.ended_at || state === "finished") progress.value = 1;
    else if (ex.started_at) progress.value = Math.min(1, (Date.now() - Date.parse(ex.started_at)) / 1000 / ex.duration);
    for (const part of ex.nodes) {
      const badge = document.querySelector(`#parts tr[data-node="${CSS.escape(part.node)}"] .badge`);
      if (badge) { badge.textContent = part.state; badge.className = `badge ${part.state}`; }
    }
    document.getElementById("cancel").hidden = FINAL.has(state);
  }

  async function tick(first) {
    // The page came with the state and the log's first page: an execution that had
    // ended needs no request unless its log is longer than that page.
    const firstLog = first ? inline("first-log") : null;
    if (first) showLog(firstLog.lines);
    const drain = !first || firstLog.more || !FINAL.has(state);
    await Promise.all([drain ? followLog() : null, first ? null : refreshState()]);
    if (FINAL.has(state)) {
      if (!first) await followLog();  // the last lines written as it ended
      root.dataset.followed = "1";
      return;
    }
    setTimeout(() => tick(false), 1000);
  }

  /** Chart one result; ``given`` is its data when the page brought it along. */
  async function chart(button, kind, given) {
    const { node, action, name } = button.dataset;
    const query = new URLSearchParams({ node, action, name, points: 800 });
    const el = document.getElementById("result-chart");
    delete el.dataset.series;
    document.getElementById("chart-title").textContent =
      `${name} of ${action} on ${node} — ${kind === "cdf" ? "CDF" : "over time (min / mean / max per bucket)"}`;
    const res = given ? { ok: true, data: given }
      : await VP.api("GET", `/ui/executions/${id}/${kind}?${query}`);
    if (!res.ok) { el.replaceChildren(VP.errorNode(res.data)); return; }
    if (kind === "cdf") VPCharts.cdf(el, res.data, name);
    else VPCharts.timeSeries(el, res.data, name);
    el.dataset.points = String(kind === "cdf" ? res.data.value.length : res.data.ts.length);
    el.dataset.series = `${node}/${action}/${name}/${kind}`;
  }

  document.getElementById("cancel").addEventListener("click", async () => {
    if (!window.confirm(`Cancel execution ${id} on every node?`)) return;
    const res = await VP.api("POST", `/api/v1/executions/${id}/cancel`);
    if (!res.ok) log.append(`cancel failed: ${res.data.message}\n`);
    refreshState();
  });
  root.addEventListener("click", (e) => {
    const button = e.target.closest(".chart-open, .cdf-open");
    if (button) chart(button, button.classList.contains("cdf-open") ? "cdf" : "series");
  });

  /** Fill in min / mean / max: a full pass over the results, so after the page is up. */
  async function fillStats() {
    const res = await VP.api("GET", `/ui/executions/${id}/stats`);
    if (!res.ok) return;
    const byKey = {};
    for (const s of res.data) (byKey[`${s.action}/${s.name}`] ||= []).push(s);
    const fmt = (v) => (v === null ? "—" : Number(v.toPrecision(4)).toString());
    for (const row of document.querySelectorAll("#results-table tr[data-key]")) {
      const found = byKey[row.dataset.key] || [];
      for (const stat of ["min", "mean", "max"]) {
        row.querySelector(`.stat-${stat}`).textContent =
          found.map((s) => fmt(s[stat])).join(" / ") || "—";
      }
    }
    document.getElementById("results-table").dataset.filled = "1";
  }

  // The first chart: the result with the most values, its data inside the page.
  const given = inline("first-chart");
  const first = given && root.querySelector(`.chart-open[data-node="${CSS.escape(given.node)}"]` +
    `[data-action="${CSS.escape(given.action)}"][data-name="${CSS.escape(given.name)}"]`);
  Promise.all([tick(true), first && given.data ? chart(first, "series", given.data) : null]).then(() => {
    VP.ready();
    fillStats();
  });
})();
