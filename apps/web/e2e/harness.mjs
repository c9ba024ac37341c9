// E2E harness: starts a real `hearth serve` on a free port with a temporary
// data directory and the built client, and drives Debian's Chromium with
// playwright-core. Everything waits for conditions with generous timeouts
// (a busy 2-core machine is slow); nothing asserts a duration.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const webDist = resolve(here, "../dist");
export const artifacts = join(repo, "test-artifacts");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
  "--enable-unsafe-swiftshader",
  "--use-angle=swiftshader",
  "--disable-renderer-backgrounding",
  "--disable-background-timer-throttling",
  "--disable-backgrounding-occluded-windows",
];

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export function freeUDPPort() {
  return new Promise((res, rej) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** hearthBinary returns bin/hearth (built by make) or builds one into a temp dir. */
export function hearthBinary() {
  if (process.env.HEARTH_BIN) return process.env.HEARTH_BIN;
  const out = join(mkdtempSync(join(tmpdir(), "hearth-bin-")), "hearth");
  execFileSync("go", ["build", "-o", out, "./cmd/hearth"], { cwd: repo, stdio: "inherit" });
  return out;
}

export async function startServer(extraArgs = [], env = {}) {
  if (!existsSync(join(webDist, "index.html"))) throw new Error(`no client build in ${webDist}: run npm run build -w apps/web`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-e2e-"));
  const bin = hearthBinary();
  const args = ["serve", "--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, "--web-dir", webDist, "--log-format", "text", "--log-level", "warn", ...extraArgs];
  // Voice media ports default to fixed numbers; give each test server its own.
  const help = execFileSync(bin, ["serve", "--help"]).toString();
  if (help.includes("--voice-udp-port")) args.push("--voice-udp-port", String(await freeUDPPort()));
  if (help.includes("--voice-tcp-port")) args.push("--voice-tcp-port", String(await freePort()));
  const proc = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`hearth exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("hearth did not become ready");
    await sleep(200);
  }
  return {
    base,
    port,
    /** whether this build runs the voice service (it lands separately) */
    voice: help.includes("--voice-udp-port"),
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once("exit", r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** waitFor polls fn in the page until it returns a truthy value. */
export async function waitFor(page, fn, arg, { timeout = 60_000, what = "condition" } = {}) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    return await h.jsonValue();
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message.split("\n")[0]}`);
  }
}

/** newPerson opens a browser context and signs in as a guest. */
export async function newPerson(browser, base, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 }, permissions: ["microphone"] });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${name}] page error:`, e.message));
  page.on("console", (m) => {
    if (m.type() === "error") console.error(`[${name}] console:`, m.text());
  });
  await page.goto(base + "/");
  await page.fill("input[name=display_name]", name);
  await page.click("[data-testid=signin-submit]");
  await page.waitForSelector("[data-testid=create-room]", { timeout: 60_000 });
  return { context, page, name };
}

/** inRoom waits until the page is connected to the room and its world is loaded. */
export async function inRoom(page) {
  await waitFor(page, () => {
    const r = window.__hearth?.room;
    return r && r.session.status.value.kind === "connected" && r.world.loaded.value && !r.loading.value && r.world.local.id;
  }, undefined, { what: "the room to be connected and loaded", timeout: 90_000 });
}

export function ensureArtifacts() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
