// Count-based checks of the performance work (issue: presets, LOD,
// culling). The benchmark scene is scripted and stepped at a fixed
// simulation time, so draw calls and triangles are exact and repeatable;
// frame times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, startServer } from "./harness.mjs";
import { benchOne } from "../bench/run.mjs";

let server;
let browser;
const results = {};

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const key = (p, on) => `${p}/${on ? "on" : "off"}`;

test("low preset with LOD and culling stays within 100 draw calls and 100,000 triangles for 40 avatars", async () => {
  const on = await benchOne(browser, server.base, { preset: "low", lod: true, culling: true }, 20, 3);
  results[key("low", true)] = on;
  console.log(`low, LOD+culling: calls max ${on.calls.max}, triangles max ${on.triangles.max}, frame p50 ${on.frameMs.p50.toFixed(1)} ms`);
  assert.ok(on.calls.max <= 100, `draw calls ${on.calls.max} > 100`);
  assert.ok(on.triangles.max <= 100_000, `triangles ${on.triangles.max} > 100000`);
  // Culling removed off-screen props and avatars; LOD put far avatars in the crowd mesh.
  assert.ok(on.propsCulled > 0 && on.avatars.culled > 0, "nothing was culled");
  assert.ok(on.avatars.far > 0, "no avatar used the far form");
  assert.ok(on.avatars.full <= 4, "more full-detail avatars than the low preset allows");
});

for (const preset of ["low", "medium", "high"]) {
  test(`${preset}: LOD plus culling cut triangles at least 3× against both off`, async () => {
    const frames = preset === "high" ? 4 : 8;
    const on = results[key(preset, true)] ?? (await benchOne(browser, server.base, { preset, lod: true, culling: true }, frames, 2));
    const off = await benchOne(browser, server.base, { preset, lod: false, culling: false }, frames, 2);
    const cut = off.triangles.mean / on.triangles.mean;
    console.log(
      `${preset}: triangles ${off.triangles.mean.toFixed(0)} → ${on.triangles.mean.toFixed(0)} (${cut.toFixed(1)}×), calls ${off.calls.mean.toFixed(0)} → ${on.calls.mean.toFixed(0)}, frame p50 ${off.frameMs.p50.toFixed(0)} → ${on.frameMs.p50.toFixed(0)} ms`,
    );
    assert.ok(cut >= 3, `only ${cut.toFixed(2)}×`);
    // With both off every prop and avatar is drawn at full detail.
    assert.equal(off.propsCulled, 0);
    assert.equal(off.avatars.full, 40);
    assert.ok(on.propsDrawn < off.propsDrawn, "culling drew as many props as no culling");
  });
}

test("culling alone removes off-screen objects; LOD alone keeps everything but cheaper", async () => {
  const cull = await benchOne(browser, server.base, { preset: "low", lod: false, culling: true }, 6, 2);
  const lod = await benchOne(browser, server.base, { preset: "low", lod: true, culling: false }, 6, 2);
  assert.ok(cull.propsCulled > 0 && cull.avatars.culled > 0);
  assert.equal(cull.avatars.far, 0, "LOD off must keep full detail");
  assert.equal(lod.propsCulled, 0, "culling off must draw everything");
  assert.equal(lod.avatars.culled, 0);
  assert.ok(lod.avatars.far > 0);
});

test("presets set the renderer live: pixel ratio, shadows, antialiasing", async () => {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 450 }, deviceScaleFactor: 2 });
  const page = await ctx.newPage();
  try {
    await page.goto(`${server.base}/bench?preset=low&frames=10&warmup=0`);
    await page.waitForFunction(() => window.__benchResult, undefined, { timeout: 300_000 });
    const read = () =>
      page.evaluate(() => {
        const w = window.__bench.world;
        const gl = w.renderer.getContext();
        return { preset: w.preset.name, ratio: w.renderer.getPixelRatio(), shadows: w.renderer.shadowMap.enabled, aa: gl.getContextAttributes().antialias, far: w.camera.far };
      });
    assert.deepEqual(await read(), { preset: "low", ratio: 1, shadows: false, aa: false, far: 60 });
    await page.evaluate(() => window.__bench.world.setGraphics({ preset: "high", lod: true, culling: true, nameTags: true }));
    assert.deepEqual(await read(), { preset: "high", ratio: 2, shadows: true, aa: true, far: 180 });
    await page.evaluate(() => window.__bench.world.setGraphics({ preset: "medium", lod: true, culling: false, nameTags: true }));
    const m = await read();
    assert.equal(m.ratio, 1.5);
    assert.equal(m.shadows, false);
    assert.equal(m.far, 1000, "culling off draws to the horizon");
    // The asset variant follows the preset: the world reloads the medium models.
    await page.waitForFunction(() => window.__bench.world.loaded.value && window.__bench.world.props, undefined, { timeout: 120_000 });
  } finally {
    await ctx.close();
  }
});
