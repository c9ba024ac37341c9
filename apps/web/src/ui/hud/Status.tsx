import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { AppContext } from "../../app/context";
import { navigate } from "../../app/router";
import type { ConnStatus } from "../../net/reconnector";
import type { RoomController } from "../../room/controller";

/** describeStatus turns a connection state into a dot colour and words. */
export function describeStatus(s: ConnStatus, now: number): { tone: "ok" | "warn" | "bad" | ""; text: string } {
  switch (s.kind) {
    case "idle":
      return { tone: "", text: "Not connected" };
    case "connecting":
      return { tone: "warn", text: "Connecting…" };
    case "connected":
      return { tone: "ok", text: "Connected" };
    case "reconnecting": {
      if (s.nextAt === null) return { tone: "warn", text: `Reconnecting… (attempt ${s.attempt})` };
      const secs = Math.max(0, Math.ceil((s.nextAt - now) / 1000));
      return { tone: "warn", text: `Reconnecting: attempt ${s.attempt}, next try in ${secs} s` };
    }
    case "offline":
      return { tone: "bad", text: "Offline: waiting for the network" };
    case "failed":
      return { tone: "bad", text: s.reason };
  }
}

export function StatusBar({ ctrl }: { ctrl: RoomController }) {
  const now = useSignal(Date.now());
  useEffect(() => {
    const t = setInterval(() => (now.value = Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  const rt = ctrl.session.status.value;
  const v = ctrl.voice.status.value;
  const r = describeStatus(rt, now.value);
  const vd = describeStatus(v, now.value);
  const mic = ctrl.voice.mic.value;
  const media = ctrl.voice.media.value;
  const voiceOn = v.kind === "connected" && media === "connected";
  const canRetry = (rt.kind === "reconnecting" && rt.nextAt !== null) || rt.kind === "offline";
  return (
    <div class="glass status" data-testid="status" data-state={rt.kind} aria-live="polite">
      <span class={`dot ${r.tone}`} />
      <span data-testid="status-text">{r.text}</span>
      {canRetry && (
        <button class="btn small" onClick={() => ctrl.session.reconnector.retryNow()} data-testid="retry-now">
          Retry now
        </button>
      )}
      <span class="sep" />
      <span class={`dot ${mic === "denied" || mic === "missing" ? "bad" : v.kind === "connected" && !voiceOn ? "warn" : vd.tone}`} />
      <span data-testid="voice-status" data-state={voiceOn ? "connected" : v.kind}>
        Voice:{" "}
        {voiceOn
          ? mic === "denied"
            ? "listening (microphone blocked)"
            : mic === "missing"
              ? "listening (no microphone)"
              : "on"
          : v.kind === "connected"
            ? "connecting…"
            : vd.text.toLowerCase()}
      </span>
    </div>
  );
}

export function FailedDialog({ ctx, ctrl, code, reason, retryable }: { ctx: AppContext; ctrl: RoomController; code: string; reason: string; retryable: boolean }) {
  const signedOut = code === "signed_out" || !ctx.api.user.value;
  return (
    <div class="overlay" data-testid="failed">
      <div class="glass dialog">
        <h2>{signedOut ? "You were signed out" : code === "replaced" ? "Opened elsewhere" : "You left the room"}</h2>
        <p class="muted">{reason}</p>
        <div class="row">
          {retryable && (
            <button class="btn primary" onClick={() => ctrl.session.reconnector.retryNow()}>
              Try again
            </button>
          )}
          {code === "replaced" && (
            <button class="btn primary" onClick={() => location.reload()}>
              Use this window
            </button>
          )}
          <button class={`btn ${retryable || code === "replaced" ? "" : "primary"}`} onClick={() => navigate("/")}>
            {signedOut ? "Sign in" : "Back to the lobby"}
          </button>
        </div>
      </div>
    </div>
  );
}
