// Status section: each pair's state, last sync, pending and failed files, watch problem,
// its live transfers, and Pause/Resume/Sync now. Filled from status_get once, then only
// from the `status` and `transfer` events (no polling); cards are updated in place.
import * as api from "../api";
import type { PairStatus, Transfer } from "../api";
import { announce, busy, confirmDialog, errorLine, h, icon, sectionHeader } from "../dom";
import type { Confirmation } from "../dom";
import { STATE_WORDS, blockerWords, count, percent, relative, speed } from "../format";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { status, tick } from "../store";

type Card = { el: HTMLElement; update(s: PairStatus): void; transfers: HTMLUListElement };
type Row = { el: HTMLElement; update(t: Transfer): void };

export function statusSection(): Section {
  const error = errorLine();
  const pauseAll = h("button", { type: "button", "data-testid": "pause-all", text: "Pause all" });
  const syncAll = h("button", { type: "button", "data-testid": "sync-all", text: "Sync all now" });
  const list = h("ul", { class: "list cards", "aria-label": "Pairs", "data-testid": "status-list" });
  const empty = h("p", { class: "muted", text: "No folder pairs yet." });
  const cards = new Map<number, Card>();
  const confirm = confirmDialog("deletes", "confirm-deletes");
  const rows = new Map<string, Row>();
  let current: PairStatus[] = [];

  const run = async (b: HTMLButtonElement, work: () => Promise<null>, done: string) => {
    error.show(null);
    try {
      await busy(b, work);
      announce(done);
    } catch (e) {
      error.show(api.errorText(e));
    }
  };
  pauseAll.addEventListener("click", () => {
    const resume = pauseAll.dataset.resume === "true";
    void run(pauseAll, () => (resume ? api.resume(null) : api.pause(null)), resume ? "Resuming all pairs." : "Pausing all pairs.");
  });
  syncAll.addEventListener("click", () => void run(syncAll, () => api.syncNow(null), "Syncing all pairs now."));

  function card(s: PairStatus): Card {
    const e = errorLine();
    const dot = h("span", { class: "dot", "aria-hidden": "true" });
    const name = h("span", { class: "strong" });
    const state = h("span", { "data-testid": "pair-state" });
    const message = h("p", { class: "message", "data-testid": "pair-message" });
    const facts = h("p", { class: "muted small", "data-testid": "pair-facts" });
    const watch = h("p", { class: "warning-text small", "data-testid": "watch-problem" });
    const toggle = h("button", { type: "button", "data-testid": "pair-pause" });
    const sync = h("button", { type: "button", "data-testid": "pair-sync", text: "Sync now" });
    const force = h("button", {
      type: "button", class: "danger", "data-testid": "pair-force-deletes", hidden: true,
      onclick: () => confirm.ask(forced(st)),
    });
    const transfers = h("ul", { class: "transfers", "aria-label": `Transfers of ${s.name}` });
    let st = s;
    toggle.addEventListener("click", async () => {
      const paused = st.state === "paused";
      e.show(null);
      try {
        await busy(toggle, () => (paused ? api.resume(st.pair) : api.pause(st.pair)));
        announce(`${paused ? "Resuming" : "Pausing"} “${st.name}”.`);
      } catch (err) {
        e.show(api.errorText(err));
      }
    });
    sync.addEventListener("click", async () => {
      e.show(null);
      try {
        await busy(sync, () => api.syncNow(st.pair));
        announce(`Syncing “${st.name}” now.`);
      } catch (err) {
        e.show(api.errorText(err));
      }
    });
    const el = h(
      "li",
      { class: "card", "data-pair": s.pair },
      h("div", { class: "row" }, dot, h("div", { class: "grow" }, name, " ", h("span", { class: "muted", text: "·" }), " ", state), toggle, sync),
      message, force, facts, watch, transfers, e.el,
    );
    const update = (next: PairStatus) => {
      st = next;
      el.dataset.state = next.state;
      name.textContent = next.name;
      state.textContent = next.state === "blocked" && next.blocker
        ? `${STATE_WORDS.blocked}: ${blockerWords(next.blocker)}`
        : STATE_WORDS[next.state];
      message.textContent = next.message ?? "";
      message.hidden = !next.message;
      const parts = [`Last sync ${relative(next.last_sync)}`];
      if (next.pending_local) parts.push(`${count(next.pending_local, "local change", "local changes")} waiting`);
      if (next.failed_files) parts.push(`${count(next.failed_files, "file", "files")} failed (retried at the next sync)`);
      facts.textContent = parts.join(" · ");
      watch.textContent = next.watch_problem ? `Watching for changes: ${next.watch_problem}` : "";
      watch.hidden = !next.watch_problem;
      toggle.textContent = next.state === "paused" ? "Resume" : "Pause";
      toggle.setAttribute("aria-label", `${toggle.textContent}: “${next.name}”`);
      sync.setAttribute("aria-label", `Sync now: “${next.name}”`);
      const blocker = next.state === "blocked" ? next.blocker?.kind : undefined;
      force.hidden = blocker !== "too_many_deletes" && blocker !== "folder_missing";
      force.textContent = next.blocker?.kind === "too_many_deletes"
        ? `Move ${count(next.blocker.deletes, "file", "files")} to the trash…`
        : blocker === "folder_missing" ? "Sync anyway…" : "";
    };
    update(s);
    return { el, update, transfers };
  }

  function row(t: Transfer): Row {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `${t.upload ? "Uploading" : "Downloading"} ${t.path}` });
    const text = h("span", { class: "muted small nums", "data-testid": "transfer-text" });
    const el = h(
      "li",
      { class: "transfer", "data-path": t.path },
      icon(t.upload ? ICONS.up : ICONS.down),
      h("span", { class: "path grow", text: t.path, title: t.path }),
      bar,
      text,
    );
    const update = (next: Transfer) => {
      bar.max = Math.max(next.total, 1);
      bar.value = Math.min(next.done, bar.max);
      text.textContent = `${percent(next.done, next.total)} % · ${speed(next.bytes_per_sec)}`;
    };
    update(t);
    return { el, update };
  }

  const key = (t: Transfer) => `${t.pair}\n${t.path}`;
  function putTransfer(t: Transfer): void {
    const k = key(t);
    const existing = rows.get(k);
    if (t.finished) {
      existing?.el.remove();
      rows.delete(k);
      return;
    }
    if (existing) return existing.update(t);
    const c = cards.get(t.pair);
    if (!c) return;
    const r = row(t);
    rows.set(k, r);
    c.transfers.appendChild(r.el);
  }

  status.watch((s) => {
    current = s?.pairs ?? [];
    for (const [id, c] of cards) {
      if (!current.some((p) => p.pair === id)) {
        c.el.remove();
        cards.delete(id);
      }
    }
    current.forEach((p, i) => {
      let c = cards.get(p.pair);
      if (c) c.update(p);
      else cards.set(p.pair, (c = card(p)));
      if (list.children[i] !== c.el) list.insertBefore(c.el, list.children[i] ?? null);
    });
    const live = new Set((s?.transfers ?? []).map(key));
    for (const [k, r] of rows) {
      if (!live.has(k)) {
        r.el.remove();
        rows.delete(k);
      }
    }
    for (const t of s?.transfers ?? []) putTransfer(t);
    empty.hidden = current.length > 0;
    const allPaused = current.length > 0 && current.every((p) => p.state === "paused");
    pauseAll.textContent = allPaused ? "Resume all" : "Pause all";
    pauseAll.dataset.resume = String(allPaused);
    pauseAll.disabled = syncAll.disabled = current.length === 0;
  });
  tick.watch(() => current.forEach((p) => cards.get(p.pair)?.update(p)));
  void api.on("transfer", putTransfer);

  const el = h(
    "section",
    { class: "section", "aria-labelledby": "status-title" },
    sectionHeader("status-title", "Status", "What each pair is doing right now.", pauseAll, syncAll),
    error.el,
    empty,
    list,
    confirm.el,
  );
  return { id: "status", title: "Status", icon: ICONS.status, el };
}

