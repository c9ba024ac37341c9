#!/usr/bin/env node
// `make bench-client`: runs the client's benchmark mode (/bench) in headless
// Chromium against a real `hearth serve`, for every preset with LOD and
// frustum culling on and off, prints a table and, with --write FILE,
// replaces the "## Web client" section of that file (docs/performance.md).
//
// Chromium here renders with SwiftShader, a software renderer: frame times
// are relative (compare rows with each other), the counts are exact.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { launch, startServer } from "../e2e/harness.mjs";

const args = process.argv.slice(2);
const writeTo = args.includes("--write") ? args[args.indexOf("--write") + 1] : null;
const frames = Number(process.env.BENCH_FRAMES ?? 40);

export const CONFIGS = [];
for (const preset of ["low", "medium", "high"]) {
  for (const [lod, culling] of [
    [true, true],
    [true, false],
    [false, true],
    [false, false],
  ]) {
    CONFIGS.push({ preset, lod, culling });
  }
}

/** benchOne runs one configuration in a fresh page and returns its result. */
export async function benchOne(browser, base, c, n = frames, warmup = 10) {
  // A mid-tier phone-like screen: 960×540 CSS pixels at device pixel ratio 2,
  // so each preset's pixel-ratio cap matters.
  const ctx = await browser.newContext({ viewport: { width: 960, height: 540 }, deviceScaleFactor: 2 });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  try {
    await page.goto(`${base}/bench?preset=${c.preset}&lod=${c.lod ? 1 : 0}&culling=${c.culling ? 1 : 0}&frames=${n}&warmup=${warmup}`);
    const h = await page.waitForFunction(() => window.__benchResult || window.__benchError, undefined, { timeout: 600_000, polling: 250 });
    const r = await h.jsonValue();
    if (typeof r === "string") throw new Error(r);
    return r;
  } finally {
    await ctx.close();
  }
}

const fmt = (x, d = 0) => Number(x).toFixed(d);

export function table(results) {
  const lines = [
    "| preset | LOD | culling | draw calls (mean / max) | triangles (mean / max) | geometries | textures | frame p50 | frame p95 | props drawn | avatars full / reduced / far / culled |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.preset} | ${r.lod ? "on" : "off"} | ${r.culling ? "on" : "off"} | ${fmt(r.calls.mean)} / ${r.calls.max} | ${fmt(r.triangles.mean)} / ${r.triangles.max} | ${r.geometries} | ${r.textures} | ${fmt(r.frameMs.p50, 1)} ms | ${fmt(r.frameMs.p95, 1)} ms | ${fmt(r.propsDrawn)} | ${fmt(r.avatars.full, 1)} / ${fmt(r.avatars.reduced, 1)} / ${fmt(r.avatars.far, 1)} / ${fmt(r.avatars.culled, 1)} |`,
    );
  }
  return lines.join("\n");
}

function summary(results) {
  const by = (p, lod, cull) => results.find((r) => r.preset === p && r.lod === lod && r.culling === cull);
  const out = [];
  for (const p of ["low", "medium", "high"]) {
    const on = by(p, true, true);
    const off = by(p, false, false);
    if (!on || !off) continue;
    out.push(
      `- **${p}**: LOD and culling cut triangles ${fmt(off.triangles.mean / on.triangles.mean, 1)}× (${fmt(off.triangles.mean)} → ${fmt(on.triangles.mean)}), draw calls ${fmt(off.calls.mean)} → ${fmt(on.calls.mean)}, frame time p50 ${fmt(off.frameMs.p50, 1)} → ${fmt(on.frameMs.p50, 1)} ms (${fmt(off.frameMs.p50 / on.frameMs.p50, 1)}× faster).`,
    );
  }
  return out.join("\n");
}

async function main() {
  const server = await startServer();
  const browser = await launch();
  const results = [];
  try {
    for (const c of CONFIGS) {
      const r = await benchOne(browser, server.base, c);
      results.push(r);
      console.log(`${c.preset.padEnd(6)} lod=${c.lod ? "on " : "off"} culling=${c.culling ? "on " : "off"}  calls ${fmt(r.calls.mean).padStart(5)}  tris ${fmt(r.triangles.mean).padStart(8)}  p50 ${fmt(r.frameMs.p50, 1).padStart(7)} ms  p95 ${fmt(r.frameMs.p95, 1).padStart(7)} ms`);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const chromium = await (async () => {
    try {
      const { execFileSync } = await import("node:child_process");
      return execFileSync("/usr/bin/chromium", ["--version"]).toString().trim();
    } catch {
      return "Chromium";
    }
  })();
  const section = `## Web client

Measured with \`make bench-client\` (apps/web/bench/run.mjs): the client's
benchmark mode (\`/bench?preset=…&lod=…&culling=…\`) renders the plaza (${results.find((r) => !r.culling)?.propsDrawn ?? "several hundred"} props)
with 40 avatars walking scripted paths and a camera on a scripted path,
stepped at a fixed simulation time, so every configuration draws the same
${frames} frames (after 10 warm-up frames). Screen: 960×540 CSS pixels at
device pixel ratio 2 (each preset caps the ratio: low 1, medium 1.5,
high 2). Counts come from three.js \`renderer.info\` per frame; frame time
runs from the start of the frame's systems until the GPU has finished
(a one-pixel read-back).

These figures are from **SwiftShader** (${chromium}, headless, software
WebGL) on this machine (${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}):
treat frame times as relative between rows, and the counts (draw calls,
triangles, geometries, textures) as exact; they are deterministic for the
scripted camera, and \`apps/web/e2e/perf.test.mjs\` asserts the targets
(low preset with LOD and culling: at most 100 draw calls and 100,000
triangles per frame; LOD plus culling cut triangles at least 3×).

${table(results)}

${summary(results)}
`;
  console.log("\n" + table(results) + "\n\n" + summary(results));
  if (writeTo) {
    const doc = readFileSync(writeTo, "utf8");
    const start = doc.indexOf("## Web client");
    if (start < 0) throw new Error(`${writeTo} has no "## Web client" section`);
    const next = doc.indexOf("\n## ", start + 5);
    const updated = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next) : "");
    writeFileSync(writeTo, updated);
    console.log(`\nwrote the Web client section of ${writeTo}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
