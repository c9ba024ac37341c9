// Sign in, register, or continue as a guest. The guest path is one field
// and one button, so a new visitor is in a room within seconds.
import { useSignal } from "@preact/signals";
import type { AppContext } from "../app/context";
import { ApiError } from "../net/api";
import { Brand } from "./Brand";

type Tab = "guest" | "login" | "register";

export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.fields.length) return e.fields.map((f) => `${f.field.replace("_", " ")}: ${f.message}`).join("; ");
    if (e.code === "rate_limited") return `Too many attempts; try again in ${Math.ceil(e.retryAfterMs / 1000) || "a few"} seconds.`;
    return e.message;
  }
  return String(e);
}

export function SignIn({ ctx, reason }: { ctx: AppContext; reason: string | null }) {
  const tab = useSignal<Tab>("guest");
  const name = useSignal(localStorage.getItem("hearth.lastName") ?? "");
  const username = useSignal("");
  const password = useSignal("");
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      if (tab.value === "guest") {
        const n = name.value.trim() || "Guest";
        try {
          localStorage.setItem("hearth.lastName", n);
        } catch {
          // private mode
        }
        await ctx.api.guest(n);
      } else if (tab.value === "login") {
        await ctx.api.login(username.value.trim(), password.value);
      } else {
        await ctx.api.register(username.value.trim(), password.value, name.value.trim());
      }
    } catch (err) {
      error.value = describe(err);
    } finally {
      busy.value = false;
    }
  };

  return (
    <div class="page">
      <div class="topbar">
        <Brand />
      </div>
      <div class="hero">
        <div>
          <h1>Meet around the fire.</h1>
          <p>
            Hearth is a shared 3D room in your browser. Walk around as an avatar, chat, talk with voice that comes from where people stand, and
            listen to music together, in sync.
          </p>
          <p class="muted" style={{ fontSize: "14px" }}>
            No install. Use a keyboard and mouse, or touch.
          </p>
        </div>
        <form class="card stack" onSubmit={submit} data-testid="signin">
          {reason && <div class="error-text">{reason}</div>}
          <div class="tabs" role="tablist">
            {(["guest", "login", "register"] as Tab[]).map((t) => (
              <button type="button" role="tab" aria-selected={tab.value === t} class={tab.value === t ? "active" : ""} onClick={() => (tab.value = t)}>
                {t === "guest" ? "Guest" : t === "login" ? "Sign in" : "Create account"}
              </button>
            ))}
          </div>
          {tab.value !== "login" && (
            <label class="field">
              Your name
              <input
                class="input"
                name="display_name"
                maxLength={40}
                autoFocus
                placeholder="What should people call you?"
                value={name.value}
                onInput={(e) => (name.value = e.currentTarget.value)}
              />
            </label>
          )}
          {tab.value !== "guest" && (
            <>
              <label class="field">
                Username
                <input class="input" name="username" autoComplete="username" value={username.value} onInput={(e) => (username.value = e.currentTarget.value)} />
              </label>
              <label class="field">
                Password
                <input
                  class="input"
                  name="password"
                  type="password"
                  autoComplete={tab.value === "login" ? "current-password" : "new-password"}
                  value={password.value}
                  onInput={(e) => (password.value = e.currentTarget.value)}
                />
              </label>
            </>
          )}
          {error.value && <div class="error-text" role="alert">{error.value}</div>}
          <button class="btn primary" type="submit" disabled={busy.value} data-testid="signin-submit">
            {busy.value ? "One moment…" : tab.value === "guest" ? "Continue as guest" : tab.value === "login" ? "Sign in" : "Create account"}
          </button>
          {tab.value === "guest" && <div class="muted" style={{ fontSize: "13px" }}>You can keep your guest identity later by creating an account.</div>}
        </form>
      </div>
    </div>
  );
}
