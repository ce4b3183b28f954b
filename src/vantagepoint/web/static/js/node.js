// The node page's RTT chart: one line per action, re-fetched (re-downsampled) on zoom.
"use strict";

(() => {
  const el = document.getElementById("rtt-chart");
  const note = document.getElementById("rtt-note");
  const range = document.getElementById("rtt-range");
  const node = el.dataset.node;

  async function load(since, until) {
    const query = new URLSearchParams({ since, until, points: 600 });
    const res = await VP.api("GET", `/ui/nodes/${encodeURIComponent(node)}/rtt?${query}`);
    if (!res.ok) {
      el.replaceChildren(VP.errorNode(res.data));
    } else if (!Object.keys(res.data.series).length) {
      VPCharts.empty(el, "No RTT results from this node in this range.");
      note.textContent = "";
    } else {
      VPCharts.multi(el, res.data.series, load);
      const counts = Object.values(res.data.series).map((s) => s.count);
      note.textContent = `${counts.reduce((a, b) => a + b, 0)} results, ` +
        `${VP.when(res.data.since)} to ${VP.when(res.data.until)} UTC (double-click: back to the range)`;
      el.querySelector(".u-over").addEventListener("dblclick", lastHours, { once: true });
    }
    VP.ready();
  }

  function lastHours() {
    const now = Date.now() / 1000;
    load(now - Number(range.elements.hours.value) * 3600, now + 60);
  }

  range.addEventListener("change", lastHours);
  lastHours();
})();
