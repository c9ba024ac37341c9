#!/usr/bin/env node
// `npm run assets`: generates Hearth's art from code (avatars, props, the
// lounge and the plaza), then writes one optimized variant per quality
// preset with glTF-Transform: LOD meshes simplified with meshoptimizer,
// textures resized per preset and compressed to WebP, geometry quantized
// and meshopt-compressed. A manifest (public/models-manifest.json) tells the
// client which file each preset loads. Files carry a content hash in their
// name, so the server may cache them forever.
//
// Output: public/assets/models/<preset>/<name>.<hash>.glb. Skipped when the
// generator and its inputs have not changed (pass --force to rebuild).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Document, Logger, NodeIO } from "@gltf-transform/core";
import { ALL_EXTENSIONS } from "@gltf-transform/extensions";
import { dedup, meshopt, prune, simplifyPrimitive, textureCompress } from "@gltf-transform/functions";
import { MeshoptEncoder, MeshoptSimplifier } from "meshoptimizer";
import sharp from "sharp";
import { box, lathe, merge, plane, rng, sphere, transform, triangles } from "./geometry.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const outDir = join(root, "public", "assets", "models");
const manifestPath = join(root, "public", "models-manifest.json");
const force = process.argv.includes("--force");

export const PRESETS = {
  // lod0Ratio: how much of the full mesh the preset's nearest level keeps;
  // texture sizes in pixels per texture kind.
  high: { lod0Ratio: 1, lod1Ratio: 0.3, textures: { ground: 1024, fabric: 256, detail: 256 }, quality: 85 },
  medium: { lod0Ratio: 0.6, lod1Ratio: 0.22, textures: { ground: 512, fabric: 128, detail: 128 }, quality: 75 },
  low: { lod0Ratio: 0.35, lod1Ratio: 0.15, textures: { ground: 256, fabric: 64, detail: 64 }, quality: 60 },
};

const C = {
  white: [1, 1, 1],
  visor: [0.08, 0.1, 0.14],
  skin: [0.96, 0.85, 0.75],
  bark: [0.42, 0.28, 0.17],
  leaf: [0.3, 0.58, 0.28],
  leafDark: [0.2, 0.45, 0.24],
  wood: [0.62, 0.43, 0.26],
  metal: [0.25, 0.27, 0.3],
  lamp: [1, 0.9, 0.6],
  stone: [0.62, 0.6, 0.56],
  stoneDark: [0.45, 0.44, 0.42],
  water: [0.35, 0.6, 0.8],
  grass: [0.55, 0.7, 0.45],
  brick: [0.62, 0.32, 0.24],
  cream: [0.93, 0.89, 0.8],
  fabricRed: [0.7, 0.25, 0.22],
  fabricBlue: [0.25, 0.38, 0.62],
  crate: [0.7, 0.55, 0.33],
};

// ---------- sources ----------

/** The avatar: a friendly capsule person, about 1.75 m, facing +Z, feet at y = 0. */
function avatarFull() {
  const torso = lathe(
    [[0.02, 0.62], [0.22, 0.66], [0.27, 0.8], [0.29, 1.0], [0.3, 1.2], [0.26, 1.34], [0.12, 1.4], [0.06, 1.42]],
    40,
    C.white,
  );
  const head = sphere(0.2, 40, 28, C.white, { center: [0, 1.6, 0] });
  const visor = transform(sphere(0.12, 24, 12, C.visor, { squash: 0.55 }), { s: [1.2, 1, 0.6], t: [0, 1.62, 0.14] });
  const limb = (x, y0, y1, r) => transform(lathe([[r * 0.8, 0], [r, 0.05], [r, y1 - y0 - 0.05], [r * 0.8, y1 - y0]], 18, C.white, { cap: true }), { t: [x, y0, 0] });
  const legs = merge(limb(-0.12, 0.02, 0.66, 0.09), limb(0.12, 0.02, 0.66, 0.09));
  const arms = merge(
    transform(limb(0, 0, 0.55, 0.065), { t: [-0.33, 0.75, 0] }),
    transform(limb(0, 0, 0.55, 0.065), { t: [0.33, 0.75, 0] }),
  );
  const hands = merge(sphere(0.075, 16, 10, C.skin, { center: [-0.33, 0.74, 0] }), sphere(0.075, 16, 10, C.skin, { center: [0.33, 0.74, 0] }));
  const feet = merge(box(0.14, 0.08, 0.26, C.visor, [-0.12, 0.04, 0.05]), box(0.14, 0.08, 0.26, C.visor, [0.12, 0.04, 0.05]));
  return merge(torso, head, visor, legs, arms, hands, feet);
}

