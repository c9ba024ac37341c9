// RoomSession owns the realtime side of being in a room: joining through
// the API, the WebSocket session and its resumption, the room's state
// (members, chat, music) as signals, the clock offset, token refresh and
// liveness. Its Reconnector decides when and how to reconnect; the world
// and the HUD only read what this publishes.
import { batch, signal } from "@preact/signals";
import {
  MemberState,
  ResumeResult,
  Role,
  type ChatMessage,
  type Limits,
  type Member,
  type PoseFrame,
  type RoomInfo,
  type ServerMessage,
} from "@hearth/shared/hearth/realtime/v1/realtime_pb";
import type { PlayerState } from "@hearth/shared/hearth/music/v1/music_pb";
import { Api, ApiError, isNetworkError, type JoinAnswer } from "./api";
import { ServerClock } from "./clock";
import { fromMM, unpackYaw } from "./codec";
import { DropError, Reconnector, type Drop, type Mode } from "./reconnector";
import { LOCAL_LEAVE, LOCAL_OFFLINE, LOCAL_TIMEOUT, RealtimeSocket } from "./realtime";

export interface MemberView {
  userId: string;
  slot: number;
  name: string;
  role: "owner" | "moderator" | "member";
  state: "active" | "reconnecting" | "away";
  guest: boolean;
  pose?: { x: number; y: number; z: number; yaw: number; anim: number };
}

export interface ChatItem {
  id: string;
  userId: string;
  name: string;
  text: string;
  at: number;
  clientId: string;
  /** our own message not yet confirmed by the server */
  pending?: boolean;
  /** a local notice (joins, leaves, connection) rather than a message */
  system?: boolean;
}

export interface PoseListener {
  onPose(userId: string, serverTimeMs: number, x: number, y: number, z: number, yaw: number, anim: number): void;
  onMemberAdded(m: MemberView): void;
  onMemberRemoved(userId: string): void;
  /** the whole membership was replaced (new session or snapshot resume) */
  onSnapshot(members: MemberView[]): void;
}

/** An event log the tests and the HUD's notices read. */
export interface RoomEvent {
  kind: "joined" | "left" | "state" | "welcome" | "drop";
  userId?: string;
  detail?: string;
  at: number;
}

const roleName = (r: Role): MemberView["role"] => (r === Role.OWNER ? "owner" : r === Role.MODERATOR ? "moderator" : "member");
const stateName = (s: MemberState): MemberView["state"] =>
  s === MemberState.RECONNECTING ? "reconnecting" : s === MemberState.AWAY ? "away" : "active";

function toView(m: Member): MemberView {
  return {
    userId: m.userId,
    slot: m.slot,
    name: m.displayName,
    role: roleName(m.role),
    state: stateName(m.state),
    guest: m.guest,
    pose: m.pose ? { x: fromMM(m.pose.x), y: fromMM(m.pose.y), z: fromMM(m.pose.z), yaw: unpackYaw(m.pose.yaw), anim: m.pose.anim } : undefined,
  };
}

export interface RoomSessionOptions {
  api: Api;
  roomId: string;
  inviteCode?: string;
  clientVersion: string;
  listener: PoseListener;
  /** telemetry hook for reconnects */
  onReconnect?: (r: { attempts: number; durationMs: number; cause: string; result: "success" | "failed" }) => void;
  /** the join answer's voice part, for the voice session */
  onJoinAnswer?: (a: JoinAnswer) => void;
}

export class RoomSession {
  readonly members = signal<ReadonlyMap<string, MemberView>>(new Map());
  readonly chat = signal<readonly ChatItem[]>([]);
  readonly music = signal<PlayerState | null>(null);
  readonly info = signal<RoomInfo | null>(null);
  readonly me = signal<{ userId: string; slot: number } | null>(null);
  readonly events: RoomEvent[] = [];
  readonly clock = new ServerClock();
  readonly reconnector: Reconnector;
  /** times a session was resumed without a new snapshot (tests read it) */
  resumes = 0;
  /** in-band realtime token refreshes confirmed by the server */
  tokenRefreshes = 0;

