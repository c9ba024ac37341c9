// Music sync: every listener computes the room's playback position from the
// server's authoritative state (position at a server time) and its own
// estimate of the server clock, then steers its audio element toward it:
// small drift is absorbed by nudging playbackRate (inaudible), large drift
// by seeking. Jellyfin's SyncPlay corrects from 60 ms; we aim for < 40 ms.

export interface PlayState {
  positionMs: number;
  serverTimeMs: number;
  paused: boolean;
  durationMs: number;
}

/** targetPositionMs is where playback should be at serverNow. */
export function targetPositionMs(s: PlayState, serverNow: number): number {
  const p = s.paused ? s.positionMs : s.positionMs + (serverNow - s.serverTimeMs);
  const max = s.durationMs > 0 ? s.durationMs : Infinity;
  return Math.max(0, Math.min(max, p));
}

export interface Correction {
  /** the drift is too large to nudge away: seek to the target */
  seek: boolean;
  /** playbackRate to use */
  rate: number;
}

export interface DriftOptions {
  /** below this |drift| (ms) play at rate 1 */
  deadbandMs: number;
  /** above this |drift| (ms) seek instead of nudging */
  seekMs: number;
  /** largest rate change (0.05 = ±5 %) */
  maxNudge: number;
  /** seconds over which a nudge removes the drift */
  horizonS: number;
}

export const DEFAULT_DRIFT: DriftOptions = { deadbandMs: 12, seekMs: 250, maxNudge: 0.05, horizonS: 1.5 };

/** correct decides how to steer; driftMs = actual − target (positive: ahead). */
export function correct(driftMs: number, o: DriftOptions = DEFAULT_DRIFT): Correction {
  const a = Math.abs(driftMs);
  if (a >= o.seekMs) return { seek: true, rate: 1 };
  if (a <= o.deadbandMs) return { seek: false, rate: 1 };
  const nudge = Math.max(-o.maxNudge, Math.min(o.maxNudge, -driftMs / 1000 / o.horizonS));
  return { seek: false, rate: 1 + nudge };
}

/** DriftStats keeps recent drift measurements for the HUD and the sync test. */
export class DriftStats {
  private samples: number[] = [];
  constructor(readonly capacity = 600) {}
  add(driftMs: number): void {
    this.samples.push(driftMs);
    if (this.samples.length > this.capacity) this.samples.shift();
  }
  get count(): number {
    return this.samples.length;
  }
  /** median and max of |drift| */
  summary(): { medianMs: number; maxMs: number; n: number } {
    const a = this.samples.map(Math.abs).sort((x, y) => x - y);
    if (a.length === 0) return { medianMs: NaN, maxMs: NaN, n: 0 };
    return { medianMs: a[Math.floor(a.length / 2)]!, maxMs: a[a.length - 1]!, n: a.length };
  }
  reset(): void {
    this.samples = [];
  }
}
