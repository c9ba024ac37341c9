// Api is the client of Hearth's HTTP API. It keeps the access token in
// memory only (the refresh token is an HttpOnly cookie), and when a call
// answers 401 token_expired it refreshes once (one refresh in flight at a
// time, shared by every waiting call) and retries, so an expired token
// never reaches the user. A failed refresh signs the user out cleanly.
import { signal } from "@preact/signals";

export interface User {
  id: string;
  username?: string;
  display_name: string;
  guest: boolean;
}

export interface SignIn {
  access_token: string;
  expires_in: number;
  user: User;
}

export interface Room {
  id: string;
  name: string;
  description: string;
  scene: string;
  capacity: number;
  visibility: "public" | "unlisted" | "private";
  owner_id: string;
  occupancy: number;
  settings: { music_control: string };
  my_role?: string;
  invite_code?: string;
}

export interface JoinAnswer {
  room: Room;
  realtime: { url: string; token: string; expires_in: number };
  voice: { url: string; token: string; expires_in: number; ice_servers: RTCIceServer[] };
  traceparent: string;
}

export interface ClientConfig {
  version: string;
  quality_preset: string;
  enable_lod: boolean;
  enable_frustum_culling: boolean;
  enable_telemetry: boolean;
  scenes: string[];
  max_room_capacity: number;
  default_room_capacity: number;
  demo: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/** Network failures (no answer at all) use status 0 and code "network". */
export function isNetworkError(e: unknown): boolean {
  return e instanceof ApiError && e.status === 0;
}

export interface RequestOptions {
  auth?: boolean;
  /** retry once after refreshing an expired token (default true) */
  retry?: boolean;
  signal?: AbortSignal;
}

export class Api {
  readonly user = signal<User | null>(null);
  /** set when the session ended on its own (refresh failed): the UI says so */
  readonly signedOutReason = signal<string | null>(null);
  private token: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  /** counts silent refreshes (tests and telemetry read it) */
  refreshes = 0;

  constructor(private readonly base = "") {}

  get accessToken(): string | null {
    return this.token;
  }

  async request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const auth = o.auth ?? true;
    const headers: Record<string, string> = { Accept: "application/json" };
    const form = typeof FormData !== "undefined" && body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.base + "/api/v1" + path, {
        method,
        headers,
        body: body === undefined ? undefined : form ? (body as FormData) : JSON.stringify(body),
        credentials: "same-origin",
        signal: o.signal,
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(0, "network", "The server cannot be reached");
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.ok) return data as T;
    const p = (data ?? {}) as { code?: string; detail?: string; title?: string; errors?: { field: string; message: string }[] };
    const code = p.code ?? (res.status >= 500 ? "internal" : "unknown");
    if (res.status === 401 && auth && code === "token_expired" && (o.retry ?? true)) {
      if (await this.refresh()) return this.request<T>(method, path, body, { ...o, retry: false });
      throw new ApiError(401, "signed_out", "Your session ended; please sign in again");
    }
    if (res.status === 401 && auth && (code === "token_invalid" || code === "refresh_token_reused")) {
      this.signOutLocally("Your session ended; please sign in again");
    }
    const retryAfter = Number(res.headers.get("Retry-After") ?? 0) * 1000;
    throw new ApiError(res.status, code, p.detail ?? p.title ?? `HTTP ${res.status}`, p.errors ?? [], retryAfter);
  }

  /** refresh rotates the refresh cookie for a new access token; false when the session is over. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const s = await this.request<SignIn>("POST", "/auth/refresh", undefined, { auth: false, retry: false });
        this.accept(s);
        this.refreshes++;
        return true;
      } catch (e) {
        if (isNetworkError(e)) throw e;
        this.signOutLocally(this.user.value ? "Your session ended; please sign in again" : null);
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** restore signs back in from the refresh cookie at start-up. */
  async restore(): Promise<boolean> {
    try {
      return await this.refresh();
    } catch {
      return false;
    }
  }

  private accept(s: SignIn): void {
    this.token = s.access_token;
    this.user.value = s.user;
    this.signedOutReason.value = null;
  }

  private signOutLocally(reason: string | null): void {
    this.token = null;
    this.user.value = null;
    if (reason) this.signedOutReason.value = reason;
  }

  async guest(displayName: string): Promise<User> {
    const s = await this.request<SignIn>("POST", "/auth/guest", { display_name: displayName }, { auth: false });
    this.accept(s);
    return s.user;
  }

  async login(username: string, password: string): Promise<User> {
    const s = await this.request<SignIn>("POST", "/auth/login", { username, password }, { auth: false });
    this.accept(s);
    return s.user;
  }

  /** register creates an account, or upgrades the signed-in guest in place. */
  async register(username: string, password: string, displayName: string): Promise<User> {
    const body: Record<string, string> = { username, password };
    if (displayName) body.display_name = displayName;
    const s = await this.request<SignIn>("POST", "/auth/register", body, { auth: !!this.token });
    this.accept(s);
    return s.user;
  }

  async logout(): Promise<void> {
    try {
      await this.request("POST", "/auth/logout", undefined, { retry: false });
    } catch {
      // Signed out locally either way.
    }
    this.signOutLocally(null);
  }

  config(): Promise<ClientConfig> {
    return this.request<ClientConfig>("GET", "/config", undefined, { auth: false });
  }

  rooms(): Promise<{ rooms: Room[]; next_cursor?: string }> {
    return this.request("GET", "/rooms?limit=50");
  }

  myRooms(): Promise<{ rooms: Room[] }> {
    return this.request("GET", "/me/rooms");
  }

  room(id: string): Promise<Room> {
    return this.request("GET", `/rooms/${encodeURIComponent(id)}`);
  }

  createRoom(r: { name: string; scene: string; visibility: string; description?: string; music_control?: string }): Promise<Room> {
    return this.request("POST", "/rooms", r);
  }

  invite(code: string): Promise<Room> {
    return this.request("GET", `/invites/${encodeURIComponent(code)}`);
  }

  join(roomId: string, inviteCode?: string): Promise<JoinAnswer> {
    return this.request("POST", `/rooms/${encodeURIComponent(roomId)}/join`, inviteCode ? { invite_code: inviteCode } : undefined);
  }

  tokens(roomId: string): Promise<Omit<JoinAnswer, "room" | "traceparent"> & { traceparent?: string }> {
    return this.request("POST", `/rooms/${encodeURIComponent(roomId)}/tokens`);
  }
}
