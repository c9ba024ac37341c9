// Quality presets: one table that sets everything the renderer, the LOD
// system, the culling system and the asset loader vary by device class.
// `auto` starts from medium and adapts the pixel ratio to the measured
// frame rate (as Hubs does).

export type PresetName = "low" | "medium" | "high";
export type PresetChoice = PresetName | "auto";
export const PRESET_NAMES: readonly PresetName[] = ["low", "medium", "high"];
export const PRESET_CHOICES: readonly PresetChoice[] = ["auto", "low", "medium", "high"];

export interface Preset {
  name: PresetName;
  /** upper bound of the device pixel ratio used */
  maxPixelRatio: number;
  antialias: boolean;
  shadows: boolean;
  shadowMapSize: number;
  /** lambert: per-vertex light; phong: per-pixel light; standard: PBR */
  material: "lambert" | "phong" | "standard";
  /** which generated asset variant to load */
  textureVariant: PresetName;
  /** distance (m) at which an object drops to the reduced level, then to the far form */
  lodDistances: readonly [number, number];
  /** LOD switches back only when this much closer (m), so an object on the border does not flicker */
  lodHysteresis: number;
  /** at most this many remote avatars render at full detail (nearest first) */
  fullDetailAvatars: number;
  /** nothing beyond this distance is drawn (m); also the camera's far plane */
  drawDistance: number;
  /** name tags are shown up to this distance (m) */
  nameTagDistance: number;
}

export const PRESETS: Record<PresetName, Preset> = {
  low: {
    name: "low",
    maxPixelRatio: 1,
    antialias: false,
    shadows: false,
    shadowMapSize: 512,
    material: "lambert",
    textureVariant: "low",
    lodDistances: [8, 20],
    lodHysteresis: 1.5,
    fullDetailAvatars: 4,
    drawDistance: 60,
    nameTagDistance: 12,
  },
  medium: {
    name: "medium",
    maxPixelRatio: 1.5,
    antialias: true,
    shadows: false,
    shadowMapSize: 1024,
    material: "phong",
    textureVariant: "medium",
    lodDistances: [14, 35],
    lodHysteresis: 2,
    fullDetailAvatars: 10,
    drawDistance: 110,
    nameTagDistance: 20,
  },
  high: {
    name: "high",
    maxPixelRatio: 2,
    antialias: true,
    shadows: true,
    shadowMapSize: 2048,
    material: "standard",
    textureVariant: "high",
    lodDistances: [22, 55],
    lodHysteresis: 3,
    fullDetailAvatars: 24,
    drawDistance: 180,
    nameTagDistance: 30,
  },
};

/** presetFor resolves a choice; auto starts from medium. */
export function presetFor(choice: PresetChoice): Preset {
  return PRESETS[choice === "auto" ? "medium" : choice];
}

/**
 * AutoPixelRatio lowers the pixel ratio when frames are slow and raises it
 * again when there is headroom, within [min, max]. Fed one frame time per
 * frame; returns the ratio to use.
 */
export class AutoPixelRatio {
  private acc = 0;
  private frames = 0;
  private goodWindows = 0;
  constructor(
    public max: number,
    public ratio = max,
    readonly min = 0.5,
    readonly windowMs = 2000,
  ) {}

  frame(dtMs: number): number {
    this.acc += dtMs;
    this.frames++;
    if (this.acc < this.windowMs) return this.ratio;
    const fps = (this.frames * 1000) / this.acc;
    this.acc = 0;
    this.frames = 0;
    if (fps < 45 && this.ratio > this.min) {
      this.ratio = Math.max(this.min, this.ratio - 0.25);
      this.goodWindows = 0;
    } else if (fps > 57) {
      if (++this.goodWindows >= 3 && this.ratio < this.max) {
        this.ratio = Math.min(this.max, this.ratio + 0.25);
        this.goodWindows = 0;
      }
    } else {
      this.goodWindows = 0;
    }
    return this.ratio;
  }
}
