// A tiny router over the History API: the path is a signal the app renders
// from; the Go server answers every client route with index.html.
import { signal } from "@preact/signals";

export const path = signal(location.pathname + location.search);

export function navigate(to: string, replace = false): void {
  if (to === path.value) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  path.value = to;
}

addEventListener("popstate", () => {
  path.value = location.pathname + location.search;
});

export type Route =
  | { name: "home" }
  | { name: "room"; id: string }
  | { name: "invite"; code: string }
  | { name: "bench"; query: URLSearchParams }
  | { name: "notfound" };

export function parse(p: string): Route {
  const [pathname = "/", search = ""] = p.split("?");
  let m: RegExpMatchArray | null;
  if (pathname === "/" || pathname === "") return { name: "home" };
  if ((m = pathname.match(/^\/rooms\/([A-Za-z0-9_-]{1,64})\/?$/))) return { name: "room", id: m[1]! };
  if ((m = pathname.match(/^\/invite\/([A-Za-z0-9_-]{1,64})\/?$/))) return { name: "invite", code: m[1]! };
  if (pathname === "/bench") return { name: "bench", query: new URLSearchParams(search) };
  return { name: "notfound" };
}
