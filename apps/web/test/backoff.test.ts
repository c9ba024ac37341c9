import { describe, expect, it } from "vitest";
import { ceiling, delay } from "../src/net/backoff";
import { policyFor, isFinal } from "../src/net/closeCodes";

describe("backoff", () => {
  it("first retry within 1 s, ceiling doubles and caps at 8 s", () => {
    expect([1, 2, 3, 4, 5, 6, 50, 5000].map((n) => ceiling(n))).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000]);
  });
  it("full jitter spans [0, ceiling)", () => {
    expect(delay(1, () => 0)).toBe(0);
    expect(delay(1, () => 0.999999)).toBeLessThan(1000);
    expect(delay(3, () => 0.5)).toBe(2000);
    expect(delay(100, () => 0.999)).toBeLessThan(8000);
    for (let i = 0; i < 200; i++) {
      const d = delay(1 + (i % 8));
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(8000);
    }
  });
  it("bad random values stay in range", () => {
    expect(delay(2, () => -1)).toBe(0);
    expect(delay(2, () => 7)).toBeLessThan(2000);
  });
});

describe("close codes", () => {
  it("maps the documented codes", () => {
    expect(policyFor(1000).action).toBe("done");
    for (const c of [1001, 1012, 4008, 4009, 4010]) expect(policyFor(c).action).toBe("resume");
    for (const c of [1008, 1009, 1011, 4000, 1006]) expect(policyFor(c).action).toBe("backoff");
    expect(policyFor(4001).action).toBe("rejoin");
    expect(policyFor(4002).action).toBe("refresh");
    for (const c of [4003, 4004, 4006, 4007]) expect(isFinal(policyFor(c).action)).toBe(true);
    expect(policyFor(4005).action).toBe("final_retryable");
    expect(policyFor(4011).action).toBe("retry_after");
    expect(policyFor(4999).action).toBe("backoff");
  });
});

describe("voice close codes", async () => {
  const { voicePolicyFor } = await import("../src/net/closeCodes");
  it("follow the voice service's table", () => {
    expect(voicePolicyFor(1006).action).toBe("resume");
    expect(voicePolicyFor(4002).action).toBe("refresh");
    expect(voicePolicyFor(4008).action).toBe("rejoin");
    expect(voicePolicyFor(4009).action).toBe("rejoin");
    expect(voicePolicyFor(4010).action).toBe("resume");
    expect(voicePolicyFor(4011).action).toBe("done");
    for (const c of [4003, 4004, 4005, 4006, 4007]) expect(isFinal(voicePolicyFor(c).action)).toBe(true);
  });
});
