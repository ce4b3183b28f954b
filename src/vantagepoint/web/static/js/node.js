// The node page's charts: background RTT per interface, and the CPU and memory sensors,
// over one range; re-fetched (re-downsampled by the server) on zoom.
"use strict";

(() => {
  const el = document.getElementById("rtt-chart");
  const note = document.getElementById("rtt-note");
  const range = document.getElementById("rtt-range");
  const node = encodeURIComponent(el.dataset.node);
  const sensors = [...document.querySelectorAll(".chart.sensor")];

  async function loadRtt(query) {
    const res = await VP.api("GET", `/ui/nodes/${node}/rtt?${query}`);
    if (!res.ok) {
      el.replaceChildren(VP.errorNode(res.data));
    } else if (!Object.keys(res.data.series).length) {
      VPCharts.empty(el, "No background ping results from this node in this range.");
      note.textContent = "";
    } else {
      VPCharts.multi(el, res.data.series, load);
      const counts = Object.values(res.data.series).map((s) => s.count);
      note.textContent = `${counts.reduce((a, b) => a + b, 0)} results, ` +
        `${VP.when(res.data.since)} to ${VP.when(res.data.until)} UTC (double-click: back to the range)`;
      el.querySelector(".u-over").addEventListener("dblclick", lastHours, { once: true });
    }
  }

  async function loadSensor(box, query) {
    const res = await VP.api("GET", `/ui/nodes/${node}/sensors/${box.dataset.kind}?${query}`);
    if (!res.ok) { box.replaceChildren(VP.errorNode(res.data)); return; }
    if (!res.data.ts.length) { VPCharts.empty(box, "No readings in this range."); return; }
    const named = {};
    for (const [name, values] of Object.entries(res.data.series)) {
      named[name] = { ts: res.data.ts, mean: values };
    }
    VPCharts.multi(box, named, load, [res.data.since, res.data.until]);
    box.dataset.points = String(res.data.ts.length);
  }

  async function load(since, until) {
    const query = new URLSearchParams({ since, until, points: 600 });
    await Promise.all([loadRtt(query), ...sensors.map((box) => loadSensor(box, query))]);
    VP.ready();
  }

  function lastHours() {
    const now = Date.now() / 1000;
    load(now - Number(range.elements.hours.value) * 3600, now + 60);
  }

  range.addEventListener("change", lastHours);
  lastHours();
})();
