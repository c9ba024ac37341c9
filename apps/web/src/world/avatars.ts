// Avatars: one view per person (the local one included). Near avatars are
// their own mesh (full or reduced level, one draw call each); far ones are
// packed into a single InstancedMesh of the cheap far form with a colour
// per instance, so a crowd across the plaza costs one draw call. Name tags
// and the speaking ring follow the body.
import * as THREE from "three";
import type { LODSet } from "./assets";
import { lodLevel, type Level } from "./lod";
import { materialFor, type AnyMaterial } from "./materials";
import type { Preset } from "./presets";

export function colorFor(id: string): THREE.Color {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  const hue = ((h >>> 0) % 360) / 360;
  return new THREE.Color().setHSL(hue, 0.55, 0.55);
}

function nameTagTexture(name: string, guest: boolean): THREE.CanvasTexture {
  const c = document.createElement("canvas");
  c.width = 256;
  c.height = 64;
  const ctx = c.getContext("2d")!;
  ctx.font = "600 28px system-ui, sans-serif";
  const label = name.length > 18 ? name.slice(0, 17) + "…" : name;
  const w = Math.min(248, ctx.measureText(label).width + 28);
  ctx.fillStyle = "rgba(20, 22, 30, 0.72)";
  ctx.beginPath();
  ctx.roundRect((256 - w) / 2, 10, w, 44, 22);
  ctx.fill();
  ctx.fillStyle = guest ? "#d8dce8" : "#ffffff";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(label, 128, 33);
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.SRGBColorSpace;
  return t;
}

const ringGeometry = new THREE.RingGeometry(0.32, 0.42, 32);

export class AvatarView {
  readonly root = new THREE.Group();
  readonly body: THREE.Mesh;
  readonly tag: THREE.Sprite;
  readonly ring: THREE.Mesh;
  readonly color: THREE.Color;
  level: Level = 0;
  /** distance to the camera, this frame */
  dist = 0;
  /** whether the body is drawn this frame (not culled, within the draw distance) */
  drawn = true;
  speaking = false;
  away = false;
  private phase = Math.random() * 10;
  private material: AnyMaterial;

  constructor(
    readonly id: string,
    public name: string,
    readonly set: LODSet,
    preset: Preset,
    readonly guest: boolean,
  ) {
    this.color = colorFor(id);
    this.material = materialFor(set.material, preset.material, this.color);
    this.body = new THREE.Mesh(set.levels[0], this.material);
    this.body.castShadow = true;
    this.body.frustumCulled = false;
    this.root.add(this.body);
    const tagMat = new THREE.SpriteMaterial({ map: nameTagTexture(name, guest), depthWrite: false, transparent: true });
    this.tag = new THREE.Sprite(tagMat);
    this.tag.scale.set(1.6, 0.4, 1);
    this.tag.position.y = 2.15;
    this.tag.frustumCulled = false;
    this.root.add(this.tag);
    this.ring = new THREE.Mesh(ringGeometry, new THREE.MeshBasicMaterial({ color: 0x6cf0a0, transparent: true, opacity: 0.9, side: THREE.DoubleSide, depthWrite: false }));
    this.ring.rotation.x = -Math.PI / 2;
    this.ring.position.y = 0.03;
    this.ring.visible = false;
    this.ring.frustumCulled = false;
    this.root.add(this.ring);
  }

  setPreset(preset: Preset): void {
    this.material.dispose();
    this.material = materialFor(this.set.material, preset.material, this.color);
    this.body.material = this.material;
  }

  /** pose places the avatar; speed (m/s) drives a simple walk bob and lean. */
  pose(x: number, y: number, z: number, yaw: number, speed: number, dt: number): void {
    this.root.position.set(x, y, z);
    this.root.rotation.y = yaw;
    const walking = Math.min(1, speed / 2.5);
    this.phase += dt * (4 + speed * 3);
    this.body.position.y = walking * Math.abs(Math.sin(this.phase)) * 0.06;
    this.body.rotation.x = walking * 0.08;
    this.body.rotation.z = walking * Math.sin(this.phase) * 0.04;
  }

  dispose(): void {
    this.material.dispose();
    (this.tag.material as THREE.SpriteMaterial).map?.dispose();
    this.tag.material.dispose();
    (this.ring.material as THREE.Material).dispose();
  }
}

export interface AvatarLODOptions {
  lod: boolean;
  culling: boolean;
  preset: Preset;
  nameTags: boolean;
}

export interface AvatarStats {
  total: number;
  full: number;
  reduced: number;
  far: number;
  culled: number;
}

