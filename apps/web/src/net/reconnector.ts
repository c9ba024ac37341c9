// Reconnector is the state machine behind every connection the room holds
// (realtime and voice): it decides when to try again, how (resume, refresh
// tokens first, or join afresh) and what the status indicator says. It owns
// no socket: `connect` does one attempt and `dropped` reports the loss of an
// established connection. Clock and timers are injected so tests can drive
// it step by step.
import { signal, type ReadonlySignal } from "@preact/signals";
import { delay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff";
import { policyFor, type CloseAction, type ClosePolicy } from "./closeCodes";

export type ConnStatus =
  | { kind: "idle" }
  | { kind: "connecting" }
  | { kind: "connected"; since: number }
  /** nextAt is when the next try starts; null while a try is under way */
  | { kind: "reconnecting"; attempt: number; nextAt: number | null; reason: string }
  | { kind: "offline" }
  | { kind: "failed"; code: string; reason: string; retryable: boolean };

/** How an attempt connects: the strongest pending need wins. */
export type Mode = "fresh" | "resume" | "refresh" | "rejoin";
const strength: Record<Mode, number> = { fresh: 3, resume: 0, refresh: 1, rejoin: 2 };

/** Drop describes why a connection (or an attempt) ended. */
export interface Drop {
  /** WebSocket close code, or a local code (see closeCodes.ts) */
  closeCode: number;
  /** the server's Goodbye/problem code, when it sent one */
  code?: string;
  message?: string;
  /** the server said reconnecting cannot help */
  final?: boolean;
  retryAfterMs?: number;
  /** override the close-code table (for failures outside the socket, like the join API) */
  action?: CloseAction;
}

export class DropError extends Error {
  constructor(readonly drop: Drop) {
    super(drop.message ?? `closed ${drop.closeCode}`);
  }
}

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface ReconnectorOptions {
  name: string;
  /** one attempt; resolves once connected, rejects with DropError */
  connect: (mode: Mode, attempt: number) => Promise<void>;
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffOptions;
  online?: () => boolean;
  /** the close-code table (the realtime one by default; voice has its own) */
  policy?: (closeCode: number) => ClosePolicy;
  /** told about every finished reconnect (telemetry) */
  onReconnected?: (r: { attempts: number; durationMs: number; cause: string; result: "success" | "failed" }) => void;
}

export class Reconnector {
  private readonly _status = signal<ConnStatus>({ kind: "idle" });
  readonly status: ReadonlySignal<ConnStatus> = this._status;
  private attempt = 0;
  private mode: Mode = "fresh";
  private timer: unknown = null;
  private running = false;
  /** generation number: results of attempts from an older generation are ignored */
  private gen = 0;
  private outageStart: number | null = null;
  private outageCause = "";
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly online: () => boolean;

  constructor(private readonly o: ReconnectorOptions) {
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
    this.backoff = o.backoff ?? DEFAULT_BACKOFF;
    this.online = o.online ?? (() => (typeof navigator === "undefined" ? true : navigator.onLine));
  }

  get current(): ConnStatus {
    return this._status.value;
  }

  /** start makes the first connection. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.mode = "fresh";
    this.attempt = 0;
    this._status.value = { kind: "connecting" };
    this.run();
  }

  /** stop gives up the connection for good (leaving the room). */
  stop(): void {
    this.running = false;
    this.gen++;
    this.clearTimer();
    this._status.value = { kind: "idle" };
  }

  /** dropped reports that an established connection closed. */
  dropped(d: Drop): void {
    if (!this.running) return;
    const s = this._status.value;
    if (s.kind !== "connected") return; // attempt failures arrive through connect()
    this.gen++;
    this.onFailure(d, true);
  }

  /** retryNow skips the wait (the "retry now" button, online and visibility events). */
  retryNow(): void {
    const s = this._status.value;
    if (s.kind === "failed" && s.retryable) {
      this.running = true;
      this.mode = this.mode === "fresh" ? "rejoin" : this.mode;
      this.attempt = 0;
    } else if (!this.running) {
      return;
    }
    if (s.kind === "reconnecting" && s.nextAt !== null) {
      this.clearTimer();
      this.tryNow(s.reason);
    } else if (s.kind === "offline" || (s.kind === "failed" && s.retryable)) {
      this.tryNow(s.kind === "offline" ? "offline" : s.reason);
    }
  }

  /** networkChanged handles the browser's online/offline events. */
  networkChanged(online: boolean): void {
    if (!this.running) return;
    const s = this._status.value;
    if (!online) {
      if (s.kind === "reconnecting") {
        this.gen++;
        this.clearTimer();
        this._status.value = { kind: "offline" };
      }
      // A connected socket is closed by its owner, which then calls dropped().
      return;
    }
    if (s.kind === "offline" || (s.kind === "reconnecting" && s.nextAt !== null)) this.retryNow();
  }

  /** visible handles the page coming back to the foreground. */
  visible(): void {
    const s = this._status.value;
    if (s.kind === "reconnecting" && s.nextAt !== null) this.retryNow();
  }

  private run(): void {
    const gen = ++this.gen;
    const mode = this.mode;
    const attempt = this.attempt;
    this.o.connect(mode, attempt).then(
      () => {
        if (gen !== this.gen || !this.running) return;
        if (this.outageStart !== null) {
          this.o.onReconnected?.({
            attempts: this.attempt,
            durationMs: this.clock.now() - this.outageStart,
            cause: this.outageCause,
            result: "success",
          });
        }
        this.outageStart = null;
        this.attempt = 0;
        this.mode = "resume";
        this._status.value = { kind: "connected", since: this.clock.now() };
      },
      (err: unknown) => {
        if (gen !== this.gen || !this.running) return;
        const d: Drop = err instanceof DropError ? err.drop : { closeCode: 1006, message: String(err) };
        this.onFailure(d, false);
      },
    );
  }

  private onFailure(d: Drop, wasConnected: boolean): void {
    const p = (this.o.policy ?? policyFor)(d.closeCode);
    let action: CloseAction = d.action ?? p.action;
    if (d.final && action !== "done") action = action === "final_retryable" ? action : "final";
    const code = d.code ?? p.code;
    const reason = d.message && d.message.length > 0 ? d.message : p.message;
    if (this.outageStart === null) {
      this.outageStart = this.clock.now();
      this.outageCause = code;
    }
    if (action === "done" || action === "final" || action === "final_retryable") {
      this.clearTimer();
      if (action === "done") {
        this.running = false;
        this._status.value = { kind: "idle" };
        return;
      }
      this.reportGiveUp();
      this.running = false;
      this._status.value = { kind: "failed", code, reason, retryable: action === "final_retryable" };
      return;
    }
    const need: Mode = action === "refresh" ? "refresh" : action === "rejoin" ? "rejoin" : "resume";
    if (this.mode === "fresh" && !wasConnected) {
      // Never connected yet: keep joining afresh.
    } else if (this.mode === "fresh" || strength[need] > strength[this.mode]) {
      this.mode = need;
    }
    this.attempt++;
    if (!this.online()) {
      this.clearTimer();
      this._status.value = { kind: "offline" };
      return;
    }
    const immediate = wasConnected && (action === "resume" || action === "refresh" || action === "rejoin");
    let wait = immediate ? 0 : delay(this.attempt, this.random, this.backoff);
    if (action === "retry_after") wait = Math.max(wait, d.retryAfterMs ?? 0);
    this.schedule(wait, reason);
  }

  private reportGiveUp(): void {
    if (this.outageStart !== null) {
      this.o.onReconnected?.({
        attempts: this.attempt,
        durationMs: this.clock.now() - this.outageStart,
        cause: this.outageCause,
        result: "failed",
      });
      this.outageStart = null;
    }
  }

  private schedule(wait: number, reason: string): void {
    this.clearTimer();
    if (wait <= 0) {
      this.tryNow(reason);
      return;
    }
    this._status.value = { kind: "reconnecting", attempt: this.attempt, nextAt: this.clock.now() + wait, reason };
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.tryNow(reason);
    }, wait);
  }

  private tryNow(reason: string): void {
    if (this.attempt === 0) this.attempt = 1;
    this._status.value = { kind: "reconnecting", attempt: this.attempt, nextAt: null, reason };
    this.running = true;
    this.run();
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
