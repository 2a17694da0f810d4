// Entry point: builds the window (status line, sidebar, sections), subscribes to the
// backend's shared events, then loads the first data. Sets body[data-ready] when done.
import "./styles/base.css";
import "./styles/components.css";
import * as api from "./api";
import { announce, h } from "./dom";
import { mountShell } from "./shell";
import { account, conflicts, pairs, status } from "./store";
import { accountSection } from "./sections/account";
import { activitySection } from "./sections/activity";
import { conflictsSection } from "./sections/conflicts";
import { pairsSection } from "./sections/pairs";
import { settingsSection } from "./sections/settings";
import { statusSection } from "./sections/status";

async function boot(): Promise<void> {
  const root = document.getElementById("app")!;
  mountShell(root, [accountSection(), pairsSection(), statusSection(), activitySection(), conflictsSection(), settingsSection()]);

  let statusSeen = false;
  await Promise.all([
    api.on("account", (a) => account.set(a)),
    // Pairs changed elsewhere (the command line) or by this window.
    api.on("pairs", (ps) => pairs.set(ps)),
    api.on("status", (s) => {
      statusSeen = true;
      status.set(s);
    }),
    api.on("conflict", (c) => {
      conflicts.set([...conflicts.get().filter((x) => x.id !== c.id), c]);
      announce(`New conflict: ${c.path}`);
    }),
  ]);

  const [a, ps, st, cs] = await Promise.allSettled([api.accountGet(), api.pairsList(), api.statusGet(), api.conflictsList()]);
  const failed: string[] = [];
  const take = <T>(r: PromiseSettledResult<T>, use: (v: T) => void) =>
    r.status === "fulfilled" ? use(r.value) : failed.push(api.errorText(r.reason));
  take(a, account.set);
  take(ps, pairs.set);
  // An event newer than status_get's answer may already have arrived: keep the event's.
  take(st, (s) => statusSeen || status.set(s));
  take(cs, conflicts.set);
  if (failed.length) {
    document.getElementById("main")!.prepend(h("p", { class: "error banner", role: "alert", text: failed.join(" ") }));
  }
  document.body.dataset.ready = "true";
}

void boot();
