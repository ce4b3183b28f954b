// Builds the dashboard's vendored files into src/vantagepoint/web/static/vendor/.
// The running core serves only these committed outputs: no internet at run time.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { feature } from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "vantagepoint", "web", "static", "vendor");
const modules = join(here, "node_modules");
mkdirSync(out, { recursive: true });

// Charts and partial page updates: shipped as their own minified builds.
copyFileSync(join(modules, "uplot/dist/uPlot.iife.min.js"), join(out, "uplot.min.js"));
copyFileSync(join(modules, "uplot/dist/uPlot.min.css"), join(out, "uplot.min.css"));
copyFileSync(join(modules, "htmx.org/dist/htmx.min.js"), join(out, "htmx.min.js"));

// The YAML parser (with source ranges, for errors at their line) as one global `YAML`.
await build({
  stdin: { contents: "export * from 'yaml';", resolveDir: here },
  bundle: true, minify: true, format: "iife", globalName: "YAML",
  outfile: join(out, "yaml.min.js"), target: "es2020", legalComments: "none",
});

// The world outline: Natural Earth 1:110m land as one SVG path in an
// equirectangular frame (x = lon + 180, y = 90 - lat), so a position needs no projection code.
const topo = JSON.parse(readFileSync(join(modules, "world-atlas/land-110m.json"), "utf8"));
const land = feature(topo, topo.objects.land);
const draw = (points, shift) =>
  "M" + points.map(([lon, lat]) => `${(lon + shift + 180).toFixed(1)},${(90 - lat).toFixed(1)}`)
    .join("L") + "Z";
// A ring that crosses the antimeridian is unwrapped into one continuous ring and
// drawn twice, 360 degrees apart; the view box clips what falls outside.
function ring(points) {
  const flat = [points[0]];
  for (const [lon, lat] of points.slice(1)) {
    const prev = flat[flat.length - 1][0];
    flat.push([lon + 360 * Math.round((prev - lon) / 360), lat]);
  }
  const lons = flat.map(([lon]) => lon);
  if (Math.max(...lons) > 180) return draw(flat, 0) + draw(flat, -360);
  if (Math.min(...lons) < -180) return draw(flat, 0) + draw(flat, 360);
  return draw(flat, 0);
}
const polygons = land.features.flatMap((f) =>
  f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates);
const path = polygons.flatMap((rings) => rings.map(ring)).join("");
writeFileSync(join(out, "world.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 180">` +
  `<path fill="#dfe6ee" stroke="#b8c4d0" stroke-width="0.2" d="${path}"/></svg>\n`);
console.log("built", out);
