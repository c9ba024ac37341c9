// The room, end to end, against a real `hearth serve`: two people (two
// browser contexts) meet, see and follow each other's avatars, chat both
// ways, survive one of them going offline without the other seeing a
// leave, and ride through an expired access token without noticing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureArtifacts, inRoom, launch, newPerson, sleep, startServer, waitFor } from "./harness.mjs";

let server;
let browser;
let A;
let B;
let roomId;

before(async () => {
  // Short access tokens (and room tokens whose expiry warning comes soon
  // after joining) make the silent-refresh path run during the test.
  server = await startServer(["--access-token-ttl", "6s", "--room-token-ttl", "75s"]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("guest signs in, creates a room, a second person joins: each sees the other appear and move", async () => {
  A = await newPerson(browser, server.base, "Ada");
  await A.page.fill("input[name=room_name]", "E2E lounge");
  await A.page.click("[data-testid=create-submit]");
  await A.page.waitForURL(/\/rooms\//, { timeout: 60_000 });
  roomId = new URL(A.page.url()).pathname.split("/")[2];
  await inRoom(A.page);

  B = await newPerson(browser, server.base, "Bob");
  // Bob finds the room in the lobby and walks in.
  await B.page.waitForSelector("[data-testid=room-card] >> text=E2E lounge", { timeout: 60_000 });
  await B.page.click("[data-testid=room-card] >> text=E2E lounge");
  await B.page.waitForURL(new RegExp(`/rooms/${roomId}`), { timeout: 60_000 });
  await inRoom(B.page);

  const aId = await A.page.evaluate(() => window.__hearth.room.world.local.id);
  const bId = await B.page.evaluate(() => window.__hearth.room.world.local.id);
  // Each sees the other's avatar and name in the participants list.
  await waitFor(A.page, (id) => !!window.__hearth.room.world.view(id), bId, { what: "Bob's avatar at Ada's" });
  await waitFor(B.page, (id) => !!window.__hearth.room.world.view(id), aId, { what: "Ada's avatar at Bob's" });
  await waitFor(A.page, () => document.querySelector("[data-testid=participants]")?.textContent.includes("Bob"), undefined, { what: "Bob in Ada's list" });

  // Ada walks forward; Bob sees her avatar move.
  const before = await B.page.evaluate((id) => window.__hearth.room.world.view(id).root.position.toArray(), aId);
  await A.page.click("[data-testid=world-canvas]", { position: { x: 40, y: 40 } }).catch(() => {});
  await A.page.keyboard.down("KeyW");
  await sleep(1500);
  await A.page.keyboard.up("KeyW");
  await waitFor(
    B.page,
    ([id, p]) => {
      const q = window.__hearth.room.world.view(id).root.position;
      return Math.hypot(q.x - p[0], q.z - p[2]) > 1;
    },
    [aId, before],
    { what: "Ada's avatar to move at Bob's" },
  );
  // And Bob walks with a click on the ground; Ada sees it.
  const bBefore = await A.page.evaluate((id) => window.__hearth.room.world.view(id).root.position.toArray(), bId);
  await B.page.mouse.click(900, 480);
  await waitFor(
    A.page,
    ([id, p]) => {
      const q = window.__hearth.room.world.view(id).root.position;
      return Math.hypot(q.x - p[0], q.z - p[2]) > 0.5;
    },
    [bId, bBefore],
    { what: "Bob's click-to-move to show at Ada's" },
  );
});

test("chat in both directions", async () => {
  await A.page.fill("[data-testid=chat-input]", "hello from Ada");
  await A.page.press("[data-testid=chat-input]", "Enter");
  await waitFor(B.page, () => document.querySelector("[data-testid=chat-log]")?.textContent.includes("hello from Ada"), undefined, { what: "Ada's message at Bob's" });
  await B.page.fill("[data-testid=chat-input]", "hi Ada, Bob here");
  await B.page.click("[data-testid=chat-send]");
  await waitFor(A.page, () => document.querySelector("[data-testid=chat-log]")?.textContent.includes("hi Ada, Bob here"), undefined, { what: "Bob's message at Ada's" });
  // Own messages are confirmed by the server (not left pending).
  await waitFor(A.page, () => !document.querySelector("[data-testid=chat-message][data-pending='1']"), undefined, { what: "Ada's message confirmed" });
});

test("voice connects in both contexts and each sees the other speaking", async (t) => {
  if (!server.voice) {
    t.skip("this build has no voice service");
    return;
  }
  const aId = await A.page.evaluate(() => window.__hearth.room.world.local.id);
  const bId = await B.page.evaluate(() => window.__hearth.room.world.local.id);
  for (const p of [A.page, B.page]) {
    await waitFor(p, () => document.querySelector("[data-testid=voice-status]")?.dataset.state === "connected", undefined, {
      what: "voice to connect",
      timeout: 90_000,
    });
  }
  // Chromium's fake microphone beeps: the SFU's active-speaker events light both up.
  const speaking = (id) => document.querySelector(`[data-testid=participant][data-user="${id}"]`)?.dataset.speaking === "1";
  await waitFor(A.page, speaking, bId, { what: "Ada to see Bob speaking", timeout: 90_000 });
  await waitFor(B.page, speaking, aId, { what: "Bob to see Ada speaking", timeout: 90_000 });
  // Mute shows for the other side.
  await A.page.click("[data-testid=mic-toggle]");
  await waitFor(B.page, (id) => !!document.querySelector(`[data-testid=participant][data-user="${id}"] .badge.muted`), aId, { what: "Ada muted at Bob's" });
  await A.page.click("[data-testid=mic-toggle]");
});

test("an expired access token during the session is refreshed without the user noticing", async () => {
  // The access token lives 6 s; the realtime token's expiry warning comes
  // about 15 s after joining, and answering it needs the API (fresh room
  // tokens) with the expired access token: the client refreshes and goes on.
  await waitFor(A.page, () => window.__hearth.ctx.api.refreshes >= 1 && window.__hearth.room.session.tokenRefreshes >= 1, undefined, {
    what: "a silent access-token refresh and an in-band realtime token refresh",
    timeout: 90_000,
  });
  const s = await A.page.evaluate(() => ({
    status: window.__hearth.room.session.status.value.kind,
    drops: window.__hearth.room.session.events.filter((e) => e.kind === "drop").length,
    user: !!window.__hearth.ctx.api.user.value,
    failed: !!document.querySelector("[data-testid=failed]"),
  }));
  assert.deepEqual(s, { status: "connected", drops: 0, user: true, failed: false });
  // And the API still works for the user: the lobby lists rooms.
  const ok = await A.page.evaluate(async () => (await window.__hearth.ctx.api.rooms()).rooms.length >= 1);
  assert.equal(ok, true);
});

test("offline and back: A resumes, B sees A reconnecting but never leaving, A gets the chat it missed", async () => {
  const aId = await A.page.evaluate(() => window.__hearth.room.world.local.id);
  await A.context.setOffline(true);
  await waitFor(A.page, () => ["offline", "reconnecting"].includes(window.__hearth.room.session.status.value.kind), undefined, { what: "A to show it is offline" });
  const statusText = await A.page.textContent("[data-testid=status-text]");
  assert.match(statusText, /Offline|Reconnecting/);
  await waitFor(B.page, (id) => window.__hearth.room.session.members.value.get(id)?.state === "reconnecting", aId, { what: "B to show A reconnecting" });
  await waitFor(B.page, () => !!document.querySelector("[data-testid=badge-reconnecting]"), undefined, { what: "the reconnecting badge at B" });
  await B.page.fill("[data-testid=chat-input]", "did you miss this?");
  await B.page.press("[data-testid=chat-input]", "Enter");
  await sleep(1000);
  await A.context.setOffline(false);
  await waitFor(A.page, () => window.__hearth.room.session.status.value.kind === "connected", undefined, { what: "A to reconnect", timeout: 90_000 });
  await waitFor(A.page, () => document.querySelector("[data-testid=chat-log]")?.textContent.includes("did you miss this?"), undefined, { what: "the missed chat at A" });
  await waitFor(B.page, (id) => window.__hearth.room.session.members.value.get(id)?.state === "active", aId, { what: "B to see A active again" });
  const left = await B.page.evaluate((id) => window.__hearth.room.session.events.filter((e) => e.kind === "left" && e.userId === id).length, aId);
  assert.equal(left, 0, "B saw A leave");
  const resumed = await A.page.evaluate(() => window.__hearth.room.session.resumes);
  assert.ok(resumed >= 1, "A's session was resumed, not replaced");
  // Voice comes back too (resumed signalling, or an ICE restart, or a rejoin).
  if (server.voice) await waitFor(A.page, () => document.querySelector("[data-testid=voice-status]")?.dataset.state === "connected", undefined, {
    what: "A's voice to reconnect",
    timeout: 90_000,
  });
});

test("a screenshot of the room is saved", async () => {
  const dir = ensureArtifacts();
  // Let both avatars be in view and the name tags drawn.
  await sleep(500);
  const file = join(dir, "room.png");
  await B.page.screenshot({ path: file });
  const fileA = join(dir, "room-a.png");
  await A.page.screenshot({ path: fileA });
  console.log(`screenshot: ${file}`);
});
