// Client telemetry (issue: join latency, voice connect time, reconnects, a
// frame-rate summary every 30 s, the preset in use). Nothing is recorded or
// sent unless the deployment enables it (GET /api/v1/config
// enable_telemetry) and the user has not opted out in settings. Events use
// the schema in packages/shared (hearth.telemetry.v1), sent as its JSON
// mapping in batches, and with sendBeacon when the page is hidden.
import { create, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import type { ReadonlySignal } from "@preact/signals";
import { BatchSchema, EventSchema, type Event } from "@hearth/shared/hearth/telemetry/v1/telemetry_pb";

export const MAX_BATCH = 50;
const FLUSH_MS = 30_000;
const MAX_QUEUE = 200;

type EventInit = MessageInitShape<typeof EventSchema>;

export interface TelemetryDeps {
  enabled: ReadonlySignal<boolean>;
  accessToken: () => string | null;
  clientVersion: string;
  /** injected for tests; defaults to fetch and navigator.sendBeacon */
  post?: (url: string, body: string, token: string | null) => Promise<void>;
  beacon?: (url: string, body: string) => boolean;
}

export class Telemetry {
  private queue: Event[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  readonly pageId = randomId();
  /** context added to each event */
  roomId = "";
  preset = "";
  sent = 0;

  constructor(private readonly d: TelemetryDeps) {
    if (typeof window !== "undefined") {
      const hide = () => {
        if (document.visibilityState === "hidden") this.flush(true);
      };
      addEventListener("pagehide", () => this.flush(true));
      document.addEventListener("visibilitychange", hide);
      this.timer = setInterval(() => void this.flush(false), FLUSH_MS);
    }
  }

  get enabled(): boolean {
    return this.d.enabled.value;
  }

  get pending(): number {
    return this.queue.length;
  }

  record(kind: EventInit["kind"]): void {
    if (!this.enabled) return;
    this.queue.push(create(EventSchema, { atMs: Date.now(), roomId: this.roomId, preset: this.preset, kind }));
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (this.queue.length >= MAX_BATCH) void this.flush(false);
  }

  join(durationMs: number, scene: string): void {
    this.record({ case: "join", value: { durationMs, scene } });
  }

  voiceConnect(durationMs: number, ok: boolean): void {
    this.record({ case: "voiceConnect", value: { durationMs, ok } });
  }

  reconnect(connection: "realtime" | "voice", r: { attempts: number; durationMs: number; cause: string; result: "success" | "failed" }): void {
    this.record({ case: "reconnect", value: { connection, cause: r.cause.slice(0, 64), attempts: r.attempts, durationMs: r.durationMs, result: r.result } });
  }

  frameRate(s: { fpsP50: number; fpsP5: number; frames: number }, windowS: number): void {
    this.record({ case: "frameRate", value: { fpsP50: s.fpsP50, fpsP5: s.fpsP5, frames: s.frames, windowS } });
  }

  /** flush sends what is queued; beacon=true when the page is going away. */
  flush(beacon: boolean): boolean {
    if (!this.enabled) {
      this.queue = [];
      return false;
    }
    if (this.queue.length === 0) return false;
    const events = this.queue.splice(0, MAX_BATCH);
    const token = this.d.accessToken();
    const batch = create(BatchSchema, { events, clientVersion: this.d.clientVersion.slice(0, 64), pageId: this.pageId, accessToken: beacon ? (token ?? "") : "" });
    const body = toJsonString(BatchSchema, batch);
    const url = "/api/v1/telemetry";
    this.sent += events.length;
    if (beacon) {
      const send = this.d.beacon ?? ((u: string, b: string) => navigator.sendBeacon(u, new Blob([b], { type: "application/json" })));
      return send(url, body);
    }
    const post =
      this.d.post ??
      (async (u: string, b: string, t: string | null) => {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (t) headers.Authorization = `Bearer ${t}`;
        await fetch(u, { method: "POST", headers, body: b, credentials: "same-origin", keepalive: true });
      });
    post(url, body, token).catch(() => {
      // Telemetry is best effort: a failed batch is dropped, never retried in a loop.
    });
    return true;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function randomId(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
