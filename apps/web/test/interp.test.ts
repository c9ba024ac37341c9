import { describe, expect, it } from "vitest";
import { InterpolationBuffer, angleLerp } from "../src/world/interp";

const s = (t: number, x: number, yaw = 0) => ({ t, x, y: 0, z: 0, yaw, anim: 1 });

describe("InterpolationBuffer", () => {
  it("renders 100 ms behind, between the surrounding samples", () => {
    const b = new InterpolationBuffer(100);
    b.push(s(1000, 0));
    b.push(s(1050, 1));
    b.push(s(1100, 2));
    expect(b.sample(1125)!.x).toBeCloseTo(0.5);
    expect(b.sample(1175)!.x).toBeCloseTo(1.5);
    expect(b.sample(1200)!.x).toBeCloseTo(2);
    expect(b.sample(1160)!.speed).toBeCloseTo(20);
  });

  it("holds the first sample before the buffer fills", () => {
    const b = new InterpolationBuffer(100);
    b.push(s(1000, 3));
    expect(b.sample(900)!.x).toBe(3);
    expect(b.sample(5000)!.x).toBe(3);
    expect(new InterpolationBuffer().sample(1)).toBeNull();
  });

  it("extrapolates briefly past the newest sample, then stops", () => {
    const b = new InterpolationBuffer(100, 150);
    b.push(s(1000, 0));
    b.push(s(1100, 1));
    expect(b.sample(1250)!.x).toBeCloseTo(1.5);
    const held = b.sample(5000)!;
    expect(held.x).toBeCloseTo(2.5);
    expect(held.speed).toBe(0);
  });

  it("is smooth through jitter: out-of-order and duplicate samples are ignored", () => {
    const b = new InterpolationBuffer(100);
    // A pose every 50 ms, delivered out of order and in bursts.
    for (const t of [0, 100, 50, 150, 150, 250, 200, 300]) b.push(s(t, t / 50));
    const xs: number[] = [];
    for (let now = 200; now <= 400; now += 10) xs.push(b.sample(now)!.x);
    for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(0);
    expect(b.sample(300)!.x).toBeCloseTo(4);
  });

  it("keeps its memory bounded", () => {
    const b = new InterpolationBuffer(100, 150, 8);
    for (let t = 0; t < 1000; t += 10) b.push(s(t, t));
    expect(b.size).toBeLessThanOrEqual(8);
    b.sample(990);
    expect(b.size).toBeLessThanOrEqual(8);
  });

  it("turns along the shorter arc", () => {
    expect(angleLerp(0.1, Math.PI * 2 - 0.1, 0.5)).toBeCloseTo(0);
    expect(angleLerp(3, -3, 0.5) % (2 * Math.PI)).toBeCloseTo(Math.PI, 1);
    const b = new InterpolationBuffer(0);
    b.push(s(0, 0, 6.2));
    b.push(s(100, 0, 0.1));
    const y = b.sample(50)!.yaw;
    expect(Math.cos(y)).toBeGreaterThan(0.99);
  });
});
