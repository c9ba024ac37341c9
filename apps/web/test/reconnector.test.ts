import { describe, expect, it } from "vitest";
import { DropError, Reconnector, type Clock, type Mode } from "../src/net/reconnector";

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements Clock {
  t = 1_000_000;
  timers: { at: number; f: () => void; id: number }[] = [];
  private id = 0;
  now = () => this.t;
  setTimeout = (f: () => void, ms: number) => {
    const id = ++this.id;
    this.timers.push({ at: this.t + ms, f, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  async advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.f();
    await flush();
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

/** Attempts the test resolves or rejects by hand. */
function harness(opts: { online?: () => boolean } = {}) {
  const clock = new FakeClock();
  const calls: { mode: Mode; attempt: number; ok: () => void; fail: (closeCode: number, extra?: object) => void }[] = [];
  const reconnects: unknown[] = [];
  const r = new Reconnector({
    name: "test",
    clock,
    random: () => 0.5,
    online: opts.online,
    onReconnected: (x) => reconnects.push(x),
    connect: (mode, attempt) =>
      new Promise<void>((ok, fail) => {
        calls.push({ mode, attempt, ok, fail: (closeCode, extra) => fail(new DropError({ closeCode, ...extra })) });
      }),
  });
  return { clock, calls, r, reconnects };
}

describe("Reconnector", () => {
  it("connects, resumes at once after a going-away close, backs off after repeated failures", async () => {
    const { clock, calls, r, reconnects } = harness();
    r.start();
    expect(r.current.kind).toBe("connecting");
    expect(calls[0]!.mode).toBe("fresh");
    calls[0]!.ok();
    await flush();
    expect(r.current.kind).toBe("connected");

    r.dropped({ closeCode: 1001 });
    // Going away: the first retry is immediate and resumes.
    expect(r.current).toMatchObject({ kind: "reconnecting", attempt: 1, nextAt: null });
    expect(calls[1]!.mode).toBe("resume");
    calls[1]!.fail(1006);
    await flush();
    // Second attempt waits: full jitter with random 0.5 -> half of the 2 s ceiling.
    expect(r.current).toMatchObject({ kind: "reconnecting", attempt: 2, nextAt: clock.t + 1000 });
    expect(calls.length).toBe(2);
    await clock.advance(999);
    expect(calls.length).toBe(2);
    await clock.advance(1);
    expect(calls.length).toBe(3);
    expect(calls[2]!.mode).toBe("resume");
    calls[2]!.fail(1006);
    await flush();
    expect(r.current).toMatchObject({ kind: "reconnecting", attempt: 3, nextAt: clock.t + 2000 });
    // Retry now skips the wait.
    r.retryNow();
    expect(calls.length).toBe(4);
    calls[3]!.ok();
    await flush();
    expect(r.current.kind).toBe("connected");
    expect(reconnects).toEqual([{ attempts: 3, durationMs: 1000, cause: "going_away", result: "success" }]);
  });

  it("delays stay under the 8 s cap forever", async () => {
    const { clock, calls, r } = harness();
    r.start();
    for (let i = 0; i < 30; i++) {
      calls[calls.length - 1]!.fail(1006);
      await flush();
      const s = r.current;
      expect(s.kind).toBe("reconnecting");
      if (s.kind === "reconnecting") {
        expect(s.nextAt! - clock.t).toBeLessThanOrEqual(8000);
        await clock.advance(s.nextAt! - clock.t);
      }
    }
    expect(calls.length).toBe(31);
    expect(calls.every((c) => c.mode === "fresh")).toBe(true);
  });

  it("token expiry refreshes, an invalid token rejoins, and the stronger need sticks", async () => {
    const { calls, r, clock } = harness();
    r.start();
    calls[0]!.ok();
    await flush();
    r.dropped({ closeCode: 4002 });
    expect(calls[1]!.mode).toBe("refresh");
    calls[1]!.fail(4001);
    await flush();
    await clock.advance(8000);
    expect(calls[2]!.mode).toBe("rejoin");
    calls[2]!.fail(1006);
    await flush();
    await clock.advance(8000);
    expect(calls[3]!.mode).toBe("rejoin");
    calls[3]!.ok();
    await flush();
    r.dropped({ closeCode: 1012 });
    expect(calls[4]!.mode).toBe("resume");
  });

  it("final codes stop and say why; room full may be retried by the user", async () => {
    const { calls, r, clock, reconnects } = harness();
    r.start();
    calls[0]!.ok();
    await flush();
    r.dropped({ closeCode: 4003, message: "Banned by the owner" });
    expect(r.current).toEqual({ kind: "failed", code: "banned", reason: "Banned by the owner", retryable: false });
    await clock.advance(60_000);
    r.retryNow();
    expect(calls.length).toBe(1);
    expect(reconnects).toMatchObject([{ result: "failed", cause: "banned" }]);

    const h = harness();
    h.r.start();
    h.calls[0]!.fail(4005);
    await flush();
    expect(h.r.current).toMatchObject({ kind: "failed", code: "room_full", retryable: true });
    h.r.retryNow();
    expect(h.calls.length).toBe(2);
    h.calls[1]!.ok();
    await flush();
    expect(h.r.current.kind).toBe("connected");
  });

  it("a goodbye marked final wins over the table; normal close goes idle", async () => {
    const { calls, r } = harness();
    r.start();
    calls[0]!.ok();
    await flush();
    r.dropped({ closeCode: 1011, final: true, code: "room_deleted", message: "gone" });
    expect(r.current).toMatchObject({ kind: "failed", code: "room_deleted", retryable: false });

    const h = harness();
    h.r.start();
    h.calls[0]!.ok();
    await flush();
    h.r.dropped({ closeCode: 1000 });
    expect(h.r.current.kind).toBe("idle");
  });

  it("rate limiting waits for retry-after", async () => {
    const { calls, r, clock } = harness();
    r.start();
    calls[0]!.ok();
    await flush();
    r.dropped({ closeCode: 4011, retryAfterMs: 5000 });
    expect(r.current).toMatchObject({ kind: "reconnecting", nextAt: clock.t + 5000 });
  });

  it("goes offline with the browser and retries at once when back online", async () => {
    let online = true;
    const { calls, r, clock } = harness({ online: () => online });
    r.start();
    calls[0]!.ok();
    await flush();
    online = false;
    r.dropped({ closeCode: 4100, action: "backoff" });
    expect(r.current.kind).toBe("offline");
    await clock.advance(60_000);
    expect(calls.length).toBe(1);
    online = true;
    r.networkChanged(true);
    expect(calls.length).toBe(2);
    expect(r.current).toMatchObject({ kind: "reconnecting", nextAt: null });
    calls[1]!.ok();
    await flush();
    expect(r.current.kind).toBe("connected");
  });

  it("visibility and online events cut a pending wait short", async () => {
    const { calls, r } = harness();
    r.start();
    calls[0]!.fail(1006);
    await flush();
    expect(r.current).toMatchObject({ kind: "reconnecting" });
    r.visible();
    expect(calls.length).toBe(2);
    calls[1]!.fail(1006);
    await flush();
    r.networkChanged(true);
    expect(calls.length).toBe(3);
  });

  it("stop ignores late results", async () => {
    const { calls, r } = harness();
    r.start();
    r.stop();
    calls[0]!.ok();
    await flush();
    expect(r.current.kind).toBe("idle");
  });
});
