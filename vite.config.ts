import { defineConfig } from "vite";

/** The web app lives in web/ and builds into web/dist, which the server serves. */
export default defineConfig({
  root: "web",
  publicDir: "public",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // One small bundle: no module preload polyfill, which would otherwise be inlined.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:5000" },
  },
});