/** The far form: a dozen boxes' worth of triangles that reads as a person at 30 m. */
function avatarFar() {
  return merge(box(0.5, 0.8, 0.36, C.white, [0, 1.0, 0]), box(0.3, 0.6, 0.22, C.white, [0, 0.32, 0]), box(0.34, 0.34, 0.34, C.white, [0, 1.6, 0]), box(0.24, 0.1, 0.04, C.visor, [0, 1.62, 0.18]));
}

const props = {
  tree(detail) {
    const seg = detail ? 20 : 6;
    const trunk = lathe([[0.22, 0], [0.16, 0.5], [0.13, 1.6], [0.08, 2.4]], seg, C.bark, { cap: true });
    if (!detail) return merge(trunk, transform(box(2.2, 2.6, 2.2, C.leaf), { t: [0, 3.1, 0] }));
    const leaves = merge(
      sphere(1.3, 28, 18, C.leaf, { center: [0, 3.0, 0], bumpy: 0.25, seed: 3 }),
      sphere(0.9, 22, 14, C.leafDark, { center: [0.5, 3.8, 0.2], bumpy: 0.3, seed: 4 }),
      sphere(0.8, 22, 14, C.leaf, { center: [-0.6, 3.5, -0.3], bumpy: 0.3, seed: 5 }),
    );
    return merge(trunk, leaves);
  },
  bench(detail) {
    const parts = [];
    const slats = detail ? 5 : 1;
    for (let i = 0; i < slats; i++) parts.push(box(1.8, 0.05, 0.4 / slats - 0.02, C.wood, [0, 0.45, -0.2 + (i + 0.5) * (0.4 / slats)]));
    for (let i = 0; i < (detail ? 3 : 1); i++) parts.push(box(1.8, 0.35 / (detail ? 3 : 1) - 0.03, 0.05, C.wood, [0, 0.62 + i * 0.12, -0.22]));
    for (const x of [-0.8, 0.8]) parts.push(box(0.06, 0.45, 0.45, C.metal, [x, 0.22, 0]));
    if (detail) for (const x of [-0.8, 0.8]) parts.push(transform(lathe([[0.03, 0], [0.03, 0.5]], 10, C.metal), { t: [x, 0.45, -0.24] }));
    return merge(...parts);
  },
  lamp(detail) {
    const seg = detail ? 24 : 6;
    const post = lathe([[0.14, 0], [0.12, 0.2], [0.06, 0.3], [0.05, 3.2], [0.08, 3.3]], seg, C.metal, { cap: true });
    const light = detail ? sphere(0.22, 20, 14, C.lamp, { center: [0, 3.5, 0] }) : box(0.34, 0.34, 0.34, C.lamp, [0, 3.5, 0]);
    return merge(post, light);
  },
  rock(detail) {
    return detail ? sphere(0.7, 24, 16, C.stone, { squash: 0.6, bumpy: 0.35, seed: 9 }) : box(1.1, 0.7, 1.0, C.stone, [0, 0.1, 0]);
  },
  bush(detail) {
    return detail ? sphere(0.7, 22, 14, C.leafDark, { center: [0, 0.45, 0], squash: 0.8, bumpy: 0.3, seed: 11 }) : box(1.2, 0.9, 1.2, C.leafDark, [0, 0.45, 0]);
  },
  crate(detail) {
    if (!detail) return box(0.8, 0.8, 0.8, C.crate, [0, 0.4, 0]);
    const parts = [box(0.76, 0.76, 0.76, C.crate, [0, 0.4, 0])];
    for (const y of [0.04, 0.76]) for (const z of [-0.38, 0.38]) parts.push(box(0.82, 0.08, 0.06, C.wood, [0, y, z]));
    for (const y of [0.04, 0.76]) for (const x of [-0.38, 0.38]) parts.push(box(0.06, 0.08, 0.82, C.wood, [x, y, 0]));
    for (const x of [-0.38, 0.38]) for (const z of [-0.38, 0.38]) parts.push(box(0.06, 0.8, 0.06, C.wood, [x, 0.4, z]));
    return merge(...parts);
  },
  sofa(detail) {
    const c = C.fabricRed;
    const parts = [box(2.0, 0.4, 0.9, c, [0, 0.25, 0]), box(2.0, 0.6, 0.2, c, [0, 0.7, -0.35]), box(0.2, 0.3, 0.9, c, [-0.9, 0.55, 0]), box(0.2, 0.3, 0.9, c, [0.9, 0.55, 0])];
    if (detail) for (const x of [-0.5, 0.5]) parts.push(transform(sphere(0.45, 16, 8, c, { squash: 0.25 }), { s: [1, 1, 0.9], t: [x, 0.48, 0.05] }));
    return merge(...parts);
  },
  table(detail) {
    const seg = detail ? 32 : 8;
    return merge(lathe([[0.6, 0.7], [0.6, 0.75]], seg, C.wood, { cap: true }), lathe([[0.3, 0], [0.06, 0.08], [0.05, 0.7]], detail ? 16 : 5, C.metal));
  },
  planter(detail) {
    const seg = detail ? 24 : 6;
    const pot = lathe([[0.3, 0], [0.4, 0.5], [0.42, 0.55], [0.36, 0.55]], seg, C.brick, { cap: true });
    const plant = detail ? sphere(0.5, 18, 12, C.leaf, { center: [0, 0.95, 0], bumpy: 0.35, seed: 13 }) : box(0.7, 0.7, 0.7, C.leaf, [0, 0.95, 0]);
    return merge(pot, plant);
  },
};

