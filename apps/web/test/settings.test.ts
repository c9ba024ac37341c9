import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, SETTINGS_KEY, SettingsStore, parseSettings, resolveGraphics } from "../src/settings/store";

class MemKV {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe("settings store", () => {
  it("falls back to defaults on missing or corrupt data", () => {
    for (const bad of [null, "", "{", "null", "42", '"x"', "[]", "[1,2]", "{}", "\u0000garbage"]) {
      expect(parseSettings(bad)).toEqual(DEFAULT_SETTINGS);
    }
  });

  it("validates field by field", () => {
    const s = parseSettings(
      JSON.stringify({ version: 2, quality: "ultra", lod: "off", culling: 3, masterVolume: 7, musicVolume: -2, micDeviceId: {}, nameTags: "yes", micMuted: true }),
    );
    expect(s.quality).toBe("default");
    expect(s.lod).toBe("off");
    expect(s.culling).toBe("default");
    expect(s.masterVolume).toBe(1);
    expect(s.musicVolume).toBe(0);
    expect(s.micDeviceId).toBe("");
    expect(s.nameTags).toBe(true);
    expect(s.micMuted).toBe(true);
    expect(parseSettings(JSON.stringify({ version: 2, voiceVolume: NaN })).voiceVolume).toBe(1);
  });

  it("migrates version 1", () => {
    const s = parseSettings(JSON.stringify({ version: 1, preset: "low", graphics: { lod: false, culling: true }, volume: 0.25, mic: "abc" }));
    expect(s).toMatchObject({ version: 2, quality: "low", lod: "off", culling: "on", masterVolume: 0.25, micDeviceId: "abc" });
    expect(parseSettings(JSON.stringify({ preset: 5, graphics: "x" }))).toEqual(DEFAULT_SETTINGS);
  });

  it("persists updates and survives a storage that throws", () => {
    const kv = new MemKV();
    const st = new SettingsStore(kv);
    st.update({ quality: "high", musicVolume: 0.3 });
    expect(JSON.parse(kv.getItem(SETTINGS_KEY)!)).toMatchObject({ version: 2, quality: "high", musicVolume: 0.3 });
    expect(new SettingsStore(kv).value.quality).toBe("high");
    // An invalid value through update is rejected, not stored.
    st.update({ quality: "bogus" as never });
    expect(st.value.quality).toBe("default");

    const broken = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
    };
    const b = new SettingsStore(broken);
    expect(b.value).toEqual(DEFAULT_SETTINGS);
    b.update({ micMuted: true });
    expect(b.value.micMuted).toBe(true);
  });

  it("server defaults apply unless the user chose otherwise", () => {
    const d = { quality_preset: "low", enable_lod: false, enable_frustum_culling: true, enable_telemetry: true };
    expect(resolveGraphics(DEFAULT_SETTINGS, d)).toEqual({ preset: "low", lod: false, culling: true });
    expect(resolveGraphics({ ...DEFAULT_SETTINGS, quality: "high", lod: "on", culling: "off" }, d)).toEqual({ preset: "high", lod: true, culling: false });
    expect(resolveGraphics(DEFAULT_SETTINGS, null)).toEqual({ preset: "auto", lod: true, culling: true });
    const st = new SettingsStore(new MemKV());
    expect(st.telemetryEnabled.value).toBe(false);
    st.serverDefaults.value = d;
    expect(st.telemetryEnabled.value).toBe(true);
    expect(st.graphics.value.preset).toBe("low");
    st.update({ telemetry: false });
    expect(st.telemetryEnabled.value).toBe(false);
  });
});
