import { describe, expect, it } from "vitest";
import { lodLevel } from "../src/world/lod";
import { AutoPixelRatio, PRESETS, presetFor } from "../src/world/presets";

describe("LOD with hysteresis", () => {
  const th = [10, 30] as const;
  it("picks levels by distance", () => {
    expect(lodLevel(0, 5, th, 2)).toBe(0);
    expect(lodLevel(0, 20, th, 2)).toBe(1);
    expect(lodLevel(0, 50, th, 2)).toBe(2);
    expect(lodLevel(2, 1, th, 2)).toBe(0);
  });
  it("does not flicker on a border", () => {
    let lvl = lodLevel(0, 10.5, th, 2);
    expect(lvl).toBe(0); // not yet past 10 + 1
    lvl = lodLevel(lvl, 11.2, th, 2);
    expect(lvl).toBe(1);
    // Back inside the threshold but within the band: stays reduced.
    for (const d of [10.5, 9.5, 9.1, 10.9]) {
      lvl = lodLevel(lvl, d, th, 2);
      expect(lvl).toBe(1);
    }
    lvl = lodLevel(lvl, 8.9, th, 2);
    expect(lvl).toBe(0);
  });
  it("walks through every level", () => {
    const seen: number[] = [];
    let lvl = 0;
    for (let d = 0; d <= 60; d += 0.5) {
      lvl = lodLevel(lvl, d, th, 3);
      if (seen[seen.length - 1] !== lvl) seen.push(lvl);
    }
    for (let d = 60; d >= 0; d -= 0.5) {
      lvl = lodLevel(lvl, d, th, 3);
      if (seen[seen.length - 1] !== lvl) seen.push(lvl);
    }
    expect(seen).toEqual([0, 1, 2, 1, 0]);
  });
});

describe("presets", () => {
  it("differ in what matters and auto starts at medium", () => {
    expect(presetFor("auto")).toBe(PRESETS.medium);
    expect(PRESETS.low.maxPixelRatio).toBeLessThan(PRESETS.high.maxPixelRatio);
    expect(PRESETS.low.shadows).toBe(false);
    expect(PRESETS.high.shadows).toBe(true);
    expect(PRESETS.low.fullDetailAvatars).toBeLessThan(PRESETS.high.fullDetailAvatars);
    expect(PRESETS.low.drawDistance).toBeLessThan(PRESETS.high.drawDistance);
  });
  it("auto lowers the pixel ratio when slow and raises it with headroom", () => {
    const a = new AutoPixelRatio(1.5);
    for (let i = 0; i < 61; i++) a.frame(33); // 30 fps for ~2 s
    expect(a.ratio).toBe(1.25);
    for (let i = 0; i < 240; i++) a.frame(33);
    expect(a.ratio).toBe(0.5);
    for (let i = 0; i < 2000; i++) a.frame(16);
    expect(a.ratio).toBe(1.5);
  });
});
