// World is the 3D room: renderer, scene, camera and the frame loop. A frame
// is an ordered list of small systems (input → local movement → network
// send → interpolation → camera → LOD and culling → audio → render →
// stats), each with one job, as in the Hubs client. The UI never touches
// three.js objects: it reads the signals the world publishes.
import { signal } from "@preact/signals";
import * as THREE from "three";
import { loadAvatar, loadScene, type LODSet, type SceneAssets } from "./assets";
import { AvatarLayer, type AvatarView } from "./avatars";
import { InterpolationBuffer, type Interpolated } from "./interp";
import { materialFor, prepareTexture, type AnyMaterial } from "./materials";
import { AutoPixelRatio, presetFor, type Preset, type PresetChoice } from "./presets";
import { PropField } from "./props";
import { Input } from "./input";
import { FrameStats } from "./stats";

export interface FrameCtx {
  /** seconds since the last frame (clamped) */
  dt: number;
  /** local time, ms */
  now: number;
}

export interface System {
  readonly name: string;
  update(ctx: FrameCtx): void;
}

export interface GraphicsOptions {
  preset: PresetChoice;
  lod: boolean;
  culling: boolean;
  nameTags: boolean;
}

export interface LocalPose {
  x: number;
  y: number;
  z: number;
  yaw: number;
  anim: number;
}

export interface RenderInfo {
  calls: number;
  triangles: number;
  geometries: number;
  textures: number;
  propsDrawn: number;
  propsCulled: number;
  avatarsFull: number;
  avatarsReduced: number;
  avatarsFar: number;
  avatarsCulled: number;
}

export interface WorldHooks {
  /** the local pose changed (the network system throttles) */
  onLocalPose?: (p: LocalPose) => void;
  /** current server time estimate, ms */
  serverNow?: () => number;
  /** the first frame with the room in it was rendered */
  onFirstFrame?: () => void;
}

const WALK = 3.2;
const RUN = 6.0;

interface Remote {
  view: AvatarView;
  buffer: InterpolationBuffer;
}

export class World {
  renderer!: THREE.WebGLRenderer;
  readonly scene = new THREE.Scene();
  readonly camera = new THREE.PerspectiveCamera(60, 1, 0.1, 400);
  readonly frustum = new THREE.Frustum();
  readonly input: Input;
  readonly stats = new FrameStats();
  /** published for the UI and tests */
  readonly info = signal<RenderInfo>({ calls: 0, triangles: 0, geometries: 0, textures: 0, propsDrawn: 0, propsCulled: 0, avatarsFull: 0, avatarsReduced: 0, avatarsFar: 0, avatarsCulled: 0 });
  readonly fps = signal(0);
  readonly loaded = signal(false);

  preset: Preset;
  options: GraphicsOptions;
  avatars: AvatarLayer | null = null;
  props: PropField | null = null;
  private avatarSet: LODSet | null = null;
  private sceneAssets: SceneAssets | null = null;
  private statics: { mesh: THREE.Mesh; src: THREE.MeshStandardMaterial }[] = [];
  private staticMaterials: AnyMaterial[] = [];
  private readonly remotes = new Map<string, Remote>();
  private readonly systems: System[] = [];
  private raf = 0;
  private last = 0;
  private firstFrameDone = false;
  private sun = new THREE.DirectionalLight(0xfff2e0, 2.2);
  private hemi = new THREE.HemisphereLight(0xcfe3ff, 0x4a4032, 1.2);
  private autoRatio: AutoPixelRatio;
  private resizeObserver: ResizeObserver | null = null;
  private marker: THREE.Mesh;
  private sceneName = "lounge";
  private loadToken = 0;

  /** the local avatar's state */
  readonly local = { id: "", x: 0, y: 0, z: 0, yaw: 0, speed: 0, anim: 0, target: null as THREE.Vector3 | null };
  /** camera orbit around the local avatar */
  readonly orbit = { yaw: Math.PI, pitch: 0.38, dist: 7 };
  half = 50;

