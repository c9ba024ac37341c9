import type { AppContext } from "../../app/context";
import type { RoomController } from "../../room/controller";
import type { Toggle } from "../../settings/store";
import { PRESET_CHOICES } from "../../world/presets";

function Seg<T extends string>({ value, options, onChange, testid }: { value: T; options: [T, string][]; onChange: (v: T) => void; testid: string }) {
  return (
    <div class="seg" data-testid={testid}>
      {options.map(([v, label]) => (
        <button type="button" class={value === v ? "active" : ""} onClick={() => onChange(v)} data-value={v}>
          {label}
        </button>
      ))}
    </div>
  );
}

export function SettingsPanel({ ctx, ctrl, onClose }: { ctx: AppContext; ctrl: RoomController; onClose: () => void }) {
  const s = ctx.settings.value;
  const g = ctx.settings.graphics.value;
  const up = ctx.settings.update.bind(ctx.settings);
  const devices = ctrl.voice.devices.value;
  const serverTelemetry = !!ctx.config.value?.enable_telemetry;
  const toggleOpts = (def: boolean): [Toggle, string][] => [
    ["default", `Default (${def ? "on" : "off"})`],
    ["on", "On"],
    ["off", "Off"],
  ];
  return (
    <div class="glass settings" data-testid="settings">
      <div class="row">
        <h3>Settings</h3>
        <span class="spacer" />
        <button class="btn small" onClick={onClose}>
          Close
        </button>
      </div>
      <div class="group">
        <label class="field">
          Graphics quality <span class="muted">(in use: {g.preset === "auto" ? `auto, ${ctrl.world.preset.name}` : g.preset})</span>
        </label>
        <Seg
          testid="quality"
          value={s.quality}
          onChange={(v) => up({ quality: v })}
          options={[["default", "Default"], ...PRESET_CHOICES.map((p): [typeof p, string] => [p, p[0]!.toUpperCase() + p.slice(1)])]}
        />
        <label class="field">Level of detail</label>
        <Seg testid="lod" value={s.lod} onChange={(v) => up({ lod: v })} options={toggleOpts(ctx.config.value?.enable_lod ?? true)} />
        <label class="field">Skip what is off screen (culling)</label>
        <Seg testid="culling" value={s.culling} onChange={(v) => up({ culling: v })} options={toggleOpts(ctx.config.value?.enable_frustum_culling ?? true)} />
        <label class="toggle">
          Name tags
          <input type="checkbox" checked={s.nameTags} onChange={(e) => up({ nameTags: e.currentTarget.checked })} />
        </label>
        <label class="toggle">
          Performance overlay
          <input type="checkbox" checked={s.showStats} onChange={(e) => up({ showStats: e.currentTarget.checked })} data-testid="show-stats" />
        </label>
      </div>
      <div class="group">
        <label class="field">
          Volume
          <input type="range" min={0} max={1} step={0.01} value={s.masterVolume} onInput={(e) => up({ masterVolume: Number(e.currentTarget.value) })} />
        </label>
        <label class="field">
          Voices
          <input type="range" min={0} max={1} step={0.01} value={s.voiceVolume} onInput={(e) => up({ voiceVolume: Number(e.currentTarget.value) })} />
        </label>
        <label class="field">
          Music
          <input type="range" min={0} max={1} step={0.01} value={s.musicVolume} onInput={(e) => up({ musicVolume: Number(e.currentTarget.value) })} />
        </label>
        <label class="field">
          Microphone
          <select class="input" value={s.micDeviceId} onChange={(e) => void ctrl.voice.setDevice(e.currentTarget.value)} data-testid="mic-device">
            <option value="">System default</option>
            {devices.map((d, i) => (
              <option value={d.deviceId}>{d.label || `Microphone ${i + 1}`}</option>
            ))}
          </select>
        </label>
      </div>
      <div class="group">
        <label class="toggle">
          Share anonymous performance data
          <input type="checkbox" checked={s.telemetry} disabled={!serverTelemetry} onChange={(e) => up({ telemetry: e.currentTarget.checked })} data-testid="telemetry-opt" />
        </label>
        <div class="muted" style={{ fontSize: "12.5px" }}>
          {serverTelemetry ? "Join time, reconnects and frame rate help the operators keep Hearth fast." : "This server does not collect performance data."}
        </div>
        <button class="btn small" onClick={() => ctx.settings.reset()}>
          Reset to defaults
        </button>
      </div>
    </div>
  );
}
