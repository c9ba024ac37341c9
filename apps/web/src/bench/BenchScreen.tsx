// FPS benchmark mode (/bench?preset=low&lod=1&culling=1&frames=180): the
// plaza with 40 avatars walking scripted paths and a camera on a scripted
// path, stepped with a fixed simulation time so every run draws exactly the
// same frames. Each frame is timed from the start of the frame's systems to
// the GPU finishing it (a 1-pixel read-back waits for the GPU), and the
// renderer's counters are recorded. The result lands in
// window.__benchResult for bench/run.mjs and the count-based test.
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { World } from "../world/world";
import { percentile } from "../world/stats";
import type { PresetChoice } from "../world/presets";

export interface BenchResult {
  preset: string;
  lod: boolean;
  culling: boolean;
  frames: number;
  pixelRatio: number;
  width: number;
  height: number;
  calls: { mean: number; max: number };
  triangles: { mean: number; max: number };
  geometries: number;
  textures: number;
  frameMs: { p50: number; p95: number };
  propsDrawn: number;
  propsCulled: number;
  avatars: { full: number; reduced: number; far: number; culled: number };
}

export const BENCH_AVATARS = 40;

/** avatarPath is avatar i's scripted position and heading at time t (s). */
export function avatarPath(i: number, t: number): { x: number; z: number; yaw: number } {
  const ring = i % 4;
  const r = [10, 18, 32, 55][ring]!;
  const speed = (1.2 + (i % 5) * 0.15) / r;
  const a0 = (i / BENCH_AVATARS) * Math.PI * 2 * 3.7;
  const dir = i % 2 === 0 ? 1 : -1;
  const a = a0 + dir * speed * t;
  const wobble = Math.sin(t * 0.7 + i) * 1.5;
  const x = Math.cos(a) * (r + wobble);
  const z = Math.sin(a) * (r + wobble);
  // Heading along the circle.
  const yaw = Math.atan2(-Math.sin(a) * dir, Math.cos(a) * dir);
  return { x, z, yaw };
}

/** cameraPath circles the fountain, looking across the plaza. */
export function cameraPath(t: number): { x: number; y: number; z: number; tx: number; tz: number } {
  const a = t * 0.12;
  return { x: Math.cos(a) * 26, y: 4.5, z: Math.sin(a) * 26, tx: Math.cos(a + 1.9) * 20, tz: Math.sin(a + 1.9) * 20 };
}

export async function runBench(container: HTMLElement, o: { preset: PresetChoice; lod: boolean; culling: boolean; frames: number; warmup: number }): Promise<BenchResult> {
  const world = new World(container, { preset: o.preset, lod: o.lod, culling: o.culling, nameTags: true });
  (window as unknown as { __bench: unknown }).__bench = { world };
  await world.load("plaza");
  world.spawn("bench-me", "Camera", { x: 0, y: 0, z: 26, yaw: 0, anim: 0 });
  for (let i = 0; i < BENCH_AVATARS; i++) world.avatars!.add(`bench-${i}`, `Walker ${i + 1}`, i % 3 === 0);
  // The local avatar is the camera operator: hide it so the scene is the same for every preset.
  world.avatars!.remove("bench-me");
  const dt = 1 / 30;
  let simT = 0;
  world.addSystem(
    {
      name: "bench-script",
      update: () => {
        for (let i = 0; i < BENCH_AVATARS; i++) {
          const p = avatarPath(i, simT);
          world.avatars!.views.get(`bench-${i}`)?.pose(p.x, 0, p.z, p.yaw, 1.4, dt);
          world.avatars!.views.get(`bench-${i}`)!.speaking = i % 7 === 0;
        }
        const c = cameraPath(simT);
        world.camera.position.set(c.x, c.y, c.z);
        world.camera.lookAt(c.tx, 1.5, c.tz);
      },
    },
    "lod-culling",
  );
  const gl = world.renderer.getContext();
  const px = new Uint8Array(4);
  const calls: number[] = [];
  const tris: number[] = [];
  const times: number[] = [];
  let propsDrawn = 0;
  let propsCulled = 0;
  const av = { full: 0, reduced: 0, far: 0, culled: 0 };
  for (let f = 0; f < o.warmup + o.frames; f++) {
    const t0 = performance.now();
    world.frame(t0, dt);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const t1 = performance.now();
    simT += dt;
    if (f >= o.warmup) {
      const i = world.lastInfo;
      calls.push(i.calls);
      tris.push(i.triangles);
      times.push(t1 - t0);
      propsDrawn += i.propsDrawn;
      propsCulled += i.propsCulled;
      av.full += i.avatarsFull;
      av.reduced += i.avatarsReduced;
      av.far += i.avatarsFar;
      av.culled += i.avatarsCulled;
    }
    // Yield now and then so the page stays responsive (and the runner can poll).
    if (f % 10 === 9) await new Promise((r) => setTimeout(r, 0));
  }
  const n = o.frames;
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const sorted = [...times].sort((a, b) => a - b);
  const info = world.renderer.info;
  const res: BenchResult = {
    preset: world.preset.name,
    lod: o.lod,
    culling: o.culling,
    frames: n,
    pixelRatio: world.renderer.getPixelRatio(),
    width: world.renderer.domElement.width,
    height: world.renderer.domElement.height,
    calls: { mean: mean(calls), max: Math.max(...calls) },
    triangles: { mean: mean(tris), max: Math.max(...tris) },
    geometries: info.memory.geometries,
    textures: info.memory.textures,
    frameMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95) },
    propsDrawn: propsDrawn / n,
    propsCulled: propsCulled / n,
    avatars: { full: av.full / n, reduced: av.reduced / n, far: av.far / n, culled: av.culled / n },
  };
  return res;
}

export function BenchScreen({ query }: { query: URLSearchParams }) {
  const host = useRef<HTMLDivElement>(null);
  const result = useSignal<BenchResult | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    const flag = (k: string) => query.get(k) !== "0" && query.get(k) !== "false";
    const preset = (query.get("preset") ?? "medium") as PresetChoice;
    runBench(host.current!, {
      preset,
      lod: flag("lod"),
      culling: flag("culling"),
      frames: Math.max(10, Number(query.get("frames") ?? 180)),
      warmup: Math.max(0, Number(query.get("warmup") ?? 20)),
    }).then(
      (r) => {
        result.value = r;
        (window as unknown as { __benchResult: BenchResult }).__benchResult = r;
      },
      (e) => {
        error.value = String(e);
        (window as unknown as { __benchError: string }).__benchError = String(e);
      },
    );
  }, []);
  const r = result.value;
  return (
    <div class="room" ref={host}>
      <div class="glass stats" style={{ top: "12px" }} data-testid="bench">
        {error.value ? (
          <div class="error-text">{error.value}</div>
        ) : r ? (
          <>
            <div>
              {r.preset} · LOD {r.lod ? "on" : "off"} · culling {r.culling ? "on" : "off"} · {r.width}×{r.height}
            </div>
            <div>
              draws {r.calls.mean.toFixed(0)} (max {r.calls.max}) · tris {(r.triangles.mean / 1000).toFixed(1)}k
            </div>
            <div>
              frame p50 {r.frameMs.p50.toFixed(1)} ms · p95 {r.frameMs.p95.toFixed(1)} ms
            </div>
          </>
        ) : (
          <div>Benchmark running…</div>
        )}
      </div>
    </div>
  );
}
