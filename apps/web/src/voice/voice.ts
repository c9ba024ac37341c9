// VoiceSession owns the room's voice (docs/protocol.md, Voice): the
// microphone (mute, device choice), the signalling WebSocket with its own
// Reconnector, one RTCPeerConnection to the SFU, and one PannerNode per
// remote participant that follows their avatar, so voices come from where
// people stand and fade with distance. Speaking indicators come from the
// server's active-speaker events.
//
// Recovery, as the voice protocol asks: a signalling drop keeps the peer
// connection and resumes the session on a new socket; an ICE failure asks
// the server for an ICE restart; a failed resume or a dead transport
// rejoins from scratch.
import { signal, type ReadonlySignal } from "@preact/signals";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientMessageSchema,
  ParticipantState,
  ServerMessageSchema,
  type ClientMessage,
  type Participant,
  type ServerMessage,
} from "@hearth/shared/hearth/voice/v1/voice_pb";
import type { SettingsStore } from "../settings/store";
import type { AudioEngine } from "../room/audio";
import { voicePolicyFor } from "../net/closeCodes";
import { DropError, Reconnector, type ConnStatus, type Drop, type Mode } from "../net/reconnector";
import { wsURL } from "../net/room";

export interface VoiceDeps {
  audio: AudioEngine;
  settings: SettingsStore;
  freshToken: () => Promise<string>;
  positionOf: (userId: string) => { x: number; y: number; z: number } | null;
  onConnectTime: (ms: number, ok: boolean) => void;
  onReconnect: (r: { attempts: number; durationMs: number; cause: string; result: "success" | "failed" }) => void;
  myId: () => string;
}

interface Peer {
  userId: string;
  panner: PannerNode;
  gain: GainNode;
  source: MediaStreamAudioSourceNode | null;
  /** Chrome feeds a remote WebRTC stream to Web Audio only while a media element plays it */
  sink: HTMLAudioElement | null;
}

export type MicState = "off" | "asking" | "on" | "denied" | "missing";
export type MediaState = "new" | "connecting" | "connected" | "disconnected" | "failed";

const LOCAL_OFFLINE = 4100;
const LOCAL_TIMEOUT = 4101;
const LOCAL_MEDIA_FAILED = 4102;

type ClientMsg = ClientMessage["msg"];

export class VoiceSession {
  readonly reconnector: Reconnector;
  readonly mic = signal<MicState>("off");
  readonly media = signal<MediaState>("new");
  readonly muted: ReadonlySignal<boolean>;
  /** the server's speakers, replaced by every speakers message */
  readonly speaking = signal<ReadonlySet<string>>(new Set());
  /** user ids whose microphone is muted (their own or a moderator's) */
  readonly mutedPeers = signal<ReadonlySet<string>>(new Set());
  readonly participants = signal<ReadonlyMap<string, Participant>>(new Map());
  readonly devices = signal<MediaDeviceInfo[]>([]);
  /** resumes that kept the peer connection (tests read it) */
  resumes = 0;
  iceRestarts = 0;

  private stream: MediaStream | null = null;
  private pc: RTCPeerConnection | null = null;
  private micTx: RTCRtpTransceiver | null = null;
  private ws: WebSocket | null = null;
  private queue: Promise<void> = Promise.resolve();
  private peers = new Map<string, Peer>();
  private midToUser = new Map<string, string>();
  private url = "";
  private token = "";
  private ice: RTCIceServer[] = [];
  private traceparent = "";
  private roomId = "";
  private resumeToken = "";
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private iceTimer: ReturnType<typeof setTimeout> | null = null;
  private failTimer: ReturnType<typeof setTimeout> | null = null;
  private startedAt = 0;
  private connectReported = false;
  private firstAttempt = true;
  private readonly off: (() => void)[] = [];

