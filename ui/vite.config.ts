// Vite build of the UI. `vite build` makes the app (dist/, what Tauri ships);
// `vite build --mode test` also builds test/harness.html (the app over a fake backend)
// into dist-test/, so the shipped bundle never contains the test mocks.
import { defineConfig } from "vite";

export default defineConfig(({ mode }) => {
  const test = mode === "test";
  return {
    base: "./",
    clearScreen: false,
    server: { port: 1420, strictPort: true },
    build: {
      outDir: test ? "dist-test" : "dist",
      emptyOutDir: true,
      target: "es2022",
      rolldownOptions: {
        input: test ? { app: "index.html", harness: "test/harness.html" } : { app: "index.html" },
      },
    },
  };
});
