import { useSignal } from "@preact/signals";
import type { RoomController } from "../../room/controller";

const coarse = typeof matchMedia !== "undefined" && matchMedia("(pointer: coarse)").matches;

/** Joystick is the on-screen stick for touch screens (shown on coarse pointers). */
export function Joystick({ ctrl }: { ctrl: RoomController }) {
  const knob = useSignal({ x: 0, y: 0 });
  if (!coarse) return null;
  const R = 60;
  const move = (e: PointerEvent) => {
    const el = e.currentTarget as HTMLElement;
    const r = el.getBoundingClientRect();
    let x = e.clientX - (r.left + r.width / 2);
    let y = e.clientY - (r.top + r.height / 2);
    const len = Math.hypot(x, y);
    if (len > R) {
      x = (x / len) * R;
      y = (y / len) * R;
    }
    knob.value = { x, y };
    ctrl.world.input.joystick.x = x / R;
    ctrl.world.input.joystick.y = -y / R;
  };
  const end = () => {
    knob.value = { x: 0, y: 0 };
    ctrl.world.input.joystick.x = 0;
    ctrl.world.input.joystick.y = 0;
  };
  return (
    <div
      class="joystick"
      onPointerDown={(e) => {
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        move(e);
      }}
      onPointerMove={(e) => e.buttons && move(e)}
      onPointerUp={end}
      onPointerCancel={end}
    >
      <div class="knob" style={{ transform: `translate(${knob.value.x}px, ${knob.value.y}px)` }} />
    </div>
  );
}