const tmpSphere = new THREE.Sphere();
const tmpMatrix = new THREE.Matrix4();

/** AvatarLayer owns every avatar view and the shared far-form crowd mesh. */
export class AvatarLayer {
  readonly root = new THREE.Group();
  readonly views = new Map<string, AvatarView>();
  private far: THREE.InstancedMesh;
  private farMaterial: AnyMaterial;
  private sorted: AvatarView[] = [];
  readonly stats: AvatarStats = { total: 0, full: 0, reduced: 0, far: 0, culled: 0 };
  private time = 0;

  constructor(
    private set: LODSet,
    private preset: Preset,
    capacity = 128,
  ) {
    this.root.name = "avatars";
    this.farMaterial = materialFor(set.material, preset.material);
    this.far = new THREE.InstancedMesh(set.levels[2], this.farMaterial, capacity);
    this.far.frustumCulled = false;
    this.far.count = 0;
    this.far.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(capacity * 3), 3);
    this.root.add(this.far);
  }

  add(id: string, name: string, guest: boolean): AvatarView {
    let v = this.views.get(id);
    if (v) return v;
    v = new AvatarView(id, name, this.set, this.preset, guest);
    this.views.set(id, v);
    this.root.add(v.root);
    return v;
  }

  remove(id: string): void {
    const v = this.views.get(id);
    if (!v) return;
    this.root.remove(v.root);
    v.dispose();
    this.views.delete(id);
  }

  setPreset(preset: Preset): void {
    this.preset = preset;
    this.farMaterial.dispose();
    this.farMaterial = materialFor(this.set.material, preset.material);
    this.far.material = this.farMaterial;
    for (const v of this.views.values()) v.setPreset(preset);
  }

  /** update picks each avatar's level (nearest first, capped by the preset) and culls. */
  update(camera: THREE.Camera, frustum: THREE.Frustum, o: AvatarLODOptions, dt: number): AvatarStats {
    this.time += dt;
    const st = this.stats;
    st.total = this.views.size;
    st.full = st.reduced = st.far = st.culled = 0;
    const cam = camera.position;
    this.sorted.length = 0;
    for (const v of this.views.values()) {
      v.dist = v.root.position.distanceTo(cam);
      this.sorted.push(v);
    }
    this.sorted.sort((a, b) => a.dist - b.dist);
    const p = o.preset;
    let fullLeft = o.lod ? p.fullDetailAvatars : Infinity;
    let farCount = 0;
    const cap = this.far.instanceMatrix.count;
    for (const v of this.sorted) {
      tmpSphere.center.copy(v.root.position);
      tmpSphere.center.y += 0.9;
      tmpSphere.radius = 1.1;
      const visible = !o.culling || (v.dist <= p.drawDistance && frustum.intersectsSphere(tmpSphere));
      v.drawn = visible;
      if (!visible) {
        v.root.visible = false;
        st.culled++;
        continue;
      }
      v.root.visible = true;
      let lvl: Level = o.lod ? lodLevel(v.level, v.dist, p.lodDistances, p.lodHysteresis) : 0;
      if (lvl === 0 && fullLeft <= 0) lvl = 1;
      if (lvl === 0) fullLeft--;
      v.level = lvl;
      if (lvl === 2 && farCount < cap) {
        v.body.visible = false;
        v.root.updateMatrixWorld();
        tmpMatrix.copy(v.root.matrixWorld);
        this.far.setMatrixAt(farCount, tmpMatrix);
        this.far.setColorAt(farCount, v.color);
        farCount++;
        st.far++;
      } else {
        v.body.visible = true;
        v.body.geometry = this.set.levels[lvl === 2 ? 1 : lvl];
        if (lvl === 0) st.full++;
        else st.reduced++;
      }
      v.tag.visible = o.nameTags && v.dist < p.nameTagDistance;
      v.ring.visible = v.speaking && v.dist < p.drawDistance;
      if (v.ring.visible) {
        const s = 1 + 0.12 * Math.sin(this.time * 10);
        v.ring.scale.set(s, s, s);
      }
      (v.body.material as AnyMaterial).opacity = v.away ? 0.5 : 1;
      (v.body.material as AnyMaterial).transparent = v.away;
    }
    this.far.count = farCount;
    this.far.visible = farCount > 0;
    if (farCount > 0) {
      this.far.instanceMatrix.needsUpdate = true;
      if (this.far.instanceColor) this.far.instanceColor.needsUpdate = true;
    }
    return st;
  }

  dispose(): void {
    for (const id of [...this.views.keys()]) this.remove(id);
    this.far.dispose();
    this.farMaterial.dispose();
  }
}
