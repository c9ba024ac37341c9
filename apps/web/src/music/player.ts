// MusicPlayer plays the room's music in sync: it follows the PlayerState
// the realtime socket relays, fetches a signed stream URL for the current
// track, and steers an <audio> element (routed through the music gain bus)
// to the server timeline with the corrections in sync.ts.
import { computed, effect, signal, type ReadonlySignal } from "@preact/signals";
import type { PlayerState } from "@hearth/shared/hearth/music/v1/music_pb";
import type { Api } from "../net/api";
import type { ServerClock } from "../net/clock";
import type { AudioEngine } from "../room/audio";
import type { SettingsStore } from "../settings/store";
import { DriftStats, correct, targetPositionMs } from "./sync";

export interface LibraryTrack {
  id: string;
  title: string;
  artist: string;
  album: string;
  duration_ms: number;
}

export interface MusicDeps {
  api: Api;
  roomId: string;
  audio: AudioEngine;
  clock: ServerClock;
  state: ReadonlySignal<PlayerState | null>;
  settings: SettingsStore;
}

export class MusicPlayer {
  readonly drift = new DriftStats();
  readonly lastDriftMs = signal<number | null>(null);
  readonly error = signal<string | null>(null);
  readonly positionMs = signal(0);
  readonly current: ReadonlySignal<PlayerState["current"] | undefined>;
  private el: HTMLAudioElement | null = null;
  private source: MediaElementAudioSourceNode | null = null;
  private loadedEntry = "";
  private timer: ReturnType<typeof setInterval>;
  private readonly off: (() => void)[] = [];
  seeks = 0;
  private lastRefetch = 0;
  /** this listener's own music volume (the settings store keeps it) */
  readonly volume: ReadonlySignal<number>;

  constructor(private readonly d: MusicDeps) {
    this.current = computed(() => d.state.value?.current);
    this.volume = computed(() => d.settings.settings.value.musicVolume);
    this.off.push(effect(() => void this.follow(d.state.value)));
    this.timer = setInterval(() => this.steer(), 200);
  }

  private ensureElement(): HTMLAudioElement {
    if (this.el) return this.el;
    const el = new Audio();
    el.preload = "auto";
    el.crossOrigin = "anonymous";
    // Keep the pitch when nudging the rate.
    (el as HTMLAudioElement & { preservesPitch?: boolean }).preservesPitch = true;
    // A signed URL can expire during a long pause: fetch a new one (at most every 5 s).
    el.addEventListener("error", () => {
      const now = performance.now();
      if (!this.loadedEntry || now - this.lastRefetch < 5000) return;
      this.lastRefetch = now;
      const entry = this.loadedEntry;
      this.loadedEntry = "";
      void this.follow(this.d.state.value).then(() => {
        if (!this.loadedEntry) this.loadedEntry = entry;
      });
    });
    this.source = this.d.audio.ctx.createMediaElementSource(el);
    this.source.connect(this.d.audio.musicBus);
    this.el = el;
    return el;
  }

  private async follow(s: PlayerState | null): Promise<void> {
    const cur = s?.current;
    if (!s || !cur?.track) {
      this.el?.pause();
      this.loadedEntry = "";
      return;
    }
    const el = this.ensureElement();
    if (this.loadedEntry !== cur.id) {
      this.loadedEntry = cur.id;
      this.drift.reset();
      try {
        const r = await this.d.api.request<{ url: string }>("GET", `/music/tracks/${encodeURIComponent(cur.track.id)}/stream-url`);
        if (this.loadedEntry !== cur.id) return;
        el.src = r.url;
        this.error.value = null;
      } catch (e) {
        this.error.value = `Cannot load the track: ${String((e as Error).message ?? e)}`;
        return;
      }
    }
    this.steer();
  }

  /** steer runs a few times a second: play/pause to match, then correct drift. */
  private steer(): void {
    const s = this.d.state.value;
    const el = this.el;
    if (!s?.current?.track || !el || !el.src) return;
    const target = targetPositionMs(
      { positionMs: s.positionMs, serverTimeMs: s.serverTimeMs, paused: s.paused, durationMs: s.current.track.durationMs },
      this.d.clock.serverNow(),
    );
    this.positionMs.value = target;
    if (s.paused) {
      if (!el.paused) el.pause();
      if (Math.abs(el.currentTime * 1000 - target) > 50 && el.readyState >= 1) el.currentTime = target / 1000;
      return;
    }
    if (el.readyState < 1) return;
    if (el.paused) {
      el.currentTime = target / 1000;
      void el.play().catch(() => {
        // Autoplay blocked: the HUD's sound hint resumes it on the next gesture.
      });
      return;
    }
    const driftMs = el.currentTime * 1000 - target;
    this.lastDriftMs.value = driftMs;
    const c = correct(driftMs);
    if (c.seek) {
      // Seeking lands a little late; aim slightly ahead of where it will resume.
      el.currentTime = (target + 30) / 1000;
      el.playbackRate = 1;
      this.seeks++;
      this.drift.reset();
      return;
    }
    this.drift.add(driftMs);
    el.playbackRate = c.rate;
  }

  /** report is what the sync browser test reads: position vs the server timeline. */
  report(): { positionMs: number; targetMs: number; driftMs: number | null; median: number; max: number; n: number; seeks: number } {
    const s = this.drift.summary();
    return {
      positionMs: (this.el?.currentTime ?? 0) * 1000,
      targetMs: this.positionMs.value,
      driftMs: this.lastDriftMs.value,
      median: s.medianMs,
      max: s.maxMs,
      n: s.n,
      seeks: this.seeks,
    };
  }

  setVolume(v: number): void {
    this.d.settings.update({ musicVolume: v });
  }

  // ----- controls (HTTP; permissions are the server's) -----
  private call(method: string, path: string, body?: unknown) {
    return this.d.api.request(method, `/rooms/${encodeURIComponent(this.d.roomId)}/music${path}`, body);
  }
  play() {
    return this.call("POST", "/play");
  }
  pause() {
    return this.call("POST", "/pause");
  }
  skip() {
    return this.call("POST", "/skip");
  }
  voteSkip() {
    return this.call("POST", "/vote-skip");
  }
  seek(positionMs: number) {
    return this.call("POST", "/seek", { position_ms: Math.round(positionMs) });
  }
  enqueue(trackId: string) {
    return this.call("POST", "/queue", { track_id: trackId });
  }
  remove(entryId: string) {
    return this.call("DELETE", `/queue/${encodeURIComponent(entryId)}`);
  }
  /** upload adds an audio file to the library (multipart, field "file"). */
  async upload(file: File): Promise<LibraryTrack> {
    const f = new FormData();
    f.append("file", file, file.name);
    const r = await this.d.api.request<{ track: LibraryTrack; duplicate: boolean }>("POST", "/music/tracks", f);
    return r.track;
  }
  library(q = ""): Promise<{ tracks: LibraryTrack[] }> {
    return this.d.api.request("GET", `/music/tracks${q ? `?q=${encodeURIComponent(q)}` : ""}`);
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const f of this.off) f();
    this.el?.pause();
    if (this.el) this.el.src = "";
    this.source?.disconnect();
  }
}
