// Shared helpers of the UI tests: serve dist-test/ on 127.0.0.1 with the app's CSP,
// drive Debian's Chromium through playwright-core, open the harness page, and fail on
// page errors, console errors (CSP violations among them) or any request off this host.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("../dist-test/", import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL("../../artifacts/ui/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };
// The app's CSP (Tauri adds its IPC origin to it; the mocks need none).
const CSP = "default-src 'self'";

function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^([/\\])+/, "");
    if (path.startsWith("..")) return res.writeHead(403).end();
    try {
      const body = await readFile(join(ROOT, path || "index.html"));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "content-security-policy": CSP });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Starts the server and the browser for one test file; returns `open` and `close`. */
export async function setup() {
  const server = await serve();
  const browser = await launch();
  const pages = [];
  return {
    /** Opens the app over the fake backend; `problems` collects what must not happen. */
    async open({ scenario = "connected", section = "", colorScheme = "light" } = {}) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, colorScheme, locale: "en-US", timezoneId: "UTC" });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const problems = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
      await context.route("**/*", (route) => {
        const url = new URL(route.request().url());
        if (url.origin === server.origin) return route.continue();
        problems.push(`request off this host: ${url.href}`);
        return route.abort();
      });
      await page.goto(`${server.origin}/test/harness.html?scenario=${scenario}${section ? `#${section}` : ""}`);
      await page.waitForSelector("body[data-ready=true]");
      pages.push(context);
      return { page, problems };
    },
    async close() {
      for (const c of pages) await c.close();
      await browser.close();
      await server.close();
    },
  };
}

/** The calls the fake backend has seen, optionally of one command. */
export function calls(page, cmd) {
  return page.evaluate((c) => window.fake.calls(c), cmd);
}

export function emit(page, event, payload) {
  return page.evaluate(([e, p]) => window.fake.emit(e, p), [event, payload]);
}

/** Opens a section from the sidebar. */
export async function section(page, title) {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: title, exact: false }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
}

/** Waits until `fn` (run in the page) returns a truthy value. */
export function until(page, fn, arg) {
  return page.waitForFunction(fn, arg, { timeout: 10_000 });
}

/** Waits until the element's text contains `expected`; returns the text. */
export async function waitText(locator, expected) {
  const end = Date.now() + 10_000;
  let text = "";
  while (Date.now() < end) {
    text = (await locator.textContent({ timeout: 10_000 })) ?? "";
    if (text.includes(expected)) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`expected text containing ${JSON.stringify(expected)}, got ${JSON.stringify(text)}`);
}

/** The last call of `cmd`, waiting for it if it has not happened yet. */
export async function lastCall(page, cmd) {
  await until(page, (c) => window.fake.calls(c).length > 0, cmd);
  const all = await calls(page, cmd);
  return all[all.length - 1].args;
}
