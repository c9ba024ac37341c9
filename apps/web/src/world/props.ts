// PropField draws the scene's repeated props (hundreds in the plaza) with
// one InstancedMesh per object and LOD level. Each frame it tests every
// instance's bounding sphere against the camera frustum and the draw
// distance (one bounding sphere for a whole InstancedMesh would keep all of
// them "visible"), picks its LOD level with hysteresis, and packs the
// survivors into the level's instance buffer. Three's own per-mesh culling
// is off for these meshes: this system is the culling.
import * as THREE from "three";
import type { LODSet, Placement } from "./assets";
import { lodLevel } from "./lod";
import { materialFor, type AnyMaterial } from "./materials";
import type { Preset } from "./presets";

export interface CullOptions {
  lod: boolean;
  culling: boolean;
  preset: Preset;
}

export interface PropStats {
  instances: number;
  drawn: number;
  culled: number;
  byLevel: [number, number, number];
}

interface Group {
  name: string;
  set: LODSet;
  meshes: [THREE.InstancedMesh, THREE.InstancedMesh, THREE.InstancedMesh];
  matrices: THREE.Matrix4[];
  spheres: THREE.Sphere[];
  level: Uint8Array;
}

const tmpSphere = new THREE.Sphere();

export class PropField {
  readonly root = new THREE.Group();
  private groups: Group[] = [];
  private material: AnyMaterial | null = null;
  readonly stats: PropStats = { instances: 0, drawn: 0, culled: 0, byLevel: [0, 0, 0] };
  private lastCam = new THREE.Matrix4();
  private lastKey = "";

  constructor(objects: Map<string, LODSet>, placements: Placement[], preset: Preset) {
    this.root.name = "props";
    const byProp = new Map<string, Placement[]>();
    for (const p of placements) {
      const list = byProp.get(p.prop) ?? [];
      list.push(p);
      byProp.set(p.prop, list);
    }
    for (const [name, list] of byProp) {
      const set = objects.get(name);
      if (!set) continue;
      const meshes = set.levels.map((g, lvl) => {
        const m: THREE.InstancedMesh = new THREE.InstancedMesh(g, set.material, list.length);
        m.name = `${name}.lod${lvl}`;
        m.frustumCulled = false;
        m.count = 0;
        m.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
        this.root.add(m);
        return m;
      }) as unknown as Group["meshes"];
      const matrices = list.map((p) => p.matrix);
      const spheres = matrices.map((mx) => {
        const s = new THREE.Sphere(set.center.clone(), set.radius);
        return s.applyMatrix4(mx);
      });
      this.groups.push({ name, set, meshes, matrices, spheres, level: new Uint8Array(list.length) });
      this.stats.instances += list.length;
    }
    this.setMaterial(preset);
  }

  setMaterial(preset: Preset): void {
    const src = this.groups[0]?.set.material;
    if (!src) return;
    this.material?.dispose();
    this.material = materialFor(src, preset.material);
    for (const g of this.groups) for (const m of g.meshes) m.material = this.material;
    this.lastKey = "";
  }

  /** update re-packs the instance buffers when the camera or the options changed. */
  update(camera: THREE.Camera, frustum: THREE.Frustum, o: CullOptions): PropStats {
    const key = `${o.lod}|${o.culling}|${o.preset.name}`;
    if (key === this.lastKey && camera.matrixWorld.equals(this.lastCam)) return this.stats;
    this.lastKey = key;
    this.lastCam.copy(camera.matrixWorld);
    const cam = camera.position;
    const [d1, d2] = o.preset.lodDistances;
    const h = o.preset.lodHysteresis;
    const far = o.preset.drawDistance;
    const st = this.stats;
    st.drawn = 0;
    st.culled = 0;
    st.byLevel = [0, 0, 0];
    for (const g of this.groups) {
      const counts = [0, 0, 0];
      for (let i = 0; i < g.matrices.length; i++) {
        const s = g.spheres[i]!;
        const dist = Math.max(0, s.center.distanceTo(cam) - s.radius);
        if (o.culling) {
          tmpSphere.copy(s);
          if (dist > far || !frustum.intersectsSphere(tmpSphere)) {
            st.culled++;
            continue;
          }
        }
        const lvl = o.lod ? lodLevel(g.level[i]!, dist, [d1, d2], h) : 0;
        g.level[i] = lvl;
        g.meshes[lvl].setMatrixAt(counts[lvl]!++, g.matrices[i]!);
      }
      for (let l = 0; l < 3; l++) {
        const m = g.meshes[l as 0 | 1 | 2];
        m.count = counts[l]!;
        m.visible = m.count > 0;
        if (m.count > 0) m.instanceMatrix.needsUpdate = true;
        st.byLevel[l as 0 | 1 | 2] += counts[l]!;
        st.drawn += counts[l]!;
      }
    }
    return st;
  }

  dispose(): void {
    this.material?.dispose();
    for (const g of this.groups) for (const m of g.meshes) m.dispose();
  }
}