  constructor(private readonly d: VoiceDeps) {
    this.muted = {
      get value() {
        return d.settings.settings.value.micMuted;
      },
      peek() {
        return d.settings.settings.peek().micMuted;
      },
    } as ReadonlySignal<boolean>;
    this.reconnector = new Reconnector({
      name: "voice",
      connect: (mode, attempt) => this.connect(mode, attempt),
      policy: voicePolicyFor,
      onReconnected: (r) => d.onReconnect(r),
    });
    const offline = () => {
      this.closeSocket({ closeCode: LOCAL_OFFLINE, code: "offline", message: "You are offline", action: "backoff" });
      this.reconnector.networkChanged(false);
    };
    const online = () => this.reconnector.networkChanged(true);
    const visible = () => document.visibilityState === "visible" && this.reconnector.visible();
    const devices = () => void this.listDevices();
    addEventListener("offline", offline);
    addEventListener("online", online);
    document.addEventListener("visibilitychange", visible);
    navigator.mediaDevices?.addEventListener?.("devicechange", devices);
    this.off.push(
      () => removeEventListener("offline", offline),
      () => removeEventListener("online", online),
      () => document.removeEventListener("visibilitychange", visible),
      () => navigator.mediaDevices?.removeEventListener?.("devicechange", devices),
    );
  }

  get status(): ReadonlySignal<ConnStatus> {
    return this.reconnector.status;
  }

  configure(url: string, token: string, ice: RTCIceServer[], traceparent: string, roomId = ""): void {
    this.url = url;
    this.token = token;
    this.ice = ice;
    this.traceparent = traceparent;
    this.roomId = roomId;
  }

  /** start opens the microphone and connects to the voice service. */
  async start(): Promise<void> {
    if (!this.url || this.reconnector.current.kind !== "idle") return;
    this.startedAt = performance.now();
    await this.openMic();
    this.reconnector.start();
    this.pingTimer = setInterval(() => this.send({ case: "ping", value: { clientTimeMs: Date.now() } as never }), 10_000);
  }

