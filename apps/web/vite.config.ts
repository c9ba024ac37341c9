/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The dev server proxies the API and WebSockets to a local `hearth serve`
// (make run), so `npm run dev -w apps/web` gives hot reload against the
// real backend.
const backend = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.HEARTH_BACKEND ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/api": backend,
      "/rt": { target: backend, ws: true },
      "/voice": { target: backend, ws: true },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