  private socket: RealtimeSocket | null = null;
  private answer: JoinAnswer | null = null;
  private token = "";
  private traceparent = "";
  private resumeToken = "";
  private lastSeq = 0n;
  private acked = 0n;
  private limits: Limits | null = null;
  private slots = new Map<number, string>();
  private pendingChat = new Map<string, ChatItem>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private pingsSent = 0;
  private lastPose: { x: number; y: number; z: number; yaw: number; anim: number } | null = null;
  private poseTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPoseSent = 0;
  private refreshingToken = false;
  private readonly offHandlers: (() => void)[] = [];

  constructor(private readonly o: RoomSessionOptions) {
    this.reconnector = new Reconnector({
      name: "realtime",
      connect: (mode, attempt) => this.connect(mode, attempt),
      onReconnected: (r) => o.onReconnect?.(r),
    });
    const online = () => this.reconnector.networkChanged(true);
    const offline = () => {
      // The browser says the network is gone: do not wait for a timeout.
      this.socket?.close({ closeCode: LOCAL_OFFLINE, code: "offline", message: "You are offline", action: "backoff" });
      this.reconnector.networkChanged(false);
    };
    const vis = () => {
      if (document.visibilityState === "visible") {
        this.reconnector.visible();
        this.socket?.send({ case: "setState", value: { state: MemberState.ACTIVE } as never });
      } else {
        this.socket?.send({ case: "setState", value: { state: MemberState.AWAY } as never });
      }
    };
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    document.addEventListener("visibilitychange", vis);
    this.offHandlers.push(
      () => window.removeEventListener("online", online),
      () => window.removeEventListener("offline", offline),
      () => document.removeEventListener("visibilitychange", vis),
    );
  }

  get status() {
    return this.reconnector.status;
  }

  start(): void {
    this.reconnector.start();
    this.timers.push(setInterval(() => this.tick(), 1000));
  }

  /** leave ends the session at once (a plain leave for everyone else). */
  leave(): void {
    this.socket?.send({ case: "leave", value: {} as never });
    this.socket?.close({ closeCode: LOCAL_LEAVE, code: "normal" }, true);
    this.socket = null;
    this.reconnector.stop();
    this.dispose();
  }

