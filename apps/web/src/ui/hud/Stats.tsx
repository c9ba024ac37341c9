import type { RoomController } from "../../room/controller";

export function Stats({ ctrl }: { ctrl: RoomController }) {
  const i = ctrl.world.info.value;
  const fps = ctrl.world.fps.value;
  const rtt = ctrl.session.clock.rtt;
  return (
    <div class="glass stats" data-testid="stats">
      <div>{fps} fps · {ctrl.world.preset.name}</div>
      <div>
        {i.calls} draws · {(i.triangles / 1000).toFixed(1)}k tris
      </div>
      <div>
        props {i.propsDrawn} drawn / {i.propsCulled} culled
      </div>
      <div>
        avatars {i.avatarsFull}/{i.avatarsReduced}/{i.avatarsFar} · culled {i.avatarsCulled}
      </div>
      <div>rtt {Number.isFinite(rtt) ? `${rtt.toFixed(0)} ms` : "–"}</div>
      {ctrl.music.lastDriftMs.value !== null && <div>music drift {ctrl.music.lastDriftMs.value.toFixed(0)} ms</div>}
    </div>
  );
}
