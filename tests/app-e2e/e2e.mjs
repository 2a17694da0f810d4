// End-to-end test of the real desktop app: the release-like debug build of drivesync-app
// under Xvfb, driven through WebDriver (tauri-driver + WebKitWebDriver) against a
// drive-emulator: connect the account (the emulator's consent page approves by itself), add a
// pair through the UI (typed local path, a new Drive folder made in the Drive browser), wait
// until the window says it is up to date, and check in the emulator's snapshot that the files
// arrived. Screenshots come from X (`import`), not WebDriver. Then a second launch must leave
// the first one alone and exit (single instance).
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
    const second = spawn(APP, ["--config", CONFIG], { stdio: "ignore" });
    const code = await Promise.race([
      new Promise((r) => second.on("exit", (c) => r(c ?? 0))),
      sleep(15_000).then(() => "still running"),
    ]);
    if (code === "still running") second.kill("SIGKILL");
    assert.equal(code, 0, "a second launch must hand over to the first and exit");
    assert.equal(await wd("GET", s("/title")), "drivesync", "the first instance still answers");
    await shot("4-after-second-launch");
    console.log("app e2e: connected, paired, synced, single instance: ok");
  } finally {
    await wd("DELETE", `/session/${sid}`).catch(() => {});
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
