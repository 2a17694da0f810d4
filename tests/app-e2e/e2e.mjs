// End-to-end test of the real desktop app: the release-like debug build of drivesync-app
// under Xvfb, driven through WebDriver (tauri-driver + WebKitWebDriver) against a
// drive-emulator: connect the account (the emulator's consent page approves by itself), add a
// pair through the UI (typed local path, a new Drive folder made in the Drive browser), wait
// until the window says it is up to date, and check in the emulator's snapshot that the files
// arrived. Screenshots come from X (`import`), not WebDriver. Then a second launch must leave
// the first one alone and exit (single instance), and bring up the window of a first one
// started hidden.
// Run by run.sh, which starts Xvfb, D-Bus, the emulator and tauri-driver.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/app-e2e/run.sh)`);
  return v;
};
const APP = env("APP_BIN");
const CONFIG = env("APP_CONFIG");
const EMULATOR = env("EMULATOR_URL");
const LOCAL = env("PAIR_DIR");
const SHOTS = env("SHOTS_DIR");
const DRIVER = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444";
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

async function wd(method, path, body) {
  const res = await fetch(`${DRIVER}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value)}`);
  return json.value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

// Launches the app again: it must hand over to the running one and exit at once.
async function secondLaunch(args, opts) {
  const second = spawn(APP, args, opts);
  const code = await Promise.race([
    new Promise((r) => second.on("exit", (c) => r(c ?? 0))),
    sleep(15_000).then(() => "still running"),
  ]);
  if (code === "still running") second.kill("SIGKILL");
  assert.equal(code, 0, "a second launch must hand over to the first and exit");
}

async function shot(name) {
  // Let WebKit paint the last change first: an X grab right after a DOM change can show the
  // frame before it.
  await sleep(700);
  mkdirSync(SHOTS, { recursive: true });
  execFileSync("import", ["-window", "root", join(SHOTS, `${name}.png`)]);
}

const md5 = (text) => createHash("md5").update(text).digest("hex");

async function main() {
  mkdirSync(LOCAL, { recursive: true });
  writeFileSync(join(LOCAL, "hello.txt"), "hello from the e2e test\n");
  mkdirSync(join(LOCAL, "notes"), { recursive: true });
  writeFileSync(join(LOCAL, "notes", "todo.md"), "- ship it\n");

  const session = await wd("POST", "/session", {
    capabilities: {
      alwaysMatch: {
        browserName: "wry",
        "tauri:options": { application: APP, args: ["--config", CONFIG] },
      },
    },
  });
  const sid = session.sessionId;
  const s = (path) => `/session/${sid}${path}`;
  const find = async (css) => {
    const v = await wd("POST", s("/element"), { using: "css selector", value: css });
    if (!v[ELEMENT]) throw new Error(`no element ${css}: ${JSON.stringify(v)}`);
    return v[ELEMENT];
  };
  const findX = async (xpath) => {
    const v = await wd("POST", s("/element"), { using: "xpath", value: xpath });
    if (!v[ELEMENT]) throw new Error(`no element ${xpath}: ${JSON.stringify(v)}`);
    return v[ELEMENT];
  };
  const click = async (id) => wd("POST", s(`/element/${id}/click`), {});
  const text = async (id) => wd("GET", s(`/element/${id}/text`));
  const type = async (id, value) => wd("POST", s(`/element/${id}/value`), { text: value });
  const enabled = async (id) => wd("GET", s(`/element/${id}/enabled`));
  const textOf = async (css) => text(await find(css));
  const section = async (title) => {
    await click(await findX(`//nav//button[contains(., '${title}')]`));
    await until(`the ${title} section`, async () => {
      const shown = await wd("POST", s("/execute/sync"), {
        script: "return [...document.querySelectorAll('h1')].filter((e) => e.offsetParent).map((e) => e.textContent).join('|')",
        args: [],
      });
      return shown.includes(title);
    });
  };

  try {
    assert.equal(await wd("GET", s("/title")), "drivesync");
    await until("the UI", async () => (await wd("POST", s("/execute/sync"), { script: "return document.body.dataset.ready === 'true' || !!document.querySelector('nav')", args: [] })));

    // Connect: the app follows the emulator's consent page (DRIVESYNC_FOLLOW_CONSENT).
    await section("Account");
    await click(await until("the Connect button", () => find("[data-testid=connect]")));
    await until("the connected account", async () => (await textOf("[data-testid=account-email]")).includes("@"));
    await shot("1-connected");

    // Add a pair: typed local path, a new Drive folder, the preview, start.
    await section("Folder pairs");
    await click(await find("[data-testid=add-pair]"));
    await type(await find("#local-path"), LOCAL);
    await until("Next", async () => enabled(await find("[data-testid=next]")));
    await click(await find("[data-testid=next]"));
    await click(await until("New folder", () => find("[data-testid=new-folder]")));
    await type(await find("#new-folder-name"), "E2E");
    await click(await find("[data-testid=create-folder]"));
    await until("the new folder opened", async () => (await textOf("[data-testid=drive-selection]")).includes("/E2E"));
    await click(await find("[data-testid=choose-drive-folder]"));
    await until("the preview", async () => (await textOf("[data-testid=preview-upload-count]")).startsWith("2 files"));
    await shot("2-preview");
    await click(await find("[data-testid=start-sync]"));
    await until("the pair in the list", async () => (await textOf("[data-testid=pair-list]")).includes("/E2E"));

    // In sync: the window says so, and Drive has the files.
    await until("the files on Drive", async () => {
      const snap = await (await fetch(`${EMULATOR}/__emulator/snapshot`)).json();
      const md5Of = (p) => snap.files.find((f) => f.path === p && !f.trashed)?.md5Checksum;
      return md5Of("/E2E/hello.txt") === md5("hello from the e2e test\n") && md5Of("/E2E/notes/todo.md") === md5("- ship it\n");
    }, 60_000);
    await until("'Up to date' in the window", async () => {
      const line = await textOf("[data-testid=statusline]");
      return line.includes("Up to date") && !line.includes("No folders");
    }, 60_000);
    await section("Status");
    await shot("3-in-sync");

    // A second launch exits and leaves the first running (single instance).
    await secondLaunch(["--config", CONFIG], { stdio: "ignore" });
    assert.equal(await wd("GET", s("/title")), "drivesync", "the first instance still answers");
    await shot("4-after-second-launch");
    console.log("app e2e: connected, paired, synced, single instance: ok");
  } finally {
    await wd("DELETE", `/session/${sid}`).catch(() => {});
  }
}

// The X windows of the app: its tray icon's fallback window, and whether a main window
// ("drivesync") is on screen.
function xWindows() {
  const tree = execFileSync("xwininfo", ["-root", "-tree"], { encoding: "utf8" });
  const tray = /tray-icon/.test(tree);
  const shown = [...tree.matchAll(/^\s+(0x[0-9a-f]+) "drivesync":/gm)].some((m) =>
    /Map State: IsViewable/.test(execFileSync("xwininfo", ["-id", m[1]], { encoding: "utf8" })),
  );
  return { tray, shown };
}

// Started hidden (as at login), the app shows only its tray icon; a second launch brings
// its window up (single instance) and exits.
async function secondLaunchShowsTheFirst() {
  await until("the WebDriver app to quit", () => !xWindows().tray, 20_000);
  // The demo's folders go under run.sh's work folder, which it removes.
  const tmp = join(env("HOME"), "tmp");
  mkdirSync(tmp, { recursive: true });
  const opts = { stdio: "ignore", env: { ...process.env, TMPDIR: tmp } };
  const first = spawn(APP, ["--demo", "--hidden"], opts);
  try {
    await until("the hidden app's tray icon", () => xWindows().tray, 30_000);
    await sleep(1000);
    assert.equal(xWindows().shown, false, "--hidden shows no window");
    await secondLaunch(["--demo"], opts);
    await until("the first app's window on screen", () => xWindows().shown, 10_000);
    await shot("5-shown-by-second-launch");
    console.log("app e2e: a second launch shows the hidden first one: ok");
  } finally {
    first.kill("SIGTERM");
  }
}

main()
  .then(secondLaunchShowsTheFirst)
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