function fountain() {
  const basin = lathe([[5.2, 0], [5.2, 0.6], [4.8, 0.6], [4.8, 0.3], [0.01, 0.3]], 64, C.stone);
  const water = transform(lathe([[4.8, 0.45], [0.01, 0.45]], 48, C.water), {});
  const column = lathe([[0.8, 0.3], [0.5, 0.8], [0.4, 2.2], [1.4, 2.4], [1.4, 2.6], [0.3, 2.7], [0.25, 3.6], [0.45, 3.8], [0.01, 4.0]], 40, C.stoneDark);
  return merge(basin, water, column);
}

// The fountain stands north of the central square; the square itself stays
// open because the realtime gateway spawns newcomers near the origin.
export const FOUNTAIN = [0, -40];

function plazaStatic() {
  const ground = plane(200, 200, 40, C.white, 4);
  const ring = merge(
    transform(lathe([[14, 0.02], [0.01, 0.02]], 64, C.stone), {}),
    transform(lathe([[9, 0.025], [6, 0.025]], 48, C.stoneDark), { t: [FOUNTAIN[0], 0, FOUNTAIN[1]] }),
  );
  const paths = [];
  for (const yaw of [0, Math.PI / 2]) paths.push(transform(box(5, 0.04, 190, C.stone), { yaw, t: [0, 0.01, 0] }));
  return { ground, decor: merge(transform(fountain(), { t: [FOUNTAIN[0], 0, FOUNTAIN[1]] }), ring, ...paths) };
}