  // ----- microphone -----

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
    this.send({ case: "setMute", value: { muted: m } as never });
  }

  async setDevice(deviceId: string): Promise<void> {
    this.d.settings.update({ micDeviceId: deviceId });
    const s = await this.openMic();
    const track = s?.getAudioTracks()[0] ?? null;
    // The same transceiver, a new track: no renegotiation.
    if (track && this.micTx) await this.micTx.sender.replaceTrack(track);
  }

  // ----- connecting -----

  private async connect(mode: Mode, _attempt: number): Promise<void> {
    if (!this.firstAttempt || mode === "refresh" || mode === "rejoin") {
      try {
        this.token = await this.d.freshToken();
      } catch (e) {
        throw new DropError({ closeCode: 1006, code: "network", message: `Cannot get a voice token: ${String((e as Error).message ?? e)}`, action: "backoff" });
      }
    }
    this.firstAttempt = false;
    const resume = (mode === "resume" || mode === "refresh") && this.resumeToken !== "" && this.pc !== null;
    if (!resume) this.resetPeer();
    const joined = await this.openSocket(resume);
    this.resumeToken = joined.resumeToken;
    this.setParticipants(joined.participants);
    if (joined.resumed && this.pc) {
      this.resumes++;
      return;
    }
    // A fresh session: one offer with the microphone, then the server offers.
    this.resetPeer();
    const pc = this.newPeer();
    const track = this.stream?.getAudioTracks()[0];
    this.micTx = track ? pc.addTransceiver(track, { direction: "sendonly" }) : pc.addTransceiver("audio", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    this.send({ case: "offer", value: { sdp: pc.localDescription!.sdp, revision: 0 } as never });
  }

  private openSocket(resume: boolean): Promise<Extract<ServerMessage["msg"], { case: "joined" }>["value"]> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let goodbye: Drop | null = null;
      const ws = new WebSocket(wsURL(this.url));
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      const timer = setTimeout(() => fail({ closeCode: LOCAL_TIMEOUT, code: "timeout", message: "The voice server did not answer", action: "backoff" }), 12_000);
      const fail = (d: Drop) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          ws.close();
        } catch {
          // closed
        }
        if (this.ws === ws) this.ws = null;
        reject(new DropError(d));
      };
      ws.onopen = () => {
        this.sendOn(ws, {
          case: "join",
          value: {
            token: this.token,
            traceparent: this.traceparent,
            resumeToken: resume ? this.resumeToken : "",
            muted: this.d.settings.value.micMuted,
            protocolVersion: 1,
            roomId: this.roomId,
          } as never,
        });
      };
      ws.onmessage = (ev) => {
        if (!(ev.data instanceof ArrayBuffer)) return;
        let m: ServerMessage;
        try {
          m = fromBinary(ServerMessageSchema, new Uint8Array(ev.data));
        } catch {
          return;
        }
        if (m.msg.case === "goodbye") {
          const g = m.msg.value;
          goodbye = { closeCode: g.closeCode, code: g.code, message: g.message, final: g.final };
          return;
        }
        if (!settled) {
          if (m.msg.case === "joined") {
            settled = true;
            clearTimeout(timer);
            resolve(m.msg.value);
          } else if (m.msg.case === "error") {
            goodbye ??= { closeCode: 4001, code: m.msg.value.code, message: m.msg.value.message };
          }
          return;
        }
        // Apply server messages strictly in order.
        const msg = m;
        this.queue = this.queue.then(() => this.handle(msg)).catch((e) => console.warn("voice:", e));
      };
      ws.onclose = (ev) => {
        const d: Drop = { ...(goodbye ?? {}), closeCode: goodbye?.closeCode || ev.code || 1006 };
        if (!settled) {
          fail(d);
          return;
        }
        if (this.ws !== ws) return;
        this.ws = null;
        this.reconnector.dropped(d);
      };
    });
  }

  private closeSocket(d: Drop): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(1000);
    } catch {
      // closed
    }
    this.reconnector.dropped(d);
  }

  private newPeer(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: this.ice, bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc = pc;
    this.media.value = "connecting";
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      this.send({
        case: "candidate",
        value: (c
          ? { candidate: c.candidate, sdpMid: c.sdpMid ?? "", sdpMlineIndex: c.sdpMLineIndex ?? 0, usernameFragment: c.usernameFragment ?? "" }
          : { candidate: "" }) as never,
      });
    };
    pc.ontrack = (e) => {
      const mid = e.transceiver.mid ?? "";
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      const userId = this.midToUser.get(mid) ?? e.streams[0]?.id ?? "";
      if (userId) this.attach(userId, stream);
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      if (this.iceTimer) clearTimeout(this.iceTimer);
      if (s === "failed") this.askIceRestart();
      else if (s === "disconnected") this.iceTimer = setTimeout(() => this.askIceRestart(), 2000);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      const s = pc.connectionState;
      this.media.value = s === "connected" ? "connected" : s === "failed" ? "failed" : s === "disconnected" ? "disconnected" : "connecting";
      if (s === "connected") {
        if (this.failTimer) clearTimeout(this.failTimer);
        if (!this.connectReported) {
          this.connectReported = true;
          this.d.onConnectTime(performance.now() - this.startedAt, true);
        }
      }
      if (s === "failed") {
        // A restart was asked for; if the transport stays dead, rejoin from scratch.
        this.failTimer = setTimeout(() => {
          if (pc === this.pc && pc.connectionState === "failed") {
            if (!this.connectReported) {
              this.connectReported = true;
              this.d.onConnectTime(performance.now() - this.startedAt, false);
            }
            this.resumeToken = "";
            this.closeSocket({ closeCode: LOCAL_MEDIA_FAILED, code: "media_failed", message: "Voice lost its connection", action: "rejoin" });
          }
        }, 8000);
      }
    };
    return pc;
  }

  private askIceRestart(): void {
    this.iceRestarts++;
    this.send({ case: "restartIce", value: {} as never });
  }

  private resetPeer(): void {
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
    this.micTx = null;
    this.midToUser.clear();
    for (const id of [...this.peers.keys()]) this.memberLeft(id);
    this.media.value = "new";
  }

  // ----- server messages -----

  private async handle(m: ServerMessage): Promise<void> {
    const pc = this.pc;
    const msg = m.msg;
    switch (msg.case) {
      case "answer":
        if (pc) await pc.setRemoteDescription({ type: "answer", sdp: msg.value.sdp });
        break;
      case "offer":
        if (!pc) break;
        await pc.setRemoteDescription({ type: "offer", sdp: msg.value.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        this.send({ case: "answer", value: { sdp: pc.localDescription!.sdp, revision: msg.value.revision } as never });
        break;
      case "tracks": {
        const next = new Map<string, string>();
        for (const t of msg.value.tracks) next.set(t.mid, t.userId);
        const users = new Set(next.values());
        for (const u of this.peers.keys()) if (!users.has(u)) this.memberLeft(u);
        this.midToUser = next;
        // A reused mid may now carry someone else: rewire from the receivers.
        for (const tr of pc?.getTransceivers() ?? []) {
          const uid = tr.mid ? next.get(tr.mid) : undefined;
          if (uid && tr.receiver.track && !this.peers.get(uid)?.source) this.attach(uid, new MediaStream([tr.receiver.track]));
        }
        break;
      }
      case "candidate":
        if (pc && msg.value.candidate) {
          await pc.addIceCandidate({ candidate: msg.value.candidate, sdpMid: msg.value.sdpMid, sdpMLineIndex: msg.value.sdpMlineIndex, usernameFragment: msg.value.usernameFragment || undefined }).catch(() => {});
        }
        break;
      case "participantJoined":
      case "participantUpdated":
        if (msg.value.participant) {
          const map = new Map(this.participants.value);
          map.set(msg.value.participant.userId, msg.value.participant);
          this.setParticipants([...map.values()]);
        }
        break;
      case "participantLeft": {
        const map = new Map(this.participants.value);
        map.delete(msg.value.userId);
        this.setParticipants([...map.values()]);
        this.memberLeft(msg.value.userId);
        break;
      }
      case "speakers":
        this.speaking.value = new Set(msg.value.speakers.filter((s) => s.level > 0).map((s) => s.userId));
        break;
      default:
        break;
    }
  }

  private setParticipants(ps: Participant[]): void {
    const map = new Map<string, Participant>();
    const muted = new Set<string>();
    for (const p of ps) {
      map.set(p.userId, p);
      if (p.muted || p.serverMuted) muted.add(p.userId);
    }
    this.participants.value = map;
    this.mutedPeers.value = muted;
  }

  /** serverMuted: a moderator muted this user for everyone. */
  serverMuted(userId: string): boolean {
    return !!this.participants.value.get(userId)?.serverMuted;
  }

  reconnecting(userId: string): boolean {
    return this.participants.value.get(userId)?.state === ParticipantState.RECONNECTING;
  }

  private send(msg: ClientMsg): void {
    if (this.ws) this.sendOn(this.ws, msg);
  }

  private sendOn(ws: WebSocket, msg: ClientMsg): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(toBinary(ClientMessageSchema, create(ClientMessageSchema, { msg })));
  }

  // ----- spatial audio -----

  private attach(userId: string, stream: MediaStream): void {
    if (userId === this.d.myId()) return;
    const ctx = this.d.audio.ctx;
    let p = this.peers.get(userId);
    if (!p) {
      const panner = new PannerNode(ctx, {
        panningModel: "HRTF",
        distanceModel: "inverse",
        refDistance: 1.5,
        maxDistance: 60,
        rolloffFactor: 1.3,
      });
      const gain = ctx.createGain();
      panner.connect(gain).connect(this.d.audio.voiceBus);
      p = { userId, panner, gain, source: null, sink: null };
      this.peers.set(userId, p);
    }
    p.source?.disconnect();
    p.source = ctx.createMediaStreamSource(stream);
    p.source.connect(p.panner);
    p.sink ??= Object.assign(new Audio(), { muted: true });
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

  /** updatePanners moves every voice to its avatar's head (called each frame). */
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
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.iceTimer) clearTimeout(this.iceTimer);
    if (this.failTimer) clearTimeout(this.failTimer);
    for (const f of this.off) f();
    this.send({ case: "leave", value: {} as never });
    const ws = this.ws;
    this.ws = null;
    this.reconnector.stop();
    try {
      ws?.close(1000);
    } catch {
      // closed
    }
    this.resetPeer();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }
}
