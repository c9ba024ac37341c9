import type { Signal } from "@preact/signals";
import type { AppContext } from "../../app/context";
import type { RoomController } from "../../room/controller";
import { GearIcon, MicIcon, MicOffIcon, MusicIcon, PeopleIcon } from "./icons";

export function Controls({ ctx, ctrl, panel, settingsOpen }: { ctx: AppContext; ctrl: RoomController; panel: Signal<"people" | "music" | null>; settingsOpen: Signal<boolean> }) {
  const muted = ctx.settings.value.micMuted;
  const mic = ctrl.voice.mic.value;
  const toggle = (p: "people" | "music") => (panel.value = panel.value === p ? null : p);
  return (
    <div class="glass controls" data-testid="controls">
      <button
        class={`btn icon ${muted ? "" : "on"}`}
        title={muted ? "Unmute (M)" : "Mute (M)"}
        aria-pressed={!muted}
        data-testid="mic-toggle"
        data-muted={muted ? "1" : "0"}
        disabled={mic === "denied" || mic === "missing"}
        onClick={() => ctrl.voice.setMuted(!muted)}
      >
        {muted ? <MicOffIcon /> : <MicIcon />}
      </button>
      <button class={`btn icon ${panel.value === "people" ? "on" : ""}`} title="People" onClick={() => toggle("people")} data-testid="toggle-people">
        <PeopleIcon />
      </button>
      <button class={`btn icon ${panel.value === "music" ? "on" : ""}`} title="Music" onClick={() => toggle("music")} data-testid="toggle-music">
        <MusicIcon />
      </button>
      <button class={`btn icon ${settingsOpen.value ? "on" : ""}`} title="Settings" onClick={() => (settingsOpen.value = !settingsOpen.value)} data-testid="toggle-settings">
        <GearIcon />
      </button>
    </div>
  );
}
