// uPlot charts over series the server has already reduced (buckets, quantiles).
"use strict";

const VPCharts = {
  palette: ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"],

  size(el) { return { width: Math.max(320, el.clientWidth || 800), height: 300 }; },

  empty(el, text) {
    el.replaceChildren();
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    el.append(p);
  },

  /** Mean line with a min-max band, time on x; ``onZoom(since, until)`` after a drag. */
  timeSeries(el, data, label, onZoom) {
    el.replaceChildren();
    const opts = {
      ...VPCharts.size(el),
      series: [{}, { label: "min", stroke: "#93c5fd", width: 1 },
               { label: label, stroke: "#1d4ed8", width: 1.5 },
               { label: "max", stroke: "#93c5fd", width: 1 }],
      bands: [{ series: [3, 1], fill: "rgba(37, 99, 235, 0.12)" }],
      hooks: VPCharts.zoomHook(onZoom),
    };
    return new uPlot(opts, [data.ts, data.min, data.mean, data.max], el);
  },

  /** One mean line per named series (e.g. one per action or interface), aligned on time;
   *  ``xRange`` ([since, until], optional) fixes the time axis to the range asked for. */
  multi(el, named, onZoom, xRange) {
    el.replaceChildren();
    const names = Object.keys(named);
    const joined = uPlot.join(names.map((n) => [named[n].ts, named[n].mean]));
    const series = [{}, ...names.map((n, i) => ({
      label: n, stroke: VPCharts.palette[i % VPCharts.palette.length], width: 1.5,
      spanGaps: true }))];
    const scales = xRange ? { x: { time: true, range: () => xRange } } : {};
    return new uPlot({ ...VPCharts.size(el), series, scales, hooks: VPCharts.zoomHook(onZoom) },
                     joined, el);
  },

  /** The empirical CDF: value on x, fraction of results at or below it on y. */
  cdf(el, data, label) {
    el.replaceChildren();
    const opts = {
      ...VPCharts.size(el),
      scales: { x: { time: false }, y: { range: [0, 1] } },
      series: [{ label }, { label: "fraction ≤ x", stroke: "#059669", width: 1.5 }],
      axes: [{ label }, { label: "CDF" }],
    };
    return new uPlot(opts, [data.value, data.fraction], el);
  },

  zoomHook(onZoom) {
    if (!onZoom) return {};
    return { setSelect: [(u) => {
      if (u.select.width < 2) return;
      const since = u.posToVal(u.select.left, "x");
      const until = u.posToVal(u.select.left + u.select.width, "x");
      onZoom(since, until);
    }] };
  },
};
