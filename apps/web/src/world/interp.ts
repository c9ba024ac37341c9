// Snapshot interpolation for remote avatars. Poses arrive ~20 times a second
// with jitter; we render each avatar `delayMs` (about 100 ms) in the past on
// the server's timeline, between the two samples that surround that moment,
// so motion is smooth even when a frame arrives late or two arrive at once.

export interface PoseSample {
  /** server time of the sample, ms */
  t: number;
  x: number;
  y: number;
  z: number;
  /** radians */
  yaw: number;
  anim: number;
}

export interface Interpolated {
  x: number;
  y: number;
  z: number;
  yaw: number;
  anim: number;
  /** horizontal speed, m/s (drives the walk cycle) */
  speed: number;
}

const TAU = Math.PI * 2;

/** angleLerp blends two angles along the shorter arc. */
export function angleLerp(a: number, b: number, f: number): number {
  let d = (b - a) % TAU;
  if (d > Math.PI) d -= TAU;
  if (d < -Math.PI) d += TAU;
  return a + d * f;
}

export class InterpolationBuffer {
  private samples: PoseSample[] = [];

  constructor(
    readonly delayMs = 100,
    /** how far past the newest sample we extrapolate before holding still */
    readonly maxExtrapolateMs = 150,
    readonly capacity = 32,
  ) {}

  get size(): number {
    return this.samples.length;
  }

  get latest(): PoseSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** push adds a sample; out-of-order and duplicate timestamps are dropped. */
  push(s: PoseSample): void {
    const last = this.samples[this.samples.length - 1];
    if (last && s.t <= last.t) {
      if (s.t === last.t) this.samples[this.samples.length - 1] = s;
      return;
    }
    this.samples.push(s);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** reset replaces the history with one sample (a teleport or a snapshot). */
  reset(s: PoseSample): void {
    this.samples = [s];
  }

  /** sample returns the pose at server time now - delayMs, or null when empty. */
  sample(serverNow: number, out?: Interpolated): Interpolated | null {
    const n = this.samples.length;
    if (n === 0) return null;
    const o = out ?? { x: 0, y: 0, z: 0, yaw: 0, anim: 0, speed: 0 };
    const t = serverNow - this.delayMs;
    const first = this.samples[0]!;
    if (n === 1 || t <= first.t) {
      return assign(o, first, 0);
    }
    // Drop samples we will never need again (keep the one before t).
    let i = n - 1;
    while (i > 0 && this.samples[i - 1]!.t > t) i--;
    const a = this.samples[i - 1]!;
    const b = this.samples[i]!;
    if (t <= b.t) {
      const f = (t - a.t) / (b.t - a.t);
      o.x = a.x + (b.x - a.x) * f;
      o.y = a.y + (b.y - a.y) * f;
      o.z = a.z + (b.z - a.z) * f;
      o.yaw = angleLerp(a.yaw, b.yaw, f);
      o.anim = f < 0.5 ? a.anim : b.anim;
      o.speed = speedBetween(a, b);
      if (i > 2) this.samples.splice(0, i - 2);
      return o;
    }
    // t is past the newest sample: continue its motion briefly, then hold.
    const over = Math.min(t - b.t, this.maxExtrapolateMs);
    const dt = b.t - a.t;
    const f = dt > 0 ? over / dt : 0;
    const moving = over < this.maxExtrapolateMs;
    o.x = b.x + (b.x - a.x) * f;
    o.y = b.y + (b.y - a.y) * f;
    o.z = b.z + (b.z - a.z) * f;
    o.yaw = b.yaw;
    o.anim = b.anim;
    o.speed = moving ? speedBetween(a, b) : 0;
    return o;
  }
}

function assign(o: Interpolated, s: PoseSample, speed: number): Interpolated {
  o.x = s.x;
  o.y = s.y;
  o.z = s.z;
  o.yaw = s.yaw;
  o.anim = s.anim;
  o.speed = speed;
  return o;
}

function speedBetween(a: PoseSample, b: PoseSample): number {
  const dt = (b.t - a.t) / 1000;
  if (dt <= 0) return 0;
  return Math.hypot(b.x - a.x, b.z - a.z) / dt;
}
