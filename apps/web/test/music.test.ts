import { describe, expect, it } from "vitest";
import { DriftStats, correct, targetPositionMs } from "../src/music/sync";

describe("music sync", () => {
  it("computes the target from the server timeline", () => {
    const s = { positionMs: 10_000, serverTimeMs: 1_000_000, paused: false, durationMs: 60_000 };
    expect(targetPositionMs(s, 1_000_500)).toBe(10_500);
    expect(targetPositionMs({ ...s, paused: true }, 1_005_000)).toBe(10_000);
    expect(targetPositionMs(s, 2_000_000)).toBe(60_000);
    expect(targetPositionMs(s, 900_000)).toBe(0);
  });
  it("nudges small drift, leaves tiny drift, and leaves large drift to a seek", () => {
    expect(correct(5).rate).toBe(1);
    const ahead = correct(40);
    expect(ahead.rate).toBeLessThan(1);
    expect(ahead.rate).toBeGreaterThanOrEqual(0.95);
    const behind = correct(-40);
    expect(behind.rate).toBeGreaterThan(1);
    expect(correct(-200).rate).toBeLessThanOrEqual(1.05);
    expect(correct(800)).toEqual({ seek: true, rate: 1 });
    expect(correct(-300).seek).toBe(true);
  });
  it("summarises |drift|", () => {
    const d = new DriftStats(5);
    for (const x of [10, -20, 30, -40, 50, -60]) d.add(x);
    expect(d.summary()).toEqual({ medianMs: 40, maxMs: 60, n: 5 });
  });
});