/**
 * What the pair's force button asks: "Move N files to the trash…" when the delete guard
 * stopped its sync, "Sync anyway…" when its folder looks missing, unmounted or emptied. Either
 * way one sync runs past the stop, and what it deletes goes to the trash.
 */
function forced(s: PairStatus): Confirmation {
  return s.blocker?.kind === "folder_missing" ? folderAsItIs(s) : deletes(s);
}

/**
 * "Sync anyway…" for a folder that is not the one drivesync synced (another disk at its path,
 * emptied, its marker gone): the user says it is the right folder, as it is now.
 */
function folderAsItIs(s: PairStatus): Confirmation {
  return {
    title: `Sync “${s.name}” with its folder as it is?`,
    text:
      `${s.local} is missing, looks like a disk that is not mounted, or was emptied, so nothing ` +
      `was synced or deleted. If the disk is unplugged, plug it in instead: syncing resumes by ` +
      `itself. If this is the right folder and its files are meant to be gone, drivesync syncs ` +
      `it as it is, and moves what is missing to Drive's trash, where it can be restored.`,
    confirm: "Sync anyway",
    work: async () => {
      await api.syncForceDeletes(s.pair);
      announce(`Syncing “${s.name}” with its folder as it is.`);
    },
  };
}

/**
 * What "Move N files to the trash…" asks when the delete guard stopped a pair's sync: the
 * deletes are applied once, to the trash on the other side (where they can be restored).
 */
function deletes(s: PairStatus): Confirmation {
  const n = s.blocker?.kind === "too_many_deletes" ? s.blocker.deletes : 0;
  const files = count(n, "file", "files");
  return {
    title: `Move ${files} to the trash?`,
    text:
      `The last sync of “${s.name}” found ${files} deleted on one side, more than the delete ` +
      `guard allows, so nothing was deleted yet. If you meant to delete them, drivesync moves ` +
      `the copies on the other side to the trash (Drive's trash, or this computer's), where ` +
      `they can be restored. If not, cancel and restore the missing files first.`,
    confirm: `Move ${files} to the trash`,
    work: async () => {
      await api.syncForceDeletes(s.pair);
      announce(`Syncing “${s.name}” with its deletes.`);
    },
  };
}
