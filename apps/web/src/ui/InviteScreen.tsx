import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import type { AppContext } from "../app/context";
import { navigate } from "../app/router";
import { describe } from "./SignIn";

/** InviteScreen resolves an invite link (/invite/CODE) and enters the room. */
export function InviteScreen({ ctx, code }: { ctx: AppContext; code: string }) {
  const error = useSignal<string | null>(null);
  useEffect(() => {
    ctx.api.invite(code).then(
      (r) => navigate(`/rooms/${r.id}?invite=${encodeURIComponent(code)}`, true),
      (e) => (error.value = describe(e)),
    );
  }, [code]);
  return (
    <div class="page">
      <div class="dialog card" style={{ margin: "80px auto" }}>
        {error.value ? (
          <>
            <h2>This invite does not work</h2>
            <p class="muted">{error.value}</p>
            <button class="btn primary" onClick={() => navigate("/")}>
              Go to the lobby
            </button>
          </>
        ) : (
          <>
            <div class="spinner" />
            <p class="muted" style={{ textAlign: "center" }}>
              Opening the invite…
            </p>
          </>
        )}
      </div>
    </div>
  );
}
