// Test harness page: installs Tauri's IPC mocks over the fake backend, exposes hooks on
// `window.fake` for the tests (calls, fail, hold/release, emit, state), then starts the app.
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { FakeBackend } from "./fake";
import { scenario } from "./scenario";

const backend = new FakeBackend(scenario(new URLSearchParams(location.search).get("scenario") ?? "connected"));

const hooks = {
  backend,
  /** Commands called so far, optionally only one command's. */
  calls: (cmd?: string) => backend.calls.filter((c) => !cmd || c.cmd === cmd),
  clearCalls: () => void (backend.calls.length = 0),
  fail: (cmd: string, message: string) => backend.fail(cmd, message),
  hold: (cmd: string) => backend.hold(cmd),
  release: (cmd: string) => backend.release(cmd),
  emit: (event: string, payload: unknown) => emit(event, payload),
};
declare global {
  interface Window {
    fake: typeof hooks;
  }
}
window.fake = hooks;

mockWindows("main");
mockIPC((cmd, args) => backend.handle(cmd, (args ?? {}) as Record<string, unknown>), { shouldMockEvents: true });

await import("../src/main");
