// The room: a full-window 3D view with the HUD on top. The HUD only reads
// signals (connection status, members, chat, voice, music, settings) and
// calls the controller; it never touches three.js.
import { useSignal, useComputed } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { AppContext } from "../app/context";
import { navigate } from "../app/router";
import { RoomController } from "../room/controller";
import { Chat } from "./hud/Chat";
import { Participants } from "./hud/Participants";
import { SettingsPanel } from "./hud/SettingsPanel";
import { StatusBar, FailedDialog } from "./hud/Status";
import { Controls } from "./hud/Controls";
import { Joystick } from "./hud/Joystick";
import { MusicPanel } from "./hud/MusicPanel";
import { Stats } from "./hud/Stats";
import { SpeakerIcon } from "./hud/icons";

/** CopyLink copies an address that brings a friend into this room (the invite link for private rooms). */
function CopyLink({ ctrl }: { ctrl: RoomController }) {
  const done = useSignal(false);
  const room = ctrl.session.joinAnswer?.room;
  if (!room) return null;
  const url = room.visibility === "private" && room.invite_code ? `${location.origin}/invite/${room.invite_code}` : `${location.origin}/rooms/${room.id}`;
  return (
    <button
      class="btn small"
      title={url}
      onClick={() => {
        void navigator.clipboard?.writeText(url).then(() => {
          done.value = true;
          setTimeout(() => (done.value = false), 1500);
        });
      }}
    >
      {done.value ? "Copied" : "Copy link"}
    </button>
  );
}

export function RoomScreen({ ctx, roomId, inviteCode }: { ctx: AppContext; roomId: string; inviteCode?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const ctrl = useSignal<RoomController | null>(null);
  // On a narrow screen the panels start closed so the room is visible.
  const panel = useSignal<"people" | "music" | null>(matchMedia("(max-width: 820px)").matches ? null : "people");
  const touch = matchMedia("(pointer: coarse)").matches;
  const settingsOpen = useSignal(false);
  const helpOpen = useSignal(!localStorage.getItem("hearth.helpSeen"));
  const t0 = useRef(performance.now());

  useEffect(() => {
    const c = new RoomController(ctx, host.current!, roomId, inviteCode, t0.current);
    ctrl.value = c;
    (window as unknown as { __hearth: Record<string, unknown> }).__hearth.room = c;
    c.start();
    const key = (e: KeyboardEvent) => {
      const el = document.activeElement as HTMLElement | null;
      const typing = el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
      if (typing) return;
      if (e.key === "m" || e.key === "M") c.voice.setMuted(!ctx.settings.value.micMuted);
      if (e.key === "Enter") {
        (document.querySelector("[data-testid=chat-input]") as HTMLInputElement | null)?.focus();
        e.preventDefault();
      }
    };
    addEventListener("keydown", key);
    return () => {
      removeEventListener("keydown", key);
      c.leave();
      ctrl.value = null;
    };
  }, [roomId]);

  const c = ctrl.value;
  const status = c?.session.status.value;
  const failed = status?.kind === "failed" ? status : null;
  const roomName = useComputed(() => ctrl.value?.session.info.value?.name ?? ctrl.value?.session.joinAnswer?.room.name ?? "");

  return (
    <div class="room" ref={host} data-testid="room">
      {c && (
        <div class="hud">
          <div class="hud-top">
            <div class="glass room-title">
              <button class="btn small" onClick={() => navigate("/")} title="Back to the lobby" data-testid="leave">
                ← Leave
              </button>
              <span class="name" data-testid="room-name">
                {roomName.value}
              </span>
              <CopyLink ctrl={c} />
            </div>
            <StatusBar ctrl={c} />
            <span class="spacer" />
          </div>
          {ctx.settings.value.showStats && <Stats ctrl={c} />}
          <div class="side">
            <Participants ctrl={c} hidden={panel.value !== "people"} />
            <MusicPanel ctrl={c} hidden={panel.value !== "music"} />
          </div>
          {settingsOpen.value && <SettingsPanel ctx={ctx} ctrl={c} onClose={() => (settingsOpen.value = false)} />}
          <Chat ctrl={c} />
          <Controls ctx={ctx} ctrl={c} panel={panel} settingsOpen={settingsOpen} />
          <Joystick ctrl={c} />
          {c.audio.blocked.value && !c.loading.value && (
            <div class="glass hint" data-testid="sound-hint">
              <SpeakerIcon /> Click anywhere to turn on sound
            </div>
          )}
          {helpOpen.value && !c.loading.value && !failed && (
            <div class="glass toast" data-testid="help">
              <div class="row wrap" style={{ fontSize: "13.5px", maxWidth: "560px" }}>
                {touch ? (
                  <span>Move with the stick, tap the ground to walk there, drag to look around, pinch to zoom.</span>
                ) : (
                  <span>
                    Move with <kbd>W</kbd>
                    <kbd>A</kbd>
                    <kbd>S</kbd>
                    <kbd>D</kbd> or arrows, click the ground to walk there, drag to look around, <kbd>Enter</kbd> to chat, <kbd>M</kbd> to mute.
                  </span>
                )}
                <button
                  class="btn small"
                  onClick={() => {
                    helpOpen.value = false;
                    try {
                      localStorage.setItem("hearth.helpSeen", "1");
                    } catch {
                      // ignore
                    }
                  }}
                >
                  Got it
                </button>
              </div>
            </div>
          )}
        </div>
      )}
      {c && (c.loading.value || c.loadError.value) && !failed && (
        <div class="loading">
          <div style={{ textAlign: "center" }}>
            {c.loadError.value ? (
              <>
                <p class="error-text">{c.loadError.value}</p>
                <button class="btn" onClick={() => location.reload()}>
                  Reload
                </button>
              </>
            ) : (
              <>
                <div class="spinner" />
                <div class="muted">{status?.kind === "reconnecting" ? `Connecting… (attempt ${status.attempt})` : "Entering the room…"}</div>
              </>
            )}
          </div>
        </div>
      )}
      {c && failed && <FailedDialog ctx={ctx} ctrl={c} code={failed.code} reason={failed.reason} retryable={failed.retryable} />}
    </div>
  );
}