  dispose(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const f of this.offHandlers) f();
    this.offHandlers.length = 0;
    if (this.poseTimer) clearTimeout(this.poseTimer);
  }

  /** freshTokens asks the API for new room tokens (refreshing the access token when it expired). */
  async freshTokens(): Promise<{ realtime: string; voice: string }> {
    const t = await this.o.api.tokens(this.o.roomId);
    this.token = t.realtime.token;
    if (this.answer) {
      this.answer = { ...this.answer, realtime: t.realtime, voice: t.voice };
    }
    return { realtime: t.realtime.token, voice: t.voice.token };
  }

  get joinAnswer(): JoinAnswer | null {
    return this.answer;
  }

  // ----- connecting -----

  private async connect(mode: Mode, _attempt: number): Promise<void> {
    try {
      if (mode === "fresh" || mode === "rejoin" || !this.answer) {
        const a = await this.o.api.join(this.o.roomId, this.o.inviteCode);
        this.answer = a;
        this.token = a.realtime.token;
        this.traceparent = a.traceparent;
        this.resumeToken = "";
        this.lastSeq = 0n;
        this.o.onJoinAnswer?.(a);
      } else if (mode === "refresh") {
        await this.freshTokens();
      }
    } catch (e) {
      throw new DropError(apiDrop(e));
    }
    const sock = new RealtimeSocket(wsURL(this.answer!.realtime.url), {
      onMessage: (m) => this.handle(m),
      onClose: (d) => this.onClose(sock, d),
    });
    const welcome = await sock.open(
      { token: this.token, resumeToken: this.resumeToken, lastSeq: this.lastSeq, traceparent: this.traceparent },
      { name: "hearth-web", version: this.o.clientVersion, platform: navigator.userAgent.slice(0, 120) },
    );
    this.socket = sock;
    this.resumeToken = welcome.resumeToken;
    this.limits = welcome.limits ?? null;
    this.clock.seed(welcome.serverTimeMs);
    this.pingsSent = 0;
    this.me.value = { userId: welcome.userId, slot: welcome.slot };
    this.events.push({ kind: "welcome", detail: ResumeResult[welcome.resume], at: Date.now() });
    if (welcome.resume === ResumeResult.RESUMED) {
      this.resumes++;
    } else if (welcome.room) {
      this.lastSeq = 0n;
      this.applySnapshot(welcome.room.members, welcome.room.chat, welcome.room.music ?? null, welcome.room.info ?? null);
    }
    this.ping();
    this.resendPendingChat();
    if (this.lastPose) this.sendPoseNow();
    if (document.visibilityState === "hidden") sock.send({ case: "setState", value: { state: MemberState.AWAY } as never });
  }

  private onClose(sock: RealtimeSocket, d: Drop): void {
    if (sock !== this.socket) return;
    this.socket = null;
    this.events.push({ kind: "drop", detail: `${d.closeCode} ${d.code ?? ""}`, at: Date.now() });
    this.reconnector.dropped(d);
  }

  // ----- messages -----

  private handle(m: ServerMessage): void {
    if (m.seq > 0n) {
      if (m.seq <= this.lastSeq) return; // replayed twice
      this.lastSeq = m.seq;
    }
    const msg = m.msg;
    switch (msg.case) {
      case "poses":
        this.onPoses(msg.value);
        break;
      case "pong":
        this.clock.pong(msg.value.clientTimeMs, msg.value.serverTimeMs);
        break;
      case "memberJoined":
        if (msg.value.member) this.upsertMember(toView(msg.value.member), true);
        break;
      case "memberUpdated":
        if (msg.value.member) this.upsertMember(toView(msg.value.member), false);
        break;
      case "memberLeft":
        this.removeMember(msg.value.userId, msg.value.slot);
        break;
      case "chat":
        this.addChat(msg.value);
        break;
      case "music":
        this.setMusic(msg.value);
        break;
      case "roomUpdated":
        if (msg.value.info) this.info.value = msg.value.info;
        break;
      case "tokenExpiring":
        void this.refreshInBand();
        break;
      case "tokenRefreshed":
        this.tokenRefreshes++;
        break;
      case "error": {
        const e = msg.value;
        if (e.code === "token_expired") void this.refreshInBand();
        const pending = [...this.pendingChat.values()].find((c) => c.pending);
        if (e.code === "rate_limited" && pending) this.notice(`Slow down: ${e.message}`);
        break;
      }
      default:
        break;
    }
  }

  private applySnapshot(members: Member[], chat: ChatMessage[], music: PlayerState | null, info: RoomInfo | null): void {
    const views = members.map(toView);
    batch(() => {
      this.slots.clear();
      const map = new Map<string, MemberView>();
      for (const v of views) {
        map.set(v.userId, v);
        this.slots.set(v.slot, v.userId);
      }
      this.members.value = map;
      const items = chat.map((c) => chatItem(c));
      // Keep our unconfirmed messages visible at the end.
      for (const p of this.pendingChat.values()) if (!items.some((i) => i.clientId === p.clientId)) items.push(p);
      for (const i of items) if (i.clientId) this.pendingChat.delete(i.clientId);
      this.chat.value = items.slice(-200);
      this.info.value = info;
      if (music) this.setMusic(music);
    });
    this.o.listener.onSnapshot(views);
  }

  private upsertMember(v: MemberView, joined: boolean): void {
    const prev = this.members.value.get(v.userId);
    if (prev && prev.slot !== v.slot) this.slots.delete(prev.slot);
    this.slots.set(v.slot, v.userId);
    const map = new Map(this.members.value);
    map.set(v.userId, v);
    this.members.value = map;
    if (!prev) {
      this.o.listener.onMemberAdded(v);
      if (joined && v.userId !== this.me.value?.userId) this.notice(`${v.name} joined`);
      this.events.push({ kind: "joined", userId: v.userId, at: Date.now() });
    } else if (prev.state !== v.state) {
      this.events.push({ kind: "state", userId: v.userId, detail: v.state, at: Date.now() });
    }
    if (v.pose && !prev) this.o.listener.onPose(v.userId, this.clock.serverNow(), v.pose.x, v.pose.y, v.pose.z, v.pose.yaw, v.pose.anim);
  }

  private removeMember(userId: string, slot: number): void {
    const prev = this.members.value.get(userId);
    if (!prev) return;
    if (this.slots.get(slot) === userId) this.slots.delete(slot);
    const map = new Map(this.members.value);
    map.delete(userId);
    this.members.value = map;
    this.o.listener.onMemberRemoved(userId);
    this.events.push({ kind: "left", userId, at: Date.now() });
    this.notice(`${prev.name} left`);
  }

  private onPoses(f: PoseFrame): void {
    const me = this.me.value?.slot;
    for (const e of f.entries) {
      if (e.slot === me) continue;
      const id = this.slots.get(e.slot);
      if (!id) continue;
      this.o.listener.onPose(id, f.serverTimeMs, fromMM(e.x), fromMM(e.y), fromMM(e.z), unpackYaw(e.yaw), e.anim);
    }
  }

  private setMusic(s: PlayerState): void {
    const cur = this.music.value;
    if (cur && s.version < cur.version) return;
    this.music.value = s;
  }

  private addChat(c: ChatMessage): void {
    const item = chatItem(c);
    if (c.clientId && this.pendingChat.has(c.clientId) && c.userId === this.me.value?.userId) {
      this.pendingChat.delete(c.clientId);
      this.chat.value = this.chat.value.map((x) => (x.clientId === c.clientId && x.pending ? item : x));
      return;
    }
    if (this.chat.value.some((x) => x.id === c.id && !x.system)) return;
    this.chat.value = [...this.chat.value, item].slice(-200);
  }

  private notice(text: string): void {
    const item: ChatItem = { id: `n${Date.now()}${Math.random()}`, userId: "", name: "", text, at: Date.now(), clientId: "", system: true };
    this.chat.value = [...this.chat.value, item].slice(-200);
  }

  // ----- sending -----

  sendChat(text: string): void {
    const t = text.trim();
    if (!t) return;
    const max = this.limits?.maxChatChars || 500;
    const body = t.slice(0, max);
    const clientId = crypto.randomUUID();
    const me = this.me.value;
    const name = me ? (this.members.value.get(me.userId)?.name ?? "You") : "You";
    const item: ChatItem = { id: `local-${clientId}`, userId: me?.userId ?? "", name, text: body, at: Date.now(), clientId, pending: true };
    this.pendingChat.set(clientId, item);
    this.chat.value = [...this.chat.value, item].slice(-200);
    this.socket?.send({ case: "chat", value: { text: body, clientId } as never });
  }

  private resendPendingChat(): void {
    for (const p of this.pendingChat.values()) this.socket?.send({ case: "chat", value: { text: p.text, clientId: p.clientId } as never });
  }

  /** sendPose queues the local pose, sent at most max_pose_hz a second. */
  sendPose(p: { x: number; y: number; z: number; yaw: number; anim: number }): void {
    this.lastPose = p;
    const hz = this.limits?.maxPoseHz || 20;
    const gap = 1000 / hz;
    const since = performance.now() - this.lastPoseSent;
    if (since >= gap) this.sendPoseNow();
    else if (!this.poseTimer) this.poseTimer = setTimeout(() => this.sendPoseNow(), gap - since);
  }

  private sendPoseNow(): void {
    if (this.poseTimer) {
      clearTimeout(this.poseTimer);
      this.poseTimer = null;
    }
    const p = this.lastPose;
    if (!p || !this.socket) return;
    this.lastPoseSent = performance.now();
    // The client sends metres and radians; the server quantizes for everyone else.
    this.socket.send({ case: "pose", value: { x: p.x, y: p.y, z: p.z, yaw: p.yaw, anim: p.anim, stamp: 0 } as never });
  }

  private ping(): void {
    this.pingsSent++;
    this.socket?.send({ case: "ping", value: { clientTimeMs: this.clock.localNow() } as never });
  }

  private async refreshInBand(): Promise<void> {
    if (this.refreshingToken) return;
    this.refreshingToken = true;
    try {
      const t = await this.freshTokens();
      this.socket?.send({ case: "refreshToken", value: { token: t.realtime } as never });
    } catch (e) {
      if (e instanceof ApiError && !isNetworkError(e)) {
        const d = apiDrop(e);
        if (d.action === "final") this.socket?.close(d);
      }
      // Otherwise the gateway closes with token_expired and we refresh on reconnect.
    } finally {
      this.refreshingToken = false;
    }
  }

  /** tick runs every second: pings (fast at first for the clock), acks, liveness. */
  private tickCount = 0;
  private tick(): void {
    const s = this.socket;
    if (!s) return;
    this.tickCount++;
    const interval = Math.max(1000, this.limits?.pingIntervalMs || 5000);
    if (this.pingsSent < 6 || this.tickCount % Math.round(interval / 1000) === 0) this.ping();
    if (this.lastSeq > this.acked && this.tickCount % 3 === 0) {
      this.acked = this.lastSeq;
      s.send({ case: "ack", value: { seq: this.lastSeq } as never });
    }
    const silence = performance.now() - s.lastReceived;
    const deadAfter = Math.max(15_000, interval * 3);
    if (s.lastReceived > 0 && silence > deadAfter) {
      s.close({ closeCode: LOCAL_TIMEOUT, code: "timeout", message: "The connection stopped answering", action: "resume" });
    }
  }
}