function loungeStatic() {
  const ground = plane(18, 18, 6, C.white, 1.5);
  const W = 18;
  const walls = merge(
    box(W, 3.5, 0.3, C.cream, [0, 1.75, -W / 2]),
    box(W, 3.5, 0.3, C.cream, [0, 1.75, W / 2]),
    box(0.3, 3.5, W, C.cream, [-W / 2, 1.75, 0]),
    box(0.3, 3.5, W, C.cream, [W / 2, 1.75, 0]),
  );
  // The hearth: a brick fireplace with a glowing opening.
  const fire = merge(
    box(3.2, 2.4, 1, C.brick, [0, 1.2, -W / 2 + 0.6]),
    box(1.6, 1.0, 0.3, [1, 0.55, 0.2], [0, 0.6, -W / 2 + 1.05]),
    box(3.6, 0.2, 1.2, C.stoneDark, [0, 2.45, -W / 2 + 0.6]),
    box(4.4, 0.05, 3, C.fabricBlue, [0, 0.02, -5]),
  );
  return { ground, decor: merge(walls, fire) };
}

/** Deterministic placements: [prop, x, z, yaw, scale]. */
function plazaLayout() {
  const rand = rng(42);
  const out = [];
  const nearFountain = (x, z, r) => Math.hypot(x - FOUNTAIN[0], z - FOUNTAIN[1]) < 9.5 + r;
  const free = (x, z, r) => Math.hypot(x, z) > 16 + r && Math.abs(x) > 3.5 + r && Math.abs(z) > 3.5 + r && !nearFountain(x, z, r);
  // Lamps and benches line the two avenues.
  for (let d = 18; d <= 92; d += 8) {
    for (const s of [-1, 1]) {
      out.push(["lamp", 4.2 * s, d, 0, 1], ["lamp", 4.2 * s, -d, 0, 1], ["lamp", d, 4.2 * s, 0, 1], ["lamp", -d, 4.2 * s, 0, 1]);
      if (d % 16 === 2) {
        out.push(["bench", 5.6 * s, d + 4, (s * Math.PI) / 2, 1], ["bench", -d - 4, 5.6 * s, s > 0 ? Math.PI : 0, 1]);
      }
    }
  }
  for (let i = out.length - 1; i >= 0; i--) if (nearFountain(out[i][1], out[i][2], 0.5)) out.splice(i, 1);
  // Benches around the central square.
  for (let i = 0; i < 12; i++) {
    const a = (i / 12) * Math.PI * 2 + Math.PI / 12;
    out.push(["bench", Math.cos(a) * 16.5, Math.sin(a) * 16.5, -a - Math.PI / 2, 1]);
  }
  // Parks in the four quarters: trees, bushes, rocks, planters, crates.
  const kinds = [["tree", 0.42], ["bush", 0.22], ["rock", 0.14], ["planter", 0.12], ["crate", 0.1]];
  let placed = 0;
  while (placed < 520) {
    const x = (rand() - 0.5) * 190;
    const z = (rand() - 0.5) * 190;
    if (!free(x, z, 1.5)) continue;
    let r = rand();
    let kind = "tree";
    for (const [k, p] of kinds) {
      if (r < p) {
        kind = k;
        break;
      }
      r -= p;
    }
    out.push([kind, x, z, rand() * Math.PI * 2, 0.8 + rand() * 0.5]);
    placed++;
  }
  return out;
}

function loungeLayout() {
  return [
    // The middle stays free: newcomers appear within 2 m of the origin.
    ["sofa", 0, -2.9, Math.PI, 1],
    ["sofa", -3.6, -5, Math.PI / 2 + Math.PI, 1],
    ["sofa", 3.6, -5, Math.PI / 2, 1],
    ["table", 0, -4.9, 0, 1],
    ["table", -5, 4, 0, 1],
    ["table", 5, 4, 0, 1],
    ["planter", -8, -8, 0, 1.1],
    ["planter", 8, -8, 0, 1.1],
    ["planter", -8, 8, 0, 1.1],
    ["planter", 8, 8, 0, 1.1],
    ["lamp", -6, -6.5, 0, 0.7],
    ["lamp", 6, -6.5, 0, 0.7],
    ["crate", 7.5, 2, 0.3, 1],
    ["crate", 7.6, 2.9, 0.1, 0.8],
    ["bush", -7.8, 1, 0, 0.8],
    ["sofa", -5, 6.2, 0, 0.9],
    ["sofa", 5, 6.2, 0, 0.9],
  ];
}

