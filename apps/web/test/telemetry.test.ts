import { fromJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BatchSchema } from "@hearth/shared/hearth/telemetry/v1/telemetry_pb";
import { SettingsStore } from "../src/settings/store";
import { Telemetry } from "../src/telemetry/telemetry";

function setup(serverOn: boolean, optedIn: boolean) {
  const settings = new SettingsStore(null);
  settings.serverDefaults.value = { quality_preset: "auto", enable_lod: true, enable_frustum_culling: true, enable_telemetry: serverOn };
  settings.update({ telemetry: optedIn });
  const posts: { url: string; body: string; token: string | null }[] = [];
  const beacons: { url: string; body: string }[] = [];
  const t = new Telemetry({
    enabled: settings.telemetryEnabled,
    accessToken: () => "tok",
    clientVersion: "test",
    post: async (url, body, token) => {
      posts.push({ url, body, token });
    },
    beacon: (url, body) => {
      beacons.push({ url, body });
      return true;
    },
  });
  return { t, posts, beacons, settings };
}

describe("telemetry", () => {
  it("sends nothing when the server disables it", () => {
    const { t, posts, beacons } = setup(false, true);
    t.join(1000, "lounge");
    t.reconnect("realtime", { attempts: 1, durationMs: 5, cause: "going_away", result: "success" });
    expect(t.flush(false)).toBe(false);
    expect(t.flush(true)).toBe(false);
    expect(posts.length + beacons.length).toBe(0);
  });

  it("sends nothing when the user opted out, even mid-session", () => {
    const { t, posts, settings } = setup(true, true);
    t.join(1000, "lounge");
    settings.update({ telemetry: false });
    t.frameRate({ fpsP50: 60, fpsP5: 40, frames: 1800 }, 30);
    expect(t.flush(false)).toBe(false);
    expect(posts).toEqual([]);
    expect(t.pending).toBe(0);
  });

  it("batches events in the shared schema, with the token only in beacons", () => {
    const { t, posts, beacons } = setup(true, true);
    t.roomId = "r1";
    t.preset = "low";
    t.join(1234.5, "plaza");
    t.voiceConnect(800, true);
    t.reconnect("voice", { attempts: 3, durationMs: 4200, cause: "connection_lost", result: "failed" });
    t.frameRate({ fpsP50: 58.2, fpsP5: 31, frames: 1700 }, 30);
    expect(t.flush(false)).toBe(true);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe("/api/v1/telemetry");
    expect(posts[0]!.token).toBe("tok");
    const b = fromJsonString(BatchSchema, posts[0]!.body);
    expect(b.accessToken).toBe("");
    expect(b.events.map((e) => e.kind.case)).toEqual(["join", "voiceConnect", "reconnect", "frameRate"]);
    expect(b.events[0]).toMatchObject({ roomId: "r1", preset: "low", kind: { value: { durationMs: 1234.5, scene: "plaza" } } });
    expect(b.events[2]!.kind.value).toMatchObject({ connection: "voice", attempts: 3, result: "failed" });
    t.join(10, "lounge");
    expect(t.flush(true)).toBe(true);
    const beacon = fromJsonString(BatchSchema, beacons[0]!.body);
    expect(beacon.accessToken).toBe("tok");
    expect(beacon.events).toHaveLength(1);
  });

  it("flushes by itself at 50 events and keeps batches within the limit", () => {
    const { t, posts } = setup(true, true);
    for (let i = 0; i < 120; i++) t.join(i, "lounge");
    expect(posts.length).toBe(2);
    for (const p of posts) expect(fromJsonString(BatchSchema, p.body).events.length).toBeLessThanOrEqual(50);
  });
});
