// VoiceSession owns the room's voice: the microphone (mute, device choice),
// the signalling connection to the voice service with its Reconnector, the
// peer connection, and one PannerNode per remote participant that follows
// their avatar (spatial audio that fades with distance).
import { signal, type ReadonlySignal } from "@preact/signals";
import type { SettingsStore } from "../settings/store";
import type { AudioEngine } from "../room/audio";
import type { ConnStatus } from "../net/reconnector";

export interface VoiceDeps {
  audio: AudioEngine;
  settings: SettingsStore;
  freshToken: () => Promise<string>;
  positionOf: (userId: string) => { x: number; y: number; z: number } | null;
  onConnectTime: (ms: number, ok: boolean) => void;
  onReconnect: (r: { attempts: number; durationMs: number; cause: string; result: "success" | "failed" }) => void;
  myId: () => string;
}

export interface Peer {
  userId: string;
  panner: PannerNode;
  gain: GainNode;
  source: MediaStreamAudioSourceNode | null;
  /** Chrome only plays WebRTC audio through Web Audio when an element consumes the stream too */
  sink: HTMLAudioElement | null;
}

export type MicState = "off" | "asking" | "on" | "denied" | "missing";

export class VoiceSession {
  readonly status = signal<ConnStatus>({ kind: "idle" });
  readonly mic = signal<MicState>("off");
  readonly muted: ReadonlySignal<boolean>;
  readonly speaking = signal<ReadonlySet<string>>(new Set());
  /** user ids whose microphone is muted (their own or a moderator's) */
  readonly mutedPeers = signal<ReadonlySet<string>>(new Set());
  readonly devices = signal<MediaDeviceInfo[]>([]);
  private stream: MediaStream | null = null;
  protected readonly peers = new Map<string, Peer>();
  private url = "";
  private token = "";
  private ice: RTCIceServer[] = [];
  private traceparent = "";

  constructor(protected readonly d: VoiceDeps) {
    this.muted = {
      get value() {
        return d.settings.settings.value.micMuted;
      },
      peek() {
        return d.settings.settings.peek().micMuted;
      },
    } as ReadonlySignal<boolean>;
    navigator.mediaDevices?.addEventListener?.("devicechange", () => void this.listDevices());
  }

  configure(url: string, token: string, ice: RTCIceServer[], traceparent: string): void {
    this.url = url;
    this.token = token;
    this.ice = ice;
    this.traceparent = traceparent;
  }

  get config() {
    return { url: this.url, token: this.token, ice: this.ice, traceparent: this.traceparent };
  }

  /** start opens the microphone; the signalling connection follows it. */
  async start(): Promise<void> {
    await this.openMic();
  }

  async openMic(): Promise<MediaStream | null> {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.mic.value = "missing";
      return null;
    }
    this.mic.value = "asking";
    const id = this.d.settings.value.micDeviceId;
    try {
      const s = await navigator.mediaDevices.getUserMedia({
        audio: { deviceId: id ? { ideal: id } : undefined, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
      this.stream?.getTracks().forEach((t) => t.stop());
      this.stream = s;
      for (const t of s.getAudioTracks()) t.enabled = !this.d.settings.value.micMuted;
      this.mic.value = "on";
      void this.listDevices();
      return s;
    } catch (e) {
      this.mic.value = (e as DOMException).name === "NotFoundError" ? "missing" : "denied";
      return null;
    }
  }

  get micStream(): MediaStream | null {
    return this.stream;
  }

  async listDevices(): Promise<void> {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.devices.value = all.filter((d) => d.kind === "audioinput");
    } catch {
      this.devices.value = [];
    }
  }

  setMuted(m: boolean): void {
    this.d.settings.update({ micMuted: m });
    for (const t of this.stream?.getAudioTracks() ?? []) t.enabled = !m;
    this.onMuteChanged(m);
  }

  /** onMuteChanged tells the server (signalling subclasses override). */
  protected onMuteChanged(_m: boolean): void {}

  async setDevice(deviceId: string): Promise<void> {
    this.d.settings.update({ micDeviceId: deviceId });
    const s = await this.openMic();
    if (s) await this.replaceTrack(s.getAudioTracks()[0] ?? null);
  }

  /** replaceTrack swaps the published track without renegotiating (subclasses override). */
  protected async replaceTrack(_t: MediaStreamTrack | null): Promise<void> {}

  /** attach plays a remote participant's stream through a panner at their avatar. */
  protected attach(userId: string, stream: MediaStream): void {
    const ctx = this.d.audio.ctx;
    let p = this.peers.get(userId);
    if (!p) {
      const panner = new PannerNode(ctx, {
        panningModel: "HRTF",
        distanceModel: "inverse",
        refDistance: 1.5,
        maxDistance: 60,
        rolloffFactor: 1.3,
        coneInnerAngle: 360,
      });
      const gain = ctx.createGain();
      panner.connect(gain).connect(this.d.audio.voiceBus);
      p = { userId, panner, gain, source: null, sink: null };
      this.peers.set(userId, p);
    }
    p.source?.disconnect();
    p.source = ctx.createMediaStreamSource(stream);
    p.source.connect(p.panner);
    if (!p.sink) {
      p.sink = new Audio();
      p.sink.muted = true;
    }
    p.sink.srcObject = stream;
    void p.sink.play().catch(() => {});
  }

  memberLeft(userId: string): void {
    const p = this.peers.get(userId);
    if (!p) return;
    p.source?.disconnect();
    p.panner.disconnect();
    p.gain.disconnect();
    if (p.sink) p.sink.srcObject = null;
    this.peers.delete(userId);
  }

  /** updatePanners moves every voice to its avatar (called each frame). */
  updatePanners(): void {
    const t = this.d.audio.ctx.currentTime;
    for (const p of this.peers.values()) {
      const pos = this.d.positionOf(p.userId);
      if (!pos) continue;
      p.panner.positionX.setTargetAtTime(pos.x, t, 0.03);
      p.panner.positionY.setTargetAtTime(pos.y + 1.6, t, 0.03);
      p.panner.positionZ.setTargetAtTime(pos.z, t, 0.03);
    }
  }

  dispose(): void {
    for (const id of [...this.peers.keys()]) this.memberLeft(id);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }
}
