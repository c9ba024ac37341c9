// Telemetry end to end: with ENABLE_TELEMETRY the client reports its join
// latency (on leaving the room, by fetch) and queued events on page hide
// (by sendBeacon), and the server exports them as hearth_client_* metrics;
// a user who opted out sends nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { inRoom, launch, newPerson, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(["--enable-telemetry"]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function metric(name) {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  let sum = 0;
  for (const l of text.split("\n")) if (l.startsWith(name + " ") || l.startsWith(name + "{")) sum += Number(l.split(" ").pop());
  return sum;
}

async function until(f, what) {
  const deadline = Date.now() + 60_000;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("an opted-out user sends nothing", async () => {
  const P = await newPerson(browser, server.base, "Private");
  await P.page.evaluate(() => window.__hearth.ctx.settings.update({ telemetry: false }));
  const posts = [];
  P.page.on("request", (r) => r.url().endsWith("/api/v1/telemetry") && posts.push(r.url()));
  await P.page.click("[data-testid=create-submit]");
  await inRoom(P.page);
  await P.page.click("[data-testid=leave]");
  await P.page.waitForSelector("[data-testid=create-room]");
  await P.context.close();
  assert.equal(posts.length, 0);
  assert.equal(await metric("hearth_client_telemetry_events_total"), 0);
});

test("join latency and beaconed events reach the server's metrics", async () => {
  const A = await newPerson(browser, server.base, "Measured");
  await A.page.click("[data-testid=create-submit]");
  await inRoom(A.page);
  await A.page.waitForFunction(() => window.__hearthJoinMs > 0, undefined, { timeout: 60_000 });
  await A.page.click("[data-testid=leave]");
  await A.page.waitForSelector("[data-testid=create-room]");
  await until(async () => (await metric("hearth_client_join_duration_seconds_count")) >= 1, "the join event");
  // Queued when the page goes away: sent with sendBeacon (token in the body).
  await A.page.evaluate(() =>
    window.__hearth.ctx.telemetry.reconnect("voice", { attempts: 3, durationMs: 2500, cause: "connection_lost", result: "failed" }),
  );
  await A.context.close();
  await until(async () => (await metric("hearth_client_reconnects_total")) >= 1, "the beaconed reconnect event");
  const text = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(text, /hearth_client_reconnects_total\{connection="voice",result="failed"\} 1/);
});
