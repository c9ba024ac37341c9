// RealtimeSocket is one attempt at the room WebSocket (GET /rt): it sends
// the hello (the token travels in the first message, never in the URL),
// waits for the welcome, then delivers every server message until the
// socket closes. Reconnecting is not its job: RoomSession and its
// Reconnector decide what to do with the Drop it reports.
import type { ServerMessage, Welcome } from "@hearth/shared/hearth/realtime/v1/realtime_pb";
import { decodeServer, encodeClient, type ClientMsg } from "./codec";
import { DropError, type Drop } from "./reconnector";

/** Local close codes (never sent by the server). */
export const LOCAL_OFFLINE = 4100;
export const LOCAL_TIMEOUT = 4101;
export const LOCAL_LEAVE = 1000;

export interface HelloFields {
  token: string;
  resumeToken: string;
  lastSeq: bigint;
  traceparent: string;
}

export interface SocketHandlers {
  onMessage(m: ServerMessage): void;
  onClose(d: Drop): void;
}

export class RealtimeSocket {
  private ws: WebSocket | null = null;
  private goodbye: Drop | null = null;
  private closed = false;
  private welcomed = false;
  lastReceived = 0;

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
    private readonly helloTimeoutMs = 10_000,
  ) {}

  /** open connects and resolves with the welcome; rejects with DropError. */
  open(hello: HelloFields, client: { name: string; version: string; platform: string }): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      let settled = false;
      const fail = (d: Drop) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closed = true;
        try {
          this.ws?.close();
        } catch {
          // already closed
        }
        reject(new DropError(d));
      };
      const timer = setTimeout(() => fail({ closeCode: LOCAL_TIMEOUT, code: "timeout", message: "The server did not answer" }), this.helloTimeoutMs);
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        fail({ closeCode: 1006, message: String(e) });
        return;
      }
      this.ws = ws;
      ws.binaryType = "arraybuffer";
      ws.onopen = () => {
        this.sendRaw({
          case: "hello",
          value: {
            token: hello.token,
            resumeToken: hello.resumeToken,
            lastSeq: hello.lastSeq,
            traceparent: hello.traceparent,
            client,
            protocolVersion: 1,
          } as never,
        });
      };
      ws.onmessage = (ev) => {
        this.lastReceived = performance.now();
        if (!(ev.data instanceof ArrayBuffer)) return;
        let m: ServerMessage;
        try {
          m = decodeServer(ev.data);
        } catch {
          return; // a frame we cannot read is dropped, not fatal
        }
        if (m.msg.case === "goodbye") {
          const g = m.msg.value;
          this.goodbye = { closeCode: g.closeCode, code: g.code, message: g.message, final: g.final };
          return;
        }
        if (m.msg.case === "error" && !this.welcomed) {
          // An error before the welcome ends the attempt; the close follows.
          const e = m.msg.value;
          this.goodbye ??= { closeCode: 4000, code: e.code, message: e.message, retryAfterMs: e.retryAfterMs };
          return;
        }
        if (!this.welcomed) {
          if (m.msg.case === "welcome") {
            this.welcomed = true;
            settled = true;
            clearTimeout(timer);
            resolve(m.msg.value);
          }
          return;
        }
        this.handlers.onMessage(m);
      };
      ws.onclose = (ev) => {
        const d: Drop = { ...(this.goodbye ?? {}), closeCode: this.goodbye?.closeCode || ev.code || 1006 };
        if (!d.message && ev.reason) d.message = ev.reason;
        if (!settled) {
          fail(d);
          return;
        }
        if (this.closed) return;
        this.closed = true;
        this.handlers.onClose(d);
      };
      ws.onerror = () => {
        // onclose follows with the code.
      };
    });
  }

  get open_(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  send(msg: ClientMsg, ref = 0): boolean {
    if (!this.welcomed) return false;
    return this.sendRaw(msg, ref);
  }

  private sendRaw(msg: ClientMsg, ref = 0): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeClient(msg, ref));
    return true;
  }

  /** close ends the socket from our side and reports drop d (unless silent). */
  close(d: Drop, silent = false): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // Browsers only let us send 1000 or 3000–4999.
      const code = d.closeCode === 1000 || (d.closeCode >= 3000 && d.closeCode <= 4999) ? d.closeCode : 1000;
      this.ws?.close(code, d.code ?? "");
    } catch {
      // ignore
    }
    if (!silent) this.handlers.onClose(d);
  }
}
