// Entry point: builds the app's services (API client, settings, telemetry),
// loads the deployment's client config, restores the sign-in from the
// refresh cookie, then renders the app.
import { computed, signal } from "@preact/signals";
import { render } from "preact";
import type { AppContext } from "./app/context";
import { Api, type ClientConfig } from "./net/api";
import { SettingsStore } from "./settings/store";
import { Telemetry } from "./telemetry/telemetry";
import { App } from "./ui/App";
import "./ui/styles.css";

const version = (import.meta.env.VITE_HEARTH_VERSION as string | undefined) ?? "dev";

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

async function boot(): Promise<void> {
  const api = new Api();
  const settings = new SettingsStore(safeStorage());
  const config = signal<ClientConfig | null>(null);
  const telemetry = new Telemetry({
    enabled: computed(() => settings.telemetryEnabled.value),
    accessToken: () => api.accessToken,
    clientVersion: version,
  });
  const ctx: AppContext = { api, settings, config, telemetry, version };
  (window as unknown as { __hearth: unknown }).__hearth = { ctx };
  const root = document.getElementById("app")!;
  const cfg = api.config().then(
    (c) => {
      config.value = c;
      settings.serverDefaults.value = c;
    },
    () => {
      // Without the config the client still works on its built-in defaults.
    },
  );
  await Promise.all([cfg, api.restore()]);
  render(<App ctx={ctx} />, root);
}

void boot();