// ---------- textures ----------

/** RGBA pixels from a function of (u, v) in [0, 1). Generated at the largest size; presets resize. */
function texture(size, f) {
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [r, g, b] = f(x / size, y / size);
      const i = (y * size + x) * 4;
      data[i] = Math.max(0, Math.min(255, r * 255));
      data[i + 1] = Math.max(0, Math.min(255, g * 255));
      data[i + 2] = Math.max(0, Math.min(255, b * 255));
      data[i + 3] = 255;
    }
  }
  return sharp(data, { raw: { width: size, height: size, channels: 4 } }).png().toBuffer();
}

function valueNoise(seed) {
  const rand = rng(seed);
  const N = 64;
  const grid = Array.from({ length: N * N }, rand);
  const at = (x, y) => grid[(((y % N) + N) % N) * N + (((x % N) + N) % N)];
  return (u, v, freq) => {
    const x = u * freq;
    const y = v * freq;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    // Wrap at freq so the texture tiles.
    const w = (a) => ((a % freq) + freq) % freq;
    const a = at(w(x0), w(y0));
    const b = at(w(x0 + 1), w(y0));
    const c = at(w(x0), w(y0 + 1));
    const d = at(w(x0 + 1), w(y0 + 1));
    return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
  };
}

async function textures() {
  const n = valueNoise(7);
  const fbm = (u, v, base) => 0.5 * n(u, v, base) + 0.3 * n(u, v, base * 2) + 0.2 * n(u, v, base * 4);
  return {
    grass: await texture(1024, (u, v) => {
      const t = fbm(u, v, 8);
      const blade = n(u, v, 64) * 0.15;
      return [0.33 + t * 0.18 + blade, 0.52 + t * 0.2 + blade, 0.25 + t * 0.1];
    }),
    floor: await texture(1024, (u, v) => {
      const plank = Math.floor(v * 8);
      const seam = (v * 8) % 1 < 0.03 ? 0.55 : 1;
      const grain = 0.94 + 0.06 * Math.sin((u * 10 + n(u, v, 8) * 3 + plank * 3.1) * 2);
      const t = 0.9 + n(u + plank * 0.37, v, 4) * 0.2;
      return [0.62 * grain * seam * t, 0.43 * grain * seam * t, 0.27 * grain * seam * t];
    }),
    fabric: await texture(256, (u, v) => {
      const weave = 0.92 + 0.08 * Math.sin(u * 256) * Math.sin(v * 256);
      const stripe = (v * 6) % 1 < 0.08 ? 0.85 : 1;
      const t = weave * stripe * (0.94 + n(u, v, 16) * 0.06);
      return [t, t, t];
    }),
    detail: await texture(256, (u, v) => {
      const t = 0.82 + fbm(u, v, 8) * 0.18;
      return [t, t, t];
    }),
  };
}

// ---------- glTF documents ----------

/** Builder wraps a glTF-Transform document with helpers for our geometry. */
class Builder {
  constructor(name) {
    this.doc = new Document();
    // Tiled ground UVs are left unquantized on purpose; keep the build output quiet.
    this.doc.setLogger(new Logger(Logger.Verbosity.ERROR));
    this.doc.createBuffer();
    this.scene = this.doc.createScene(name);
    this.materials = new Map();
  }

  material(name, { texture = null, tex = null, roughness = 0.85, metallic = 0 } = {}) {
    if (this.materials.has(name)) return this.materials.get(name);
    const m = this.doc.createMaterial(name).setRoughnessFactor(roughness).setMetallicFactor(metallic);
    if (texture) {
      const t = this.doc.createTexture(tex.kind).setImage(tex.png).setMimeType("image/png");
      t.setExtras({ kind: tex.kind });
      m.setBaseColorTexture(t);
    }
    this.materials.set(name, m);
    return m;
  }

