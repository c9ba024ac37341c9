// Music in sync: two people in a room play the same track; each page's
// playback position is read against the server timeline and the drift
// between the two is reported (median and max). Timing is reported, never
// asserted: the machine may be busy. What is asserted is that both play the
// track and that the client keeps measuring itself.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureArtifacts, inRoom, launch, newPerson, sleep, startServer, waitFor } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** wav makes a 16-bit mono WAV of a tone that changes pitch every second (base64). */
function wav(seconds, rate = 22050) {
  const n = seconds * rate;
  const data = Buffer.alloc(44 + n * 2);
  data.write("RIFF", 0);
  data.writeUInt32LE(36 + n * 2, 4);
  data.write("WAVEfmt ", 8);
  data.writeUInt32LE(16, 16);
  data.writeUInt16LE(1, 20);
  data.writeUInt16LE(1, 22);
  data.writeUInt32LE(rate, 24);
  data.writeUInt32LE(rate * 2, 28);
  data.writeUInt16LE(2, 32);
  data.writeUInt16LE(16, 34);
  data.write("data", 36);
  data.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const f = 220 * 2 ** ((Math.floor(i / rate) % 12) / 12);
    data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * f * i) / rate) * 9000), 44 + i * 2);
  }
  return data.toString("base64");
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

test("two listeners play the same track in sync (drift reported)", async () => {
  const A = await newPerson(browser, server.base, "DJ");
  // Uploading takes an account: the guest keeps its identity and registers in place.
  await A.page.click("text=Create an account");
  await A.page.fill("input[name=username]", `dj${Date.now() % 100000}`);
  await A.page.fill("input[name=password]", "a long enough password");
  await A.page.click("button[type=submit] >> text=Create account");
  await waitFor(A.page, () => window.__hearth.ctx.api.user.value && !window.__hearth.ctx.api.user.value.guest, undefined, { what: "the account upgrade" });
  await A.page.fill("input[name=room_name]", "Listening room");
  await A.page.click("[data-testid=create-submit]");
  await A.page.waitForURL(/\/rooms\//, { timeout: 60_000 });
  const roomId = new URL(A.page.url()).pathname.split("/")[2];
  await inRoom(A.page);

  // Upload a two-minute track through the music panel's upload control.
  await A.page.click("[data-testid=toggle-music]");
  await A.page.setInputFiles("[data-testid=music-upload]", { name: "tones.wav", mimeType: "audio/wav", buffer: Buffer.from(wav(120, 16000), "base64") });
  await A.page.waitForSelector("[data-testid=library-track]", { timeout: 60_000 });
  await A.page.click("[data-testid=library-track]");
  await waitFor(A.page, () => !!window.__hearth.room.session.music.value?.current || (window.__hearth.room.session.music.value?.queue.length ?? 0) > 0, undefined, {
    what: "the track in the room's player",
  });
  if (await A.page.$("[data-testid=music-play]")) await A.page.click("[data-testid=music-play]");
  await waitFor(A.page, () => {
    const s = window.__hearth.room.session.music.value;
    return s?.current && !s.paused;
  }, undefined, { what: "the room's player to play" });

  const B = await newPerson(browser, server.base, "Listener");
  await B.page.goto(`${server.base}/rooms/${roomId}`);
  await inRoom(B.page);
  for (const p of [A.page, B.page]) {
    await waitFor(p, () => (window.__hearth.room.music.report().n ?? 0) > 5, undefined, { what: "playback to start and be measured", timeout: 90_000 });
  }

  // Sample both pages at (nearly) the same moment, 40 times.
  const between = [];
  const own = { A: [], B: [] };
  for (let i = 0; i < 40; i++) {
    const [ra, rb] = await Promise.all([A.page.evaluate(() => window.__hearth.room.music.report()), B.page.evaluate(() => window.__hearth.room.music.report())]);
    if (ra.driftMs !== null && rb.driftMs !== null) {
      between.push(Math.abs(ra.driftMs - rb.driftMs));
      own.A.push(Math.abs(ra.driftMs));
      own.B.push(Math.abs(rb.driftMs));
    }
    await sleep(250);
  }
  assert.ok(between.length >= 20, "too few simultaneous samples");
  const rep = await Promise.all([A.page, B.page].map((p) => p.evaluate(() => window.__hearth.room.music.report())));
  console.log(
    `music drift between the two listeners: median ${median(between).toFixed(1)} ms, max ${Math.max(...between).toFixed(1)} ms ` +
      `(n=${between.length}); against the server timeline: A median ${median(own.A).toFixed(1)} ms, B median ${median(own.B).toFixed(1)} ms; ` +
      `seeks A ${rep[0].seeks}, B ${rep[1].seeks}`,
  );
  await B.page.click("[data-testid=toggle-music]");
  await B.page.waitForSelector("[data-testid=music]");
  await B.page.screenshot({ path: join(ensureArtifacts(), "music.png") });
  await A.context.close();
  await B.context.close();
});
