// FrameStats keeps recent frame times for the HUD, the auto preset, the
// telemetry frame-rate summary and the benchmark.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[i]!;
}

export class FrameStats {
  private times: number[] = [];
  private head = 0;
  private window: number[] = [];

  constructor(readonly capacity = 240) {}

  frame(ms: number): void {
    if (!(ms > 0)) return;
    if (this.times.length < this.capacity) this.times.push(ms);
    else {
      this.times[this.head] = ms;
      this.head = (this.head + 1) % this.capacity;
    }
    this.window.push(ms);
    if (this.window.length > 10_000) this.window.shift();
  }

  /** fps over the recent frames */
  fps(): number {
    if (this.times.length === 0) return 0;
    const sum = this.times.reduce((a, b) => a + b, 0);
    return (this.times.length * 1000) / sum;
  }

  /** takeSummary returns the frame-rate percentiles since the last call and starts over. */
  takeSummary(): { frames: number; fpsP50: number; fpsP5: number; frameMsP50: number; frameMsP95: number } | null {
    const w = this.window;
    this.window = [];
    if (w.length < 10) return null;
    const ms = [...w].sort((a, b) => a - b);
    const p50 = percentile(ms, 50);
    const p95 = percentile(ms, 95);
    return { frames: w.length, fpsP50: 1000 / p50, fpsP5: 1000 / p95, frameMsP50: p50, frameMsP95: p95 };
  }
}
