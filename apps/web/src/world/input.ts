// Input gathers keyboard, mouse and touch into what the movement and camera
// systems read each frame: a move vector, orbit deltas and a pending
// click-to-move point. Typing in a text field never moves the avatar.

export interface Click {
  /** normalized device coordinates */
  x: number;
  y: number;
}

const MOVE_KEYS = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "ShiftLeft", "ShiftRight", "KeyQ", "KeyE"]);

function typing(): boolean {
  const el = document.activeElement as HTMLElement | null;
  if (!el) return false;
  return el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
}

export class Input {
  readonly keys = new Set<string>();
  /** a virtual joystick (touch) in [-1, 1]², y forward */
  readonly joystick = { x: 0, y: 0 };
  private orbit = { dx: 0, dy: 0, zoom: 0 };
  private click: Click | null = null;
  private drag: { id: number; x: number; y: number; moved: boolean } | null = null;
  private pinch = new Map<number, { x: number; y: number }>();
  private readonly off: (() => void)[] = [];

  constructor(private readonly el: HTMLElement) {
    const on = <K extends keyof WindowEventMap>(t: EventTarget, type: K | string, f: (e: never) => void, opts?: AddEventListenerOptions) => {
      t.addEventListener(type, f as EventListener, opts);
      this.off.push(() => t.removeEventListener(type, f as EventListener, opts));
    };
    on(window, "keydown", (e: KeyboardEvent) => {
      if (typing() || e.metaKey || e.ctrlKey || e.altKey) return;
      if (MOVE_KEYS.has(e.code)) {
        this.keys.add(e.code);
        if (e.code.startsWith("Arrow")) e.preventDefault();
      }
    });
    on(window, "keyup", (e: KeyboardEvent) => this.keys.delete(e.code));
    on(window, "blur", () => this.keys.clear());
    on(el, "pointerdown", (e: PointerEvent) => {
      if ((e.target as HTMLElement).tagName !== "CANVAS") return;
      this.pinch.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.pinch.size === 1) this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
      else this.drag = null;
      (e.target as HTMLElement).setPointerCapture?.(e.pointerId);
    });
    on(el, "pointermove", (e: PointerEvent) => {
      const prev = this.pinch.get(e.pointerId);
      if (this.pinch.size === 2 && prev) {
        const other = [...this.pinch.entries()].find(([id]) => id !== e.pointerId)?.[1];
        if (other) {
          const before = Math.hypot(prev.x - other.x, prev.y - other.y);
          const after = Math.hypot(e.clientX - other.x, e.clientY - other.y);
          this.orbit.zoom += (before - after) * 2;
        }
        this.pinch.set(e.pointerId, { x: e.clientX, y: e.clientY });
        return;
      }
      const d = this.drag;
      if (!d || d.id !== e.pointerId) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (!d.moved && Math.hypot(dx, dy) < 6) return;
      d.moved = true;
      this.orbit.dx += dx;
      this.orbit.dy += dy;
      d.x = e.clientX;
      d.y = e.clientY;
    });
    const up = (e: PointerEvent) => {
      this.pinch.delete(e.pointerId);
      const d = this.drag;
      if (d && d.id === e.pointerId) {
        if (!d.moved && e.type === "pointerup") {
          const r = el.getBoundingClientRect();
          this.click = { x: ((e.clientX - r.left) / r.width) * 2 - 1, y: -((e.clientY - r.top) / r.height) * 2 + 1 };
        }
        this.drag = null;
      }
    };
    on(el, "pointerup", up);
    on(el, "pointercancel", up);
    on(
      el,
      "wheel",
      (e: WheelEvent) => {
        if ((e.target as HTMLElement).tagName !== "CANVAS") return;
        e.preventDefault();
        this.orbit.zoom += e.deltaY;
      },
      { passive: false },
    );
    on(el, "contextmenu", (e: Event) => {
      if ((e.target as HTMLElement).tagName === "CANVAS") e.preventDefault();
    });
  }

  get running(): boolean {
    return this.keys.has("ShiftLeft") || this.keys.has("ShiftRight") || Math.hypot(this.joystick.x, this.joystick.y) > 0.95;
  }

  /** moveVector: x right, y forward, length ≤ 1. */
  moveVector(): { x: number; y: number } {
    const k = this.keys;
    let x = (k.has("KeyD") || k.has("ArrowRight") ? 1 : 0) - (k.has("KeyA") || k.has("ArrowLeft") ? 1 : 0);
    let y = (k.has("KeyW") || k.has("ArrowUp") ? 1 : 0) - (k.has("KeyS") || k.has("ArrowDown") ? 1 : 0);
    x += this.joystick.x;
    y += this.joystick.y;
    const len = Math.hypot(x, y);
    if (len > 1) {
      x /= len;
      y /= len;
    }
    return { x, y };
  }

  takeClick(): Click | null {
    const c = this.click;
    this.click = null;
    return c;
  }

  takeOrbit(): { dx: number; dy: number; zoom: number } {
    const o = this.orbit;
    this.orbit = { dx: 0, dy: 0, zoom: 0 };
    return o;
  }

  dispose(): void {
    for (const f of this.off) f();
  }
}