function chatItem(c: ChatMessage): ChatItem {
  return { id: c.id, userId: c.userId, name: c.displayName, text: c.text, at: c.sentAtMs, clientId: c.clientId };
}

/** wsURL turns the join answer's URL into one this page can open (same host when relative). */
export function wsURL(u: string): string {
  if (/^wss?:\/\//.test(u)) {
    // Behind a proxy the server may not know its public scheme: follow the page.
    if (location.protocol === "https:" && u.startsWith("ws://")) return "wss://" + u.slice(5);
    return u;
  }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${u.startsWith("/") ? u : "/" + u}`;
}

/** apiDrop maps a failed API call during (re)connecting to what the reconnector should do. */
export function apiDrop(e: unknown): Drop {
  if (e instanceof ApiError) {
    switch (e.code) {
      case "banned":
        return { closeCode: 4003, code: "banned", message: "You are banned from this room", action: "final" };
      case "not_found":
        return { closeCode: 4004, code: "room_deleted", message: "This room no longer exists", action: "final" };
      case "room_full":
        return { closeCode: 4005, code: "room_full", message: "The room is full", action: "final_retryable" };
      case "invite_required":
      case "forbidden":
        return { closeCode: 4003, code: e.code, message: e.message, action: "final" };
      case "signed_out":
      case "token_invalid":
      case "unauthenticated":
      case "refresh_token_reused":
        return { closeCode: 4001, code: "signed_out", message: "You were signed out", action: "final" };
      case "rate_limited":
        return { closeCode: 4011, code: "rate_limited", message: e.message, action: "retry_after", retryAfterMs: e.retryAfterMs };
      default:
        return { closeCode: 1006, code: e.code, message: e.status === 0 ? "The server cannot be reached" : e.message, action: "backoff" };
    }
  }
  return { closeCode: 1006, code: "network", message: String(e), action: "backoff" };
}
