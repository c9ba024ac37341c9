// AudioEngine is the room's Web Audio graph: voices and music mix into
// their own gain buses under a master gain. Browsers start an AudioContext
// suspended until the user interacts with the page (autoplay policy), so
// the engine exposes `blocked` for the HUD's hint and resumes on the first
// gesture.
import { signal } from "@preact/signals";

export class AudioEngine {
  readonly ctx: AudioContext;
  readonly master: GainNode;
  readonly voiceBus: GainNode;
  readonly musicBus: GainNode;
  readonly blocked = signal(true);
  private readonly off: (() => void)[] = [];

  constructor() {
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    this.master = this.ctx.createGain();
    this.voiceBus = this.ctx.createGain();
    this.musicBus = this.ctx.createGain();
    this.voiceBus.connect(this.master);
    this.musicBus.connect(this.master);
    this.master.connect(this.ctx.destination);
    this.ctx.listener.upX?.setValueAtTime(0, 0);
    this.ctx.listener.upY?.setValueAtTime(1, 0);
    this.ctx.listener.upZ?.setValueAtTime(0, 0);
    const update = () => (this.blocked.value = this.ctx.state !== "running");
    this.ctx.addEventListener("statechange", update);
    update();
    const unlock = () => void this.unlock();
    for (const t of ["pointerdown", "keydown", "touchend"]) {
      window.addEventListener(t, unlock, { capture: true });
      this.off.push(() => window.removeEventListener(t, unlock, { capture: true }));
    }
    // Some browsers allow audio without a gesture (or the page had one already).
    void this.unlock();
  }

  async unlock(): Promise<void> {
    if (this.ctx.state === "running") return;
    try {
      await this.ctx.resume();
    } catch {
      // still blocked; the next gesture tries again
    }
    this.blocked.value = (this.ctx.state as string) !== "running";
  }

  setVolumes(master: number, voice: number, music: number): void {
    const t = this.ctx.currentTime;
    this.master.gain.setTargetAtTime(master, t, 0.05);
    this.voiceBus.gain.setTargetAtTime(voice, t, 0.05);
    this.musicBus.gain.setTargetAtTime(music, t, 0.05);
  }

  /** setListener places the listener (the camera's ears) in the world. */
  setListener(x: number, y: number, z: number, fx: number, fy: number, fz: number): void {
    const l = this.ctx.listener;
    const t = this.ctx.currentTime;
    if (l.positionX) {
      l.positionX.setTargetAtTime(x, t, 0.02);
      l.positionY.setTargetAtTime(y, t, 0.02);
      l.positionZ.setTargetAtTime(z, t, 0.02);
      l.forwardX.setTargetAtTime(fx, t, 0.02);
      l.forwardY.setTargetAtTime(fy, t, 0.02);
      l.forwardZ.setTargetAtTime(fz, t, 0.02);
    } else {
      l.setPosition(x, y, z);
      l.setOrientation(fx, fy, fz, 0, 1, 0);
    }
  }

  dispose(): void {
    for (const f of this.off) f();
    void this.ctx.close();
  }
}
