// The lobby: public rooms with live occupancy, the user's own rooms,
// creating a room and joining by invite code.
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { AppContext } from "../app/context";
import { navigate } from "../app/router";
import type { Room } from "../net/api";
import { Brand } from "./Brand";
import { describe } from "./SignIn";

function RoomCard({ room }: { room: Room }) {
  return (
    <button class="room-card" data-testid="room-card" onClick={() => navigate(`/rooms/${room.id}`)}>
      <div class={`thumb ${room.scene}`} />
      <div class="name">{room.name}</div>
      <div class="row">
        <span class={`pill ${room.occupancy > 0 ? "live" : ""}`}>
          {room.occupancy > 0 ? "●" : "○"} {room.occupancy} / {room.capacity}
        </span>
        <span class="pill">{room.scene === "plaza" ? "Plaza" : "Lounge"}</span>
        {room.visibility !== "public" && <span class="pill">{room.visibility}</span>}
      </div>
    </button>
  );
}

/** KeepAccount upgrades a guest to a registered account in place (same id, rooms and roles). */
function KeepAccount({ ctx, onDone }: { ctx: AppContext; onDone: () => void }) {
  const username = useSignal("");
  const password = useSignal("");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      await ctx.api.register(username.value.trim(), password.value, ctx.api.user.value?.display_name ?? "");
      onDone();
    } catch (err) {
      error.value = describe(err);
    } finally {
      busy.value = false;
    }
  };
  return (
    <form class="card stack" onSubmit={submit}>
      <h2>Keep your name and rooms</h2>
      <div class="muted" style={{ fontSize: "13px" }}>
        Create an account from this guest session: your rooms and roles stay yours.
      </div>
      <input class="input" name="username" placeholder="Username" autoComplete="username" value={username.value} onInput={(e) => (username.value = e.currentTarget.value)} />
      <input class="input" name="password" type="password" placeholder="Password (8 characters or more)" autoComplete="new-password" value={password.value} onInput={(e) => (password.value = e.currentTarget.value)} />
      {error.value && <div class="error-text">{error.value}</div>}
      <button class="btn primary" type="submit" disabled={busy.value}>
        {busy.value ? "Creating…" : "Create account"}
      </button>
    </form>
  );
}

export function Lobby({ ctx }: { ctx: AppContext }) {
  const rooms = useSignal<Room[] | null>(null);
  const mine = useSignal<Room[]>([]);
  const error = useSignal<string | null>(null);
  const name = useSignal("");
  const scene = useSignal("lounge");
  const visibility = useSignal("public");
  const creating = useSignal(false);
  const createError = useSignal<string | null>(null);
  const code = useSignal("");
  const codeError = useSignal<string | null>(null);
  const user = ctx.api.user.value!;
  const keeping = useSignal(false);

  const load = async () => {
    try {
      const [pub, my] = await Promise.all([ctx.api.rooms(), ctx.api.myRooms()]);
      rooms.value = pub.rooms;
      mine.value = my.rooms.filter((r) => !pub.rooms.some((p) => p.id === r.id));
      error.value = null;
    } catch (e) {
      error.value = describe(e);
    }
  };
  useEffect(() => {
    void load();
    // Occupancy is live: refresh while the lobby is open.
    const t = setInterval(() => void load(), 10_000);
    return () => clearInterval(t);
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    creating.value = true;
    createError.value = null;
    try {
      const r = await ctx.api.createRoom({ name: name.value.trim() || `${user.display_name}'s room`, scene: scene.value, visibility: visibility.value });
      navigate(`/rooms/${r.id}`);
    } catch (err) {
      createError.value = describe(err);
    } finally {
      creating.value = false;
    }
  };

  const joinCode = async (e: Event) => {
    e.preventDefault();
    const c = code.value.trim();
    if (!c) return;
    codeError.value = null;
    try {
      const r = await ctx.api.invite(c);
      navigate(`/rooms/${r.id}?invite=${encodeURIComponent(c)}`);
    } catch (err) {
      codeError.value = describe(err);
    }
  };

  const scenes = ctx.config.value?.scenes ?? ["lounge", "plaza"];
  return (
    <div class="page">
      <div class="topbar">
        <Brand />
        <div class="row">
          <span class="muted">
            {user.display_name}
            {user.guest ? " (guest)" : ""}
          </span>
          {user.guest && (
            <button class="btn small" onClick={() => (keeping.value = !keeping.value)}>
              Create an account
            </button>
          )}
          <button class="btn small" onClick={() => void ctx.api.logout()} data-testid="signout">
            Sign out
          </button>
        </div>
      </div>
      <div class="lobby">
        <div class="stack">
          <div class="row">
            <h2>Rooms</h2>
            <span class="spacer" />
            <button class="btn small" onClick={() => void load()}>
              Refresh
            </button>
          </div>
          {error.value && <div class="error-text">{error.value}</div>}
          {rooms.value === null ? (
            <div class="empty">Loading rooms…</div>
          ) : rooms.value.length === 0 && mine.value.length === 0 ? (
            <div class="empty">No public rooms yet. Create the first one!</div>
          ) : (
            <div class="rooms" data-testid="rooms">
              {[...mine.value, ...rooms.value].map((r) => (
                <RoomCard key={r.id} room={r} />
              ))}
            </div>
          )}
        </div>
        <div class="stack">
          {keeping.value && user.guest && <KeepAccount ctx={ctx} onDone={() => (keeping.value = false)} />}
          <form class="card stack" onSubmit={create} data-testid="create-room">
            <h2>Create a room</h2>
            <label class="field">
              Name
              <input class="input" name="room_name" maxLength={80} placeholder={`${user.display_name}'s room`} value={name.value} onInput={(e) => (name.value = e.currentTarget.value)} />
            </label>
            <label class="field">
              Place
              <div class="seg">
                {scenes.map((s) => (
                  <button type="button" class={scene.value === s ? "active" : ""} onClick={() => (scene.value = s)} data-testid={`scene-${s}`}>
                    {s === "plaza" ? "Plaza (large, outdoors)" : s === "lounge" ? "Lounge (cosy)" : s}
                  </button>
                ))}
              </div>
            </label>
            <label class="field">
              Who can find it
              <select class="input" value={visibility.value} onChange={(e) => (visibility.value = e.currentTarget.value)}>
                <option value="public">Everyone (listed in the lobby)</option>
                <option value="unlisted">People with the link</option>
                <option value="private">Invited people only</option>
              </select>
            </label>
            {createError.value && <div class="error-text">{createError.value}</div>}
            <button class="btn primary" type="submit" disabled={creating.value} data-testid="create-submit">
              {creating.value ? "Creating…" : "Create and enter"}
            </button>
          </form>
          <form class="card stack" onSubmit={joinCode}>
            <h2>Have an invite code?</h2>
            <div class="row">
              <input class="input" placeholder="Invite code" value={code.value} onInput={(e) => (code.value = e.currentTarget.value)} />
              <button class="btn" type="submit">
                Join
              </button>
            </div>
            {codeError.value && <div class="error-text">{codeError.value}</div>}
          </form>
        </div>
      </div>
    </div>
  );
}
