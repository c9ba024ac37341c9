import { useEffect } from "preact/hooks";
import type { AppContext } from "../app/context";
import { navigate, parse, path } from "../app/router";
import { SignIn } from "./SignIn";
import { Lobby } from "./Lobby";
import { RoomScreen } from "./RoomScreen";
import { BenchScreen } from "../bench/BenchScreen";
import { InviteScreen } from "./InviteScreen";

export function App({ ctx }: { ctx: AppContext }) {
  const route = parse(path.value);
  const user = ctx.api.user.value;
  useEffect(() => {
    document.title = route.name === "room" ? "Hearth · room" : "Hearth";
  }, [route.name]);
  if (route.name === "bench") return <BenchScreen query={route.query} />;
  if (!user) return <SignIn ctx={ctx} reason={ctx.api.signedOutReason.value} />;
  switch (route.name) {
    case "home":
      return <Lobby ctx={ctx} />;
    case "room":
      return <RoomScreen key={route.id} ctx={ctx} roomId={route.id} inviteCode={new URLSearchParams(location.search).get("invite") ?? undefined} />;
    case "invite":
      return <InviteScreen ctx={ctx} code={route.code} />;
    default:
      return (
        <div class="page">
          <div class="dialog card" style={{ margin: "80px auto" }}>
            <h2>Nothing here</h2>
            <p class="muted">This address does not lead to a room.</p>
            <button class="btn primary" onClick={() => navigate("/")}>
              Go to the lobby
            </button>
          </div>
        </div>
      );
  }
}