  mesh(name, g, material) {
    const d = this.doc;
    const buf = d.getRoot().listBuffers()[0];
    const acc = (type, arr, T) => d.createAccessor().setType(type).setArray(new T(arr)).setBuffer(buf);
    const vcount = g.pos.length / 3;
    const prim = d
      .createPrimitive()
      .setAttribute("POSITION", acc("VEC3", g.pos, Float32Array))
      .setAttribute("NORMAL", acc("VEC3", g.nrm, Float32Array))
      .setAttribute("TEXCOORD_0", acc("VEC2", g.uv, Float32Array))
      .setAttribute("COLOR_0", acc("VEC3", g.col, Float32Array))
      .setIndices(acc("SCALAR", g.idx, vcount > 65535 ? Uint32Array : Uint16Array))
      .setMaterial(material);
    return d.createMesh(name).addPrimitive(prim);
  }

  node(name, { mesh = null, extras = null, t = null, r = null, s = null, parent = null } = {}) {
    const n = this.doc.createNode(name);
    if (mesh) n.setMesh(mesh);
    if (extras) n.setExtras(extras);
    if (t) n.setTranslation(t);
    if (r) n.setRotation(r);
    if (s) n.setScale(s);
    (parent ?? this.scene).addChild(n);
    return n;
  }
}

function yawQuat(yaw) {
  return [0, Math.sin(yaw / 2), 0, Math.cos(yaw / 2)];
}

/**
 * addLOD adds three levels of one object under a "library" node:
 * lod0 = the preset's near mesh (the full mesh simplified by lod0Ratio),
 * lod1 = the reduced mesh (simplified by lod1Ratio), lod2 = the far form.
 */
function addLOD(b, name, full, far, material, preset, library) {
  const lod0 = b.mesh(`${name}.lod0`, full, material);
  const lod1 = b.mesh(`${name}.lod1`, full, material);
  const lod2 = b.mesh(`${name}.lod2`, far, material);
  const simplify = (mesh, ratio) => {
    if (ratio >= 1) return;
    for (const p of mesh.listPrimitives()) {
      simplifyPrimitive(p, { simplifier: MeshoptSimplifier, ratio, error: 0.02, lockBorder: false });
    }
  };
  simplify(lod0, preset.lod0Ratio);
  simplify(lod1, preset.lod1Ratio);
  for (const [lvl, mesh] of [[0, lod0], [1, lod1], [2, lod2]]) {
    b.node(`${name}.lod${lvl}`, { mesh, extras: { lod: lvl, object: name }, parent: library });
  }
}

async function avatarDoc(preset, tex) {
  const b = new Builder("avatar");
  const m = b.material("avatar", { texture: true, tex: { kind: "fabric", png: tex.fabric }, roughness: 0.7 });
  const library = b.node("library");
  addLOD(b, "avatar", avatarFull(), avatarFar(), m, preset, library);
  return b.doc;
}

async function sceneDoc(kind, preset, tex) {
  const b = new Builder(kind);
  const groundTex = kind === "plaza" ? { kind: "ground", png: tex.grass } : { kind: "ground", png: tex.floor };
  const ground = b.material("ground", { texture: true, tex: groundTex, roughness: 0.95 });
  const propsMat = b.material("props", { texture: true, tex: { kind: "detail", png: tex.detail }, roughness: 0.8 });
  const st = kind === "plaza" ? plazaStatic() : loungeStatic();
  b.node("ground", { mesh: b.mesh("ground", st.ground, ground), extras: { static: true } });
  b.node("decor", { mesh: b.mesh("decor", st.decor, propsMat), extras: { static: true } });
  const layout = kind === "plaza" ? plazaLayout() : loungeLayout();
  const used = [...new Set(layout.map((p) => p[0]))].sort();
  const library = b.node("library");
  for (const name of used) addLOD(b, name, props[name](true), props[name](false), propsMat, preset, library);
  const instances = b.node("instances");
  layout.forEach(([prop, x, z, yaw, s], i) => {
    b.node(`${prop}#${i}`, { extras: { prop }, t: [round(x), 0, round(z)], r: yawQuat(yaw), s: [s, s, s], parent: instances });
  });
  const bounds = kind === "plaza" ? { half: 96 } : { half: 8.4 };
  b.scene.setExtras({ scene: kind, spawn: [0, 0, 0], bounds });
  return b.doc;
}

