// RoomController wires one room visit together: the 3D world, the realtime
// session, audio (and voice and music when present), settings and
// telemetry. It is the only place that knows all of them; each of them
// knows nothing of the others.
import { effect, signal } from "@preact/signals";
import * as THREE from "three";
import type { AppContext } from "../app/context";
import type { JoinAnswer } from "../net/api";
import { RoomSession, type MemberView } from "../net/room";
import { World } from "../world/world";
import { AudioEngine } from "./audio";
import { VoiceSession } from "../voice/voice";
import { MusicPlayer } from "../music/player";

export class RoomController {
  readonly world: World;
  readonly session: RoomSession;
  readonly audio: AudioEngine;
  readonly voice: VoiceSession;
  readonly music: MusicPlayer;
  readonly loading = signal(true);
  readonly loadError = signal<string | null>(null);
  readonly scene = signal<string>("");
  private spawned = false;
  /** guests can listen and queue, but not upload */
  get guest(): boolean {
    return this.ctx.api.user.value?.guest ?? true;
  }
  private readonly disposers: (() => void)[] = [];
  private joinT0: number;
  private fpsTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly ctx: AppContext,
    container: HTMLElement,
    readonly roomId: string,
    inviteCode: string | undefined,
    joinStartedAt: number,
  ) {
    this.joinT0 = joinStartedAt;
    const s = ctx.settings;
    const g = s.graphics.value;
    this.world = new World(
      container,
      { ...g, nameTags: s.value.nameTags },
      {
        onLocalPose: (p) => this.session.sendPose(p),
        serverNow: () => this.session.clock.serverNow(),
        onFirstFrame: () => this.firstFrame(),
      },
    );
    this.audio = new AudioEngine();
    this.session = new RoomSession({
      api: ctx.api,
      roomId,
      inviteCode,
      clientVersion: ctx.version,
      listener: {
        onPose: (id, t, x, y, z, yaw, anim) => this.world.pushPose(id, t, x, y, z, yaw, anim),
        onMemberAdded: (m) => this.addMember(m),
        onMemberRemoved: (id) => {
          this.world.removeRemote(id);
          this.voice.memberLeft(id);
        },
        onSnapshot: (ms) => this.syncMembers(ms),
      },
      onReconnect: (r) => ctx.telemetry.reconnect("realtime", r),
      onJoinAnswer: (a) => this.onJoinAnswer(a),
    });
    this.voice = new VoiceSession({
      audio: this.audio,
      settings: s,
      freshToken: async () => (await this.session.freshTokens()).voice,
      positionOf: (id) => this.world.positionOf(id),
      onConnectTime: (ms, ok) => ctx.telemetry.voiceConnect(ms, ok),
      onReconnect: (r) => ctx.telemetry.reconnect("voice", r),
      myId: () => this.session.me.value?.userId ?? "",
    });
    this.music = new MusicPlayer({ api: ctx.api, roomId, audio: this.audio, clock: this.session.clock, state: this.session.music, settings: s });
    // Spatial audio follows the camera every frame, before rendering.
    const fwd = new THREE.Vector3();
    this.world.addSystem({
      name: "audio",
      update: () => {
        const c = this.world.camera;
        c.getWorldDirection(fwd);
        this.audio.setListener(c.position.x, c.position.y, c.position.z, fwd.x, fwd.y, fwd.z);
        this.voice.updatePanners();
        for (const [id, v] of this.world.avatars?.views ?? []) {
          v.speaking = this.voice.speaking.value.has(id);
        }
      },
    });
    this.disposers.push(
      effect(() => {
        const gr = s.graphics.value;
        this.world.setGraphics({ ...gr, nameTags: s.settings.value.nameTags });
        ctx.telemetry.preset = gr.preset;
      }),
      effect(() => {
        const v = s.settings.value;
        this.audio.setVolumes(v.masterVolume, v.voiceVolume, v.musicVolume);
      }),
      effect(() => {
        // When the room is over for us (kicked, banned, deleted, signed out), so is its voice.
        const st = this.session.status.value;
        if (st.kind === "failed" && !st.retryable) this.voice.dispose();
      }),
      effect(() => {
        // Members' states (reconnecting, away) show on their avatars.
        for (const m of this.session.members.value.values()) {
          const v = this.world.view(m.userId);
          if (v) v.away = m.state !== "active";
        }
      }),
    );
    ctx.telemetry.roomId = roomId;
  }

  start(): void {
    this.session.start();
    this.world.start();
    this.fpsTimer = setInterval(() => {
      const sum = this.world.stats.takeSummary();
      if (sum) this.ctx.telemetry.frameRate(sum, 30);
    }, 30_000);
  }

  private async onJoinAnswer(a: JoinAnswer): Promise<void> {
    this.voice.configure(a.voice.url, a.voice.token, a.voice.ice_servers, a.traceparent, a.room.id);
    if (this.scene.value === a.room.scene && this.world.loaded.value) return;
    this.scene.value = a.room.scene;
    try {
      await this.world.load(a.room.scene);
      this.loading.value = false;
      this.syncMembers([...this.session.members.value.values()]);
      void this.voice.start();
    } catch (e) {
      this.loadError.value = `The room's scene could not be loaded: ${String(e)}`;
    }
  }

  private addMember(m: MemberView): void {
    const me = this.session.me.value;
    if (me && m.userId === me.userId) {
      this.spawnMe(m);
      return;
    }
    const v = this.world.upsertRemote(m.userId, m.name, m.guest);
    if (v) v.away = m.state !== "active";
    if (m.pose) this.world.pushPose(m.userId, this.session.clock.serverNow(), m.pose.x, m.pose.y, m.pose.z, m.pose.yaw, m.pose.anim, true);
  }

  private spawnMe(m: MemberView): void {
    if (!this.world.loaded.value) return;
    if (this.spawned) return;
    this.spawned = true;
    // The gateway places newcomers (near the origin, spread out) and keeps
    // the pose of a member who comes back: start where the server says.
    this.world.spawn(m.userId, m.name, m.pose);
  }

  private syncMembers(ms: MemberView[]): void {
    if (!this.world.loaded.value) return;
    const ids = new Set(ms.map((m) => m.userId));
    for (const id of [...(this.world.avatars?.views.keys() ?? [])]) {
      if (!ids.has(id) && id !== this.world.local.id) this.world.removeRemote(id);
    }
    for (const m of ms) this.addMember(m);
  }

  private firstFrame(): void {
    const ms = performance.now() - this.joinT0;
    this.ctx.telemetry.join(ms, this.scene.value);
    (window as unknown as { __hearthJoinMs?: number }).__hearthJoinMs = ms;
  }

  leave(): void {
    this.session.leave();
    this.dispose();
  }

  dispose(): void {
    if (this.fpsTimer) clearInterval(this.fpsTimer);
    for (const d of this.disposers) d();
    this.voice.dispose();
    this.music.dispose();
    this.session.dispose();
    this.world.dispose();
    this.audio.dispose();
    this.ctx.telemetry.flush(false);
    this.ctx.telemetry.roomId = "";
  }
}
