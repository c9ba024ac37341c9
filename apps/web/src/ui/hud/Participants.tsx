import type { RoomController } from "../../room/controller";
import { colorFor } from "../../world/avatars";

export function Participants({ ctrl, hidden }: { ctrl: RoomController; hidden: boolean }) {
  const members = [...ctrl.session.members.value.values()];
  const me = ctrl.session.me.value?.userId;
  const speaking = ctrl.voice.speaking.value;
  const muted = ctrl.voice.mutedPeers.value;
  const myMuted = ctrl.voice.muted.value;
  members.sort((a, b) => (a.userId === me ? -1 : b.userId === me ? 1 : a.name.localeCompare(b.name)));
  if (hidden) return null;
  return (
    <div class="glass panel" data-testid="participants">
      <h3>
        People <span class="badge">{members.length}</span>
      </h3>
      <ul class="people">
        {members.map((m) => {
          const isMe = m.userId === me;
          const isMuted = isMe ? myMuted : muted.has(m.userId);
          const talking = speaking.has(m.userId);
          return (
            <li class="person" key={m.userId} data-testid="participant" data-user={m.userId} data-name={m.name} data-state={m.state} data-speaking={talking ? "1" : "0"}>
              <span class={`avatar-dot ${talking ? "speaking" : ""}`} style={{ background: `#${colorFor(m.userId).getHexString()}` }}>
                {m.name.slice(0, 1).toUpperCase()}
              </span>
              <span style={{ flex: 1, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
                {m.name}
                {isMe && <span class="muted"> (you)</span>}
              </span>
              {m.role !== "member" && <span class="badge">{m.role}</span>}
              {talking && <span class="badge speaking">speaking</span>}
              {isMuted && <span class="badge muted">muted</span>}
              {m.state === "reconnecting" && (
                <span class="badge reconnecting" data-testid="badge-reconnecting">
                  reconnecting
                </span>
              )}
              {m.state === "away" && <span class="badge">away</span>}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