const round = (v) => Math.round(v * 100) / 100;

async function optimize(doc, preset) {
  const sizeOf = (kind) => preset.textures[kind] ?? 128;
  for (const t of doc.getRoot().listTextures()) {
    const kind = t.getExtras().kind;
    const size = sizeOf(kind);
    // Resize and compress each texture to the preset's size as WebP.
    await doc.transform(
      textureCompress({ encoder: sharp, targetFormat: "webp", resize: [size, size], quality: preset.quality, pattern: new RegExp(`^${t.getName()}$`) }),
    );
  }
  await doc.transform(dedup(), prune({ keepLeaves: true, keepExtras: true }), meshopt({ encoder: MeshoptEncoder, level: "medium", quantizationVolume: "mesh" }));
  return doc;
}

function countTriangles(doc) {
  const out = {};
  for (const m of doc.getRoot().listMeshes()) {
    let n = 0;
    for (const p of m.listPrimitives()) n += (p.getIndices()?.getCount() ?? 0) / 3;
    out[m.getName()] = n;
  }
  return out;
}

async function generatorHash() {
  const h = createHash("sha256");
  for (const f of ["assets.mjs", "geometry.mjs"]) h.update(readFileSync(join(here, f)));
  for (const p of ["@gltf-transform/core", "meshoptimizer", "sharp"]) {
    try {
      const pkgUrl = import.meta.resolve(`${p}/package.json`);
      h.update(readFileSync(fileURLToPath(pkgUrl)));
    } catch {
      h.update(p);
    }
  }
  return h.digest("hex").slice(0, 16);
}

export async function build() {
  const gen = await generatorHash();
  if (!force && existsSync(manifestPath)) {
    try {
      const old = JSON.parse(readFileSync(manifestPath, "utf8"));
      const allThere = Object.values(old.presets ?? {}).every((p) => Object.values(p).every((e) => existsSync(join(root, "public", e.url))));
      if (old.generator === gen && allThere) {
        console.log("assets: up to date");
        return old;
      }
    } catch {
      // rebuild
    }
  }
  await MeshoptEncoder.ready;
  await MeshoptSimplifier.ready;
  const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({ "meshopt.encoder": MeshoptEncoder });
  const tex = await textures();
  rmSync(outDir, { recursive: true, force: true });
  const manifest = { version: 1, generator: gen, presets: {} };
  const rows = [];
  for (const [name, preset] of Object.entries(PRESETS)) {
    mkdirSync(join(outDir, name), { recursive: true });
    manifest.presets[name] = {};
    const docs = { avatar: await avatarDoc(preset, tex), lounge: await sceneDoc("lounge", preset, tex), plaza: await sceneDoc("plaza", preset, tex) };
    for (const [asset, doc] of Object.entries(docs)) {
      const tris = countTriangles(doc);
      await optimize(doc, preset);
      const glb = await io.writeBinary(doc);
      const hash = createHash("sha256").update(glb).digest("hex").slice(0, 10);
      const rel = `assets/models/${name}/${asset}.${hash}.glb`;
      writeFileSync(join(root, "public", rel), glb);
      manifest.presets[name][asset] = { url: rel, bytes: glb.byteLength, triangles: tris };
      rows.push(`${name.padEnd(7)} ${asset.padEnd(7)} ${(glb.byteLength / 1024).toFixed(1).padStart(8)} KB`);
    }
  }
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 1) + "\n");
  console.log("assets written:\n" + rows.join("\n"));
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  await build();
  console.log(`assets: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export { manifestPath, statSync };
