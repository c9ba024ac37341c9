// Loads the generated models for one quality preset (the manifest names a
// variant per preset) and turns them into what the world needs: LOD
// geometries per object, static meshes, prop placements and scene facts.
import * as THREE from "three";
import { GLTFLoader, type GLTF } from "three/examples/jsm/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";
import type { PresetName } from "./presets";

export interface ManifestEntry {
  url: string;
  bytes: number;
  triangles: Record<string, number>;
}
export interface Manifest {
  version: number;
  presets: Record<PresetName, Record<"avatar" | "lounge" | "plaza", ManifestEntry>>;
}

/** LODSet holds the three levels of one object (same material). */
export interface LODSet {
  levels: [THREE.BufferGeometry, THREE.BufferGeometry, THREE.BufferGeometry];
  material: THREE.MeshStandardMaterial;
  /** bounding sphere of level 0 in object space */
  radius: number;
  center: THREE.Vector3;
}

export interface Placement {
  prop: string;
  matrix: THREE.Matrix4;
}

export interface SceneAssets {
  name: string;
  statics: THREE.Mesh[];
  objects: Map<string, LODSet>;
  placements: Placement[];
  spawn: THREE.Vector3;
  half: number;
}

let manifestPromise: Promise<Manifest> | null = null;

export function loadManifest(base = "/"): Promise<Manifest> {
  manifestPromise ??= fetch(`${base}models-manifest.json`, { cache: "no-cache" }).then((r) => {
    if (!r.ok) throw new Error(`models manifest: HTTP ${r.status}`);
    return r.json() as Promise<Manifest>;
  });
  return manifestPromise;
}

const loader = new GLTFLoader().setMeshoptDecoder(MeshoptDecoder);
const cache = new Map<string, Promise<GLTF>>();

function loadGLTF(url: string): Promise<GLTF> {
  let p = cache.get(url);
  if (!p) {
    p = loader.loadAsync(url);
    cache.set(url, p);
  }
  return p;
}

/**
 * floatGeometry copies a (possibly quantized) geometry into plain float
 * attributes with the node's transform baked in, so instancing and LOD can
 * treat every level alike.
 */
function floatGeometry(src: THREE.BufferGeometry, m: THREE.Matrix4): THREE.BufferGeometry {
  const g = new THREE.BufferGeometry();
  for (const [name, attr] of Object.entries(src.attributes)) {
    const a = attr as THREE.BufferAttribute;
    const out = new Float32Array(a.count * a.itemSize);
    for (let i = 0; i < a.count; i++) {
      for (let k = 0; k < a.itemSize; k++) out[i * a.itemSize + k] = a.getComponent(i, k);
    }
    g.setAttribute(name, new THREE.BufferAttribute(out, a.itemSize));
  }
  if (src.index) g.setIndex(src.index.clone());
  g.applyMatrix4(m);
  g.computeBoundingSphere();
  g.computeBoundingBox();
  return g;
}

function collectLODs(root: THREE.Object3D): Map<string, LODSet> {
  const byObject = new Map<string, { levels: THREE.BufferGeometry[]; material: THREE.MeshStandardMaterial }>();
  root.updateMatrixWorld(true);
  root.traverse((o) => {
    const ex = o.userData as { lod?: number; object?: string };
    if (ex.object === undefined || ex.lod === undefined) return;
    // GLTFLoader puts the mesh on the node itself, or on a child for multi-primitive meshes.
    const mesh = (o as THREE.Mesh).isMesh ? (o as THREE.Mesh) : (o.children.find((c) => (c as THREE.Mesh).isMesh) as THREE.Mesh | undefined);
    if (!mesh) return;
    const entry = byObject.get(ex.object) ?? { levels: [], material: mesh.material as THREE.MeshStandardMaterial };
    entry.levels[ex.lod] = floatGeometry(mesh.geometry, mesh.matrixWorld);
    byObject.set(ex.object, entry);
  });
  const out = new Map<string, LODSet>();
  for (const [name, e] of byObject) {
    const l0 = e.levels[0]!;
    const l1 = e.levels[1] ?? l0;
    const l2 = e.levels[2] ?? l1;
    const bs = l0.boundingSphere!;
    out.set(name, { levels: [l0, l1, l2], material: e.material, radius: bs.radius, center: bs.center.clone() });
  }
  return out;
}

export async function loadAvatar(preset: PresetName): Promise<LODSet> {
  const m = await loadManifest();
  const gltf = await loadGLTF("/" + m.presets[preset].avatar.url);
  const set = collectLODs(gltf.scene).get("avatar");
  if (!set) throw new Error("avatar model has no LOD set");
  return set;
}

export async function loadScene(name: string, preset: PresetName): Promise<SceneAssets> {
  const m = await loadManifest();
  const key = name === "plaza" ? "plaza" : "lounge";
  const gltf = await loadGLTF("/" + m.presets[preset][key].url);
  const root = gltf.scene;
  root.updateMatrixWorld(true);
  const statics: THREE.Mesh[] = [];
  const placements: Placement[] = [];
  root.traverse((o) => {
    const ex = o.userData as { static?: boolean; prop?: string };
    if (ex.static) {
      const mesh = (o as THREE.Mesh).isMesh ? (o as THREE.Mesh) : (o.children.find((c) => (c as THREE.Mesh).isMesh) as THREE.Mesh | undefined);
      if (mesh) {
        const g = floatGeometry(mesh.geometry, mesh.matrixWorld);
        const copy = new THREE.Mesh(g, mesh.material);
        copy.name = o.name;
        statics.push(copy);
      }
    } else if (ex.prop) {
      placements.push({ prop: ex.prop, matrix: o.matrixWorld.clone() });
    }
  });
  const sceneExtras = (gltf.scenes[0]?.userData ?? {}) as { spawn?: number[]; bounds?: { half: number } };
  const sp = sceneExtras.spawn ?? [0, 0, 0];
  return {
    name: key,
    statics,
    objects: collectLODs(root),
    placements,
    spawn: new THREE.Vector3(sp[0], sp[1], sp[2]),
    half: sceneExtras.bounds?.half ?? 50,
  };
}
