import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { RoomController } from "../../room/controller";

export function Chat({ ctrl }: { ctrl: RoomController }) {
  const text = useSignal("");
  const log = useRef<HTMLDivElement>(null);
  const items = ctrl.session.chat.value;
  const me = ctrl.session.me.value?.userId;
  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [items.length]);
  const send = (e: Event) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    ctrl.session.sendChat(text.value);
    text.value = "";
  };
  return (
    <div class="glass chat" data-testid="chat">
      <div class="log" ref={log} data-testid="chat-log">
        {items.length === 0 && <div class="msg system">Say hello! Messages are seen by everyone in the room.</div>}
        {items.map((m) =>
          m.system ? (
            <div class="msg system" key={m.id}>
              {m.text}
            </div>
          ) : (
            <div class={`msg ${m.pending ? "pending" : ""}`} key={m.id} data-testid="chat-message" data-pending={m.pending ? "1" : "0"}>
              <span class="who" style={{ color: m.userId === me ? "var(--accent-2)" : undefined }}>
                {m.name}
              </span>
              <span>{m.text}</span>
            </div>
          ),
        )}
      </div>
      <form onSubmit={send}>
        <input
          class="input"
          data-testid="chat-input"
          placeholder="Message the room (Enter)"
          maxLength={500}
          value={text.value}
          onInput={(e) => (text.value = e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") (e.currentTarget as HTMLInputElement).blur();
          }}
        />
        <button class="btn" type="submit" data-testid="chat-send">
          Send
        </button>
      </form>
    </div>
  );
}
