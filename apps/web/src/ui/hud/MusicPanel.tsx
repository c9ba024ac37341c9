import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { RoomController } from "../../room/controller";
import type { LibraryTrack } from "../../music/player";
import { describe } from "../SignIn";

const fmt = (ms: number) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

export function MusicPanel({ ctrl, hidden }: { ctrl: RoomController; hidden: boolean }) {
  const lib = useSignal<LibraryTrack[] | null>(null);
  const q = useSignal("");
  const err = useSignal<string | null>(null);
  const uploading = useSignal(false);
  const error = (e: unknown) => (err.value = describe(e));
  const st = ctrl.session.music.value;
  const pos = ctrl.music.positionMs.value;
  useEffect(() => {
    if (hidden) return;
    ctrl.music.library(q.value).then(
      (r) => (lib.value = r.tracks ?? []),
      (e) => (err.value = describe(e)),
    );
  }, [hidden, q.value]);
  if (hidden) return null;
  const act = (p: Promise<unknown>) => p.then(() => (err.value = null), (e) => (err.value = describe(e)));
  const cur = st?.current?.track;
  return (
    <div class="glass panel music" data-testid="music">
      <h3>Music</h3>
      {cur ? (
        <div class="now" data-testid="now-playing">
          <div class="title">{cur.title || "Untitled"}</div>
          <div class="muted" style={{ fontSize: "13px" }}>
            {cur.artist}
            {cur.album ? ` · ${cur.album}` : ""}
          </div>
          <div class="bar">
            <div style={{ width: `${cur.durationMs > 0 ? Math.min(100, (pos / cur.durationMs) * 100) : 0}%` }} />
          </div>
          <div class="row muted" style={{ fontSize: "12px" }}>
            {fmt(pos)} <span class="spacer" /> {fmt(cur.durationMs)}
          </div>
        </div>
      ) : (
        <div class="muted">Nothing playing. Add a track from the library.</div>
      )}
      <div class="row wrap">
        {st?.paused || !cur ? (
          <button class="btn small" onClick={() => act(ctrl.music.play())} data-testid="music-play">
            Play
          </button>
        ) : (
          <button class="btn small" onClick={() => act(ctrl.music.pause())} data-testid="music-pause">
            Pause
          </button>
        )}
        <button class="btn small" onClick={() => act(ctrl.music.skip())} disabled={!cur}>
          Skip
        </button>
        <button class="btn small" onClick={() => act(ctrl.music.voteSkip())} disabled={!cur}>
          Vote skip{st && st.skipVotesNeeded > 0 ? ` (${st.skipVotes}/${st.skipVotesNeeded})` : ""}
        </button>
      </div>
      {st && st.queue.length > 0 && (
        <>
          <div class="muted" style={{ fontSize: "12px" }}>
            Up next
          </div>
          <ol>
            {st.queue.map((e) => (
              <li key={e.id}>
                {e.track?.title} <span class="muted">{e.track?.artist}</span>{" "}
                <button class="btn small" style={{ padding: "0 6px" }} onClick={() => act(ctrl.music.remove(e.id))} title="Remove">
                  ×
                </button>
              </li>
            ))}
          </ol>
        </>
      )}
      <div class="row">
        <input class="input" placeholder="Search the library" value={q.value} onInput={(e) => (q.value = e.currentTarget.value)} />
        {ctrl.guest ? null : <label class="btn small" title="Upload MP3, Ogg, FLAC, WAV or M4A">
          {uploading.value ? "Uploading…" : "Upload"}
          <input
            type="file"
            accept="audio/*"
            style={{ display: "none" }}
            data-testid="music-upload"
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              if (!f) return;
              uploading.value = true;
              ctrl.music.upload(f).then(
                (t) => {
                  uploading.value = false;
                  lib.value = [t, ...(lib.value ?? []).filter((x) => x.id !== t.id)];
                },
                (err) => {
                  uploading.value = false;
                  error(err);
                },
              );
            }}
          />
        </label>}
      </div>
      {ctrl.guest && <div class="muted" style={{ fontSize: "12px" }}>Create an account (in the lobby) to upload your own tracks.</div>}
      <div class="lib">
        {lib.value?.length === 0 && <div class="muted" style={{ fontSize: "13px" }}>The library is empty.</div>}
        {lib.value?.map((t) => (
          <button class="btn small" onClick={() => act(ctrl.music.enqueue(t.id))} data-testid="library-track" title="Add to the queue">
            + {t.title || "Untitled"} <span class="muted">{t.artist}</span>
          </button>
        ))}
      </div>
      <label class="field">
        My music volume
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={ctrl.music.volume.value}
          onInput={(e) => ctrl.music.setVolume(Number(e.currentTarget.value))}
        />
      </label>
      {err.value && <div class="error-text">{err.value}</div>}
    </div>
  );
}