  constructor(
    private readonly container: HTMLElement,
    options: GraphicsOptions,
    private readonly hooks: WorldHooks = {},
  ) {
    this.options = { ...options };
    this.preset = presetFor(options.preset);
    this.autoRatio = new AutoPixelRatio(this.preset.maxPixelRatio, Math.min(this.preset.maxPixelRatio, devicePixelRatio || 1));
    this.createRenderer();
    this.input = new Input(container);
    this.scene.add(this.hemi, this.sun, this.sun.target);
    this.sun.position.set(30, 50, 20);
    this.marker = new THREE.Mesh(
      new THREE.RingGeometry(0.25, 0.36, 24),
      new THREE.MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.8, depthWrite: false, side: THREE.DoubleSide }),
    );
    this.marker.rotation.x = -Math.PI / 2;
    this.marker.visible = false;
    this.scene.add(this.marker);
    this.systems.push(
      { name: "input", update: (c) => this.inputSystem(c) },
      { name: "local-move", update: (c) => this.moveSystem(c) },
      { name: "network-send", update: () => this.sendSystem() },
      { name: "interpolation", update: (c) => this.interpolationSystem(c) },
      { name: "camera", update: (c) => this.cameraSystem(c) },
      { name: "lod-culling", update: (c) => this.lodSystem(c) },
      { name: "render", update: () => this.renderSystem() },
      { name: "stats", update: (c) => this.statsSystem(c) },
    );
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
  }

  /** addSystem inserts a system before another (by name), e.g. audio before render. */
  addSystem(s: System, before = "render"): void {
    const i = this.systems.findIndex((x) => x.name === before);
    this.systems.splice(i < 0 ? this.systems.length : i, 0, s);
  }

  private createRenderer(): void {
    const old = this.renderer;
    const r = new THREE.WebGLRenderer({ antialias: this.preset.antialias, powerPreference: "high-performance", preserveDrawingBuffer: false });
    r.outputColorSpace = THREE.SRGBColorSpace;
    r.toneMapping = THREE.ACESFilmicToneMapping;
    r.toneMappingExposure = 1.0;
    r.shadowMap.type = THREE.PCFSoftShadowMap;
    r.domElement.className = "world-canvas";
    r.domElement.setAttribute("data-testid", "world-canvas");
    r.domElement.tabIndex = 0;
    if (old) {
      old.domElement.replaceWith(r.domElement);
      old.dispose();
    } else {
      this.container.prepend(r.domElement);
    }
    this.renderer = r;
    this.applyRendererSettings();
  }

  private applyRendererSettings(): void {
    const p = this.preset;
    const ratio = this.options.preset === "auto" ? this.autoRatio.ratio : Math.min(p.maxPixelRatio, devicePixelRatio || 1);
    this.renderer.setPixelRatio(ratio);
    this.renderer.shadowMap.enabled = p.shadows;
    this.sun.castShadow = p.shadows;
    this.sun.shadow.mapSize.set(p.shadowMapSize, p.shadowMapSize);
    this.sun.shadow.camera.left = -25;
    this.sun.shadow.camera.right = 25;
    this.sun.shadow.camera.top = 25;
    this.sun.shadow.camera.bottom = -25;
    this.sun.shadow.map?.dispose();
    this.sun.shadow.map = null;
    this.resize();
  }

  /** setGraphics applies a preset or toggle change live, without a reload. */
  setGraphics(o: GraphicsOptions): void {
    const prev = this.preset;
    this.options = { ...o };
    this.preset = presetFor(o.preset);
    const p = this.preset;
    if (p.antialias !== prev.antialias) {
      // Antialiasing is fixed when a WebGL context is made: swap the renderer.
      this.createRenderer();
    } else {
      this.autoRatio = new AutoPixelRatio(p.maxPixelRatio, Math.min(p.maxPixelRatio, devicePixelRatio || 1));
      this.applyRendererSettings();
    }
    if (p.material !== prev.material) {
      this.avatars?.setPreset(p);
      this.props?.setMaterial(p);
      this.buildStaticMaterials();
    }
    if (p.textureVariant !== prev.textureVariant && this.loaded.value) {
      void this.load(this.sceneName);
    }
    this.applyFog();
  }

  /** load builds the room's scene and avatars from the preset's asset variant. */
  async load(sceneName: string): Promise<void> {
    const token = ++this.loadToken;
    this.sceneName = sceneName;
    const variant = this.preset.textureVariant;
    const [set, sa] = await Promise.all([loadAvatar(variant), loadScene(sceneName, variant)]);
    if (token !== this.loadToken) return;
    // Swap: keep people and their state, rebuild their views on the new set.
    const people = this.avatars ? [...this.avatars.views.values()].map((v) => ({ id: v.id, name: v.name, guest: v.guest, speaking: v.speaking })) : [];
    this.clearScene();
    this.avatarSet = set;
    this.sceneAssets = sa;
    this.half = sa.half;
    const aniso = Math.min(this.preset.name === "high" ? 8 : this.preset.name === "medium" ? 4 : 1, this.renderer.capabilities.getMaxAnisotropy());
    for (const m of sa.statics) {
      const src = m.material as THREE.MeshStandardMaterial;
      prepareTexture(src.map, aniso);
      m.receiveShadow = true;
      this.statics.push({ mesh: m, src });
      this.scene.add(m);
    }
    for (const o of sa.objects.values()) prepareTexture(o.material.map, aniso);
    prepareTexture(set.material.map, aniso);
    this.buildStaticMaterials();
    this.props = new PropField(sa.objects, sa.placements, this.preset);
    this.scene.add(this.props.root);
    this.avatars = new AvatarLayer(set, this.preset);
    this.scene.add(this.avatars.root);
    for (const p of people) {
      const v = this.avatars.add(p.id, p.name, p.guest);
      v.speaking = p.speaking;
      const r = this.remotes.get(p.id);
      if (r) r.view = v;
    }
    if (!people.some((p) => p.id === this.local.id) && this.local.id) this.avatars.add(this.local.id, "You", false);
    const outdoor = sa.name === "plaza";
    this.scene.background = new THREE.Color(outdoor ? 0x9cc8ee : 0x2a2320);
    this.hemi.intensity = outdoor ? 1.3 : 0.9;
    this.sun.intensity = outdoor ? 2.4 : 1.2;
    if (!outdoor) this.sun.position.set(4, 12, 6);
    this.applyFog();
    this.loaded.value = true;
  }

  /** spawn puts the local avatar at the scene's spawn point (or a saved pose). */
  spawn(id: string, name: string, pose?: LocalPose): void {
    this.local.id = id;
    const sp = this.sceneAssets?.spawn ?? new THREE.Vector3();
    const jitter = () => (Math.random() - 0.5) * 3;
    Object.assign(this.local, pose ?? { x: sp.x + jitter(), y: 0, z: sp.z + jitter(), yaw: Math.PI, anim: 0 });
    this.orbit.yaw = this.local.yaw;
    this.avatars?.add(id, name, false);
    this.sendSystem(true);
  }

  private applyFog(): void {
    const far = this.options.culling ? this.preset.drawDistance : 1000;
    this.camera.far = far;
    this.camera.updateProjectionMatrix();
    const outdoor = this.sceneAssets?.name === "plaza";
    this.scene.fog = outdoor ? new THREE.Fog(0x9cc8ee, Math.min(far * 0.55, 120), Math.min(far, 260)) : null;
  }

  private buildStaticMaterials(): void {
    for (const m of this.staticMaterials) m.dispose();
    this.staticMaterials = [];
    for (const s of this.statics) {
      const m = materialFor(s.src, this.preset.material);
      this.staticMaterials.push(m);
      s.mesh.material = m;
    }
  }

  private clearScene(): void {
    for (const s of this.statics) {
      this.scene.remove(s.mesh);
      s.mesh.geometry.dispose();
    }
    this.statics = [];
    if (this.props) {
      this.scene.remove(this.props.root);
      this.props.dispose();
      this.props = null;
    }
    if (this.avatars) {
      this.scene.remove(this.avatars.root);
      this.avatars.dispose();
      this.avatars = null;
    }
  }

  // ----- people -----

  upsertRemote(id: string, name: string, guest: boolean): AvatarView | null {
    if (!this.avatars || id === this.local.id) return null;
    const view = this.avatars.add(id, name, guest);
    let r = this.remotes.get(id);
    if (!r) {
      r = { view, buffer: new InterpolationBuffer(100) };
      this.remotes.set(id, r);
    }
    r.view = view;
    return view;
  }

  removeRemote(id: string): void {
    this.remotes.delete(id);
    this.avatars?.remove(id);
  }

  /** pushPose adds a remote pose sample (server time, metres, radians). */
  pushPose(id: string, t: number, x: number, y: number, z: number, yaw: number, anim: number, reset = false): void {
    const r = this.remotes.get(id);
    if (!r) return;
    const s = { t, x, y, z, yaw, anim };
    if (reset || r.buffer.size === 0) r.buffer.reset(s);
    else r.buffer.push(s);
  }

  view(id: string): AvatarView | undefined {
    return this.avatars?.views.get(id);
  }

  /** positionOf returns an avatar's rendered position (for spatial audio). */
  positionOf(id: string): THREE.Vector3 | null {
    return this.avatars?.views.get(id)?.root.position ?? null;
  }

  // ----- frame loop -----

  start(): void {
    if (this.raf) return;
    this.last = performance.now();
    const loop = (t: number) => {
      this.raf = requestAnimationFrame(loop);
      this.frame(t);
    };
    this.raf = requestAnimationFrame(loop);
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  /** frame runs every system once; `now` is a performance.now() time. */
  frame(now: number, fixedDt?: number): void {
    const dt = fixedDt ?? Math.min(0.1, Math.max(0, (now - this.last) / 1000));
    this.last = now;
    const ctx: FrameCtx = { dt, now };
    for (const s of this.systems) s.update(ctx);
  }

  private inputSystem(_c: FrameCtx): void {
    const click = this.input.takeClick();
    if (click) {
      const ray = new THREE.Raycaster();
      ray.setFromCamera(new THREE.Vector2(click.x, click.y), this.camera);
      const hit = new THREE.Vector3();
      if (ray.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 1, 0), 0), hit)) {
        this.local.target = hit.clone();
        this.marker.position.set(hit.x, 0.04, hit.z);
        this.marker.visible = true;
      }
    }
    const d = this.input.takeOrbit();
    this.orbit.yaw -= d.dx * 0.005;
    this.orbit.pitch = Math.min(1.2, Math.max(0.05, this.orbit.pitch + d.dy * 0.004));
    this.orbit.dist = Math.min(16, Math.max(2.5, this.orbit.dist * Math.pow(1.0015, d.zoom)));
    if (this.input.keys.has("KeyQ")) this.orbit.yaw += 0.03;
    if (this.input.keys.has("KeyE")) this.orbit.yaw -= 0.03;
  }

  private moveSystem(c: FrameCtx): void {
    const L = this.local;
    if (!L.id) return;
    const mv = this.input.moveVector();
    let dx = 0;
    let dz = 0;
    let speed = 0;
    if (mv.x !== 0 || mv.y !== 0) {
      L.target = null;
      this.marker.visible = false;
      // Forward is away from the camera.
      const fy = this.orbit.yaw;
      const fwdX = -Math.sin(fy);
      const fwdZ = -Math.cos(fy);
      dx = fwdX * mv.y - fwdZ * mv.x;
      dz = fwdZ * mv.y + fwdX * mv.x;
      const len = Math.hypot(dx, dz);
      const mag = Math.min(1, len);
      dx /= len;
      dz /= len;
      speed = (this.input.running ? RUN : WALK) * mag;
    } else if (L.target) {
      dx = L.target.x - L.x;
      dz = L.target.z - L.z;
      const len = Math.hypot(dx, dz);
      if (len < 0.15) {
        L.target = null;
        this.marker.visible = false;
      } else {
        dx /= len;
        dz /= len;
        speed = Math.min(WALK, len * 4);
      }
    }
    if (speed > 0) {
      L.x = clamp(L.x + dx * speed * c.dt, -this.half, this.half);
      L.z = clamp(L.z + dz * speed * c.dt, -this.half, this.half);
      const want = Math.atan2(dx, dz);
      L.yaw = turnToward(L.yaw, want, c.dt * 10);
    }
    L.speed = speed;
    L.anim = speed > WALK + 0.1 ? 2 : speed > 0.05 ? 1 : 0;
    this.avatars?.views.get(L.id)?.pose(L.x, L.y, L.z, L.yaw, speed, c.dt);
  }

  private lastSent = { x: NaN, z: NaN, yaw: NaN, anim: -1 };
  private sendSystem(force = false): void {
    const L = this.local;
    if (!L.id || !this.hooks.onLocalPose) return;
    const s = this.lastSent;
    if (!force && Math.abs(s.x - L.x) < 0.002 && Math.abs(s.z - L.z) < 0.002 && Math.abs(s.yaw - L.yaw) < 0.002 && s.anim === L.anim) return;
    s.x = L.x;
    s.z = L.z;
    s.yaw = L.yaw;
    s.anim = L.anim;
    this.hooks.onLocalPose({ x: L.x, y: L.y, z: L.z, yaw: L.yaw, anim: L.anim });
  }

  private interp: Interpolated = { x: 0, y: 0, z: 0, yaw: 0, anim: 0, speed: 0 };
  private interpolationSystem(c: FrameCtx): void {
    const now = this.hooks.serverNow?.() ?? Date.now();
    for (const r of this.remotes.values()) {
      const p = r.buffer.sample(now, this.interp);
      if (p) r.view.pose(p.x, p.y, p.z, p.yaw, p.speed, c.dt);
    }
  }

  private camTarget = new THREE.Vector3();
  private cameraSystem(c: FrameCtx): void {
    const L = this.local;
    const o = this.orbit;
    this.camTarget.lerp(new THREE.Vector3(L.x, L.y + 1.5, L.z), 1 - Math.exp(-c.dt * 12));
    const cx = this.camTarget.x + Math.sin(o.yaw) * Math.cos(o.pitch) * o.dist;
    const cz = this.camTarget.z + Math.cos(o.yaw) * Math.cos(o.pitch) * o.dist;
    const cy = this.camTarget.y + Math.sin(o.pitch) * o.dist;
    this.camera.position.set(cx, Math.max(0.4, cy), cz);
    this.camera.lookAt(this.camTarget);
    if (this.preset.shadows) {
      this.sun.position.set(L.x + 30, 50, L.z + 20);
      this.sun.target.position.set(L.x, 0, L.z);
    }
  }

  private projScreen = new THREE.Matrix4();
  private lodSystem(c: FrameCtx): void {
    this.camera.updateMatrixWorld();
    this.projScreen.multiplyMatrices(this.camera.projectionMatrix, this.camera.matrixWorldInverse);
    this.frustum.setFromProjectionMatrix(this.projScreen);
    const o = { lod: this.options.lod, culling: this.options.culling, preset: this.preset, nameTags: this.options.nameTags };
    for (const s of this.statics) s.mesh.frustumCulled = o.culling;
    this.props?.update(this.camera, this.frustum, o);
    this.avatars?.update(this.camera, this.frustum, o, c.dt);
  }

  private renderSystem(): void {
    this.renderer.render(this.scene, this.camera);
    const i = this.renderer.info;
    const ps = this.props?.stats;
    const as = this.avatars?.stats;
    this.lastInfo = {
      calls: i.render.calls,
      triangles: i.render.triangles,
      geometries: i.memory.geometries,
      textures: i.memory.textures,
      propsDrawn: ps?.drawn ?? 0,
      propsCulled: ps?.culled ?? 0,
      avatarsFull: as?.full ?? 0,
      avatarsReduced: as?.reduced ?? 0,
      avatarsFar: as?.far ?? 0,
      avatarsCulled: as?.culled ?? 0,
    };
    if (!this.firstFrameDone && this.loaded.value && this.local.id) {
      this.firstFrameDone = true;
      this.hooks.onFirstFrame?.();
    }
  }
  lastInfo: RenderInfo = this.info.value;

  private statsTick = 0;
  private statsSystem(c: FrameCtx): void {
    this.stats.frame(c.dt * 1000);
    if (this.options.preset === "auto") {
      const before = this.autoRatio.ratio;
      const r = this.autoRatio.frame(c.dt * 1000);
      if (r !== before) {
        this.renderer.setPixelRatio(r);
        this.resize();
      }
    }
    // Publish to the UI a few times a second, not every frame.
    this.statsTick += c.dt;
    if (this.statsTick > 0.5) {
      this.statsTick = 0;
      this.info.value = this.lastInfo;
      this.fps.value = Math.round(this.stats.fps());
    }
  }

  resize(): void {
    const w = this.container.clientWidth || 1;
    const h = this.container.clientHeight || 1;
    this.renderer.setSize(w, h, true);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    this.stop();
    this.resizeObserver?.disconnect();
    this.input.dispose();
    this.clearScene();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

function turnToward(a: number, b: number, maxStep: number): number {
  let d = (b - a) % (Math.PI * 2);
  if (d > Math.PI) d -= Math.PI * 2;
  if (d < -Math.PI) d += Math.PI * 2;
  return a + Math.max(-maxStep, Math.min(maxStep, d));
}
