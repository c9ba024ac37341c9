// The user's settings, persisted in localStorage under a versioned schema.
// Every field is validated on load: corrupt JSON, a wrong type or an old
// version falls back to defaults (field by field), never to a crash.
// "default" values defer to the server's GET /api/v1/config.
import { computed, signal, type ReadonlySignal, type Signal } from "@preact/signals";
import { PRESET_CHOICES, type PresetChoice } from "../world/presets";

export const SETTINGS_KEY = "hearth.settings";
export const SETTINGS_VERSION = 2;

export type Toggle = "default" | "on" | "off";

export interface Settings {
  version: typeof SETTINGS_VERSION;
  quality: PresetChoice | "default";
  lod: Toggle;
  culling: Toggle;
  /** false when the user opted out of telemetry */
  telemetry: boolean;
  masterVolume: number;
  voiceVolume: number;
  musicVolume: number;
  /** "" = the system default microphone */
  micDeviceId: string;
  micMuted: boolean;
  nameTags: boolean;
  showStats: boolean;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  version: SETTINGS_VERSION,
  quality: "default",
  lod: "default",
  culling: "default",
  telemetry: true,
  masterVolume: 1,
  voiceVolume: 1,
  musicVolume: 0.6,
  micDeviceId: "",
  micMuted: false,
  nameTags: true,
  showStats: false,
});

/** The server's client defaults (GET /api/v1/config). */
export interface ServerDefaults {
  quality_preset: string;
  enable_lod: boolean;
  enable_frustum_culling: boolean;
  enable_telemetry: boolean;
}

export interface Graphics {
  preset: PresetChoice;
  lod: boolean;
  culling: boolean;
}

type Validator<T> = (v: unknown) => T | undefined;

const oneOf =
  <T extends string>(values: readonly T[]): Validator<T> =>
  (v) =>
    typeof v === "string" && (values as readonly string[]).includes(v) ? (v as T) : undefined;
const bool: Validator<boolean> = (v) => (typeof v === "boolean" ? v : undefined);
const unit: Validator<number> = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : undefined);
const deviceId: Validator<string> = (v) => (typeof v === "string" && v.length <= 512 ? v : undefined);

const fields: { [K in Exclude<keyof Settings, "version">]: Validator<Settings[K]> } = {
  quality: oneOf<PresetChoice | "default">(["default", ...PRESET_CHOICES]),
  lod: oneOf<Toggle>(["default", "on", "off"]),
  culling: oneOf<Toggle>(["default", "on", "off"]),
  telemetry: bool,
  masterVolume: unit,
  voiceVolume: unit,
  musicVolume: unit,
  micDeviceId: deviceId,
  micMuted: bool,
  nameTags: bool,
  showStats: bool,
};

/** migrate turns older schemas into the current field names. */
function migrate(raw: Record<string, unknown>): Record<string, unknown> {
  const version = typeof raw.version === "number" ? raw.version : 1;
  if (version === 1) {
    // v1 stored {preset: "low"|…, graphics: {lod, culling}, volume, mic}.
    const g = (typeof raw.graphics === "object" && raw.graphics) || {};
    const toggle = (b: unknown) => (typeof b === "boolean" ? (b ? "on" : "off") : undefined);
    return {
      quality: raw.preset,
      lod: toggle((g as Record<string, unknown>).lod),
      culling: toggle((g as Record<string, unknown>).culling),
      masterVolume: raw.volume,
      micDeviceId: raw.mic,
    };
  }
  return raw;
}

/** parseSettings validates stored JSON; anything unusable becomes the default. */
export function parseSettings(json: string | null): Settings {
  const out: Settings = { ...DEFAULT_SETTINGS };
  if (json === null) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return out;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return out;
  const data = migrate(raw as Record<string, unknown>);
  for (const key of Object.keys(fields) as (keyof typeof fields)[]) {
    const v = (fields[key] as Validator<unknown>)(data[key]);
    if (v !== undefined) (out as unknown as Record<string, unknown>)[key] = v;
  }
  return out;
}

/** resolveGraphics applies the user's choices over the server's defaults. */
export function resolveGraphics(s: Settings, d: ServerDefaults | null): Graphics {
  const serverPreset = oneOf<PresetChoice>(PRESET_CHOICES)(d?.quality_preset) ?? "auto";
  const t = (v: Toggle, def: boolean | undefined) => (v === "default" ? (def ?? true) : v === "on");
  return {
    preset: s.quality === "default" ? serverPreset : s.quality,
    lod: t(s.lod, d?.enable_lod),
    culling: t(s.culling, d?.enable_frustum_culling),
  };
}

export interface KV {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
}

export class SettingsStore {
  private readonly _s: Signal<Settings>;
  readonly serverDefaults = signal<ServerDefaults | null>(null);
  readonly settings: ReadonlySignal<Settings>;
  readonly graphics: ReadonlySignal<Graphics>;
  /** telemetry is on when the server collects it and the user has not opted out */
  readonly telemetryEnabled: ReadonlySignal<boolean>;

  constructor(private readonly kv: KV | null) {
    let json: string | null = null;
    try {
      json = kv?.getItem(SETTINGS_KEY) ?? null;
    } catch {
      json = null;
    }
    this._s = signal<Settings>(parseSettings(json));
    this.settings = this._s;
    this.graphics = computed(() => resolveGraphics(this._s.value, this.serverDefaults.value));
    this.telemetryEnabled = computed(() => !!this.serverDefaults.value?.enable_telemetry && this._s.value.telemetry);
  }

  get value(): Settings {
    return this._s.value;
  }

  /** update validates and stores a change; invalid values are ignored. */
  update(patch: Partial<Omit<Settings, "version">>): void {
    const next = parseSettings(JSON.stringify({ ...this._s.value, ...patch }));
    this._s.value = next;
    try {
      this.kv?.setItem(SETTINGS_KEY, JSON.stringify(next));
    } catch {
      // Storage full or disabled (private mode): settings still apply for this tab.
    }
  }

  reset(): void {
    this.update({ ...DEFAULT_SETTINGS });
  }
}
