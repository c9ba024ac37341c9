// Size budgets of the generated assets (npm run test:assets): the low
// preset must stay small enough for a phone on a slow link. Every other
// variant's size is reported, not asserted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { build, manifestPath } from "./assets.mjs";

const KB = 1024;
const budgets = { "low/avatar": 150 * KB, "low/plaza": 2 * 1024 * KB };

test("asset variants exist, match the manifest and fit the budgets", async () => {
  await build();
  const m = JSON.parse(readFileSync(manifestPath, "utf8"));
  const rows = [];
  for (const preset of ["low", "medium", "high"]) {
    for (const asset of ["avatar", "lounge", "plaza"]) {
      const e = m.presets[preset]?.[asset];
      assert.ok(e, `${preset}/${asset} missing from the manifest`);
      const size = statSync(join(manifestPath, "..", e.url)).size;
      assert.equal(size, e.bytes, `${preset}/${asset}: manifest size differs from the file`);
      assert.match(e.url, /\.[0-9a-f]{10}\.glb$/, "asset URLs carry a content hash");
      for (const lvl of [0, 1, 2]) {
        const key = asset === "avatar" ? `avatar.lod${lvl}` : `tree.lod${lvl}`;
        if (asset === "lounge") continue;
        assert.ok(e.triangles[key] > 0, `${preset}/${asset} lacks ${key}`);
      }
      const budget = budgets[`${preset}/${asset}`];
      rows.push(`${preset.padEnd(7)}${asset.padEnd(8)}${(size / KB).toFixed(1).padStart(9)} KB${budget ? `  (budget ${(budget / KB).toFixed(0)} KB)` : ""}`);
      if (budget) assert.ok(size <= budget, `${preset}/${asset} is ${size} bytes, over its budget of ${budget}`);
    }
  }
  // Levels get cheaper: the far form is far smaller than the full mesh.
  const av = m.presets.high.avatar.triangles;
  assert.ok(av["avatar.lod1"] < av["avatar.lod0"] && av["avatar.lod2"] * 10 < av["avatar.lod0"]);
  assert.ok(m.presets.low.avatar.bytes < m.presets.high.avatar.bytes, "the low variant is smaller");
  console.log("asset sizes:\n" + rows.join("\n"));
});
