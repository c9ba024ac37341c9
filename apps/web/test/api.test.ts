import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "../src/net/api";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json", ...headers } });

const signIn = (tok: string) => ({ access_token: tok, expires_in: 900, token_type: "Bearer", user: { id: "u1", display_name: "Ada", guest: true } });

afterEach(() => vi.unstubAllGlobals());

describe("Api", () => {
  it("refreshes an expired access token once, shared by concurrent calls, and retries", async () => {
    let refreshes = 0;
    const fetch = vi.fn(async (url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (url.endsWith("/auth/guest")) return json(201, signIn("old"));
      if (url.endsWith("/auth/refresh")) {
        refreshes++;
        await new Promise((r) => setTimeout(r, 5));
        return json(200, signIn("new"));
      }
      if (auth === "Bearer old") return json(401, { code: "token_expired", status: 401 });
      return json(200, { rooms: [], ok: auth });
    });
    vi.stubGlobal("fetch", fetch);
    const api = new Api();
    await api.guest("Ada");
    const [a, b] = await Promise.all([api.request<{ ok: string }>("GET", "/rooms"), api.request<{ ok: string }>("GET", "/me/rooms")]);
    expect(a.ok).toBe("Bearer new");
    expect(b.ok).toBe("Bearer new");
    expect(refreshes).toBe(1);
    expect(api.refreshes).toBe(1);
    expect(api.user.value?.id).toBe("u1");
  });

  it("signs out cleanly when the refresh fails", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.endsWith("/auth/guest")) return json(201, signIn("old"));
        if (url.endsWith("/auth/refresh")) return json(401, { code: "refresh_token_reused", status: 401 });
        return json(401, { code: "token_expired", status: 401 });
      }),
    );
    const api = new Api();
    await api.guest("Ada");
    await expect(api.request("GET", "/rooms")).rejects.toMatchObject({ code: "signed_out" });
    expect(api.user.value).toBeNull();
    expect(api.accessToken).toBeNull();
    expect(api.signedOutReason.value).toMatch(/sign in/);
  });

  it("turns problems and network failures into coded errors", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.includes("/full")) return json(409, { code: "room_full", detail: "full", status: 409 });
        if (url.includes("/slow")) return json(429, { code: "rate_limited", status: 429 }, { "Retry-After": "3" });
        throw new TypeError("Failed to fetch");
      }),
    );
    const api = new Api();
    await expect(api.request("POST", "/rooms/full/join")).rejects.toMatchObject({ status: 409, code: "room_full", message: "full" });
    await expect(api.request("POST", "/rooms/slow/join")).rejects.toMatchObject({ code: "rate_limited", retryAfterMs: 3000 });
    const e = (await api.request("GET", "/x").catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(0);
  });
});
