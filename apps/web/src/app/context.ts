// The app's long-lived services, created once in main.tsx and handed to the
// screens (no module-level state beyond this one object).
import { signal } from "@preact/signals";
import type { Api, ClientConfig } from "../net/api";
import type { SettingsStore } from "../settings/store";
import type { Telemetry } from "../telemetry/telemetry";

export interface AppContext {
  api: Api;
  settings: SettingsStore;
  config: ReturnType<typeof signal<ClientConfig | null>>;
  telemetry: Telemetry;
  version: string;
}
