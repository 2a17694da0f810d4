// Pairs section: the list of folder pairs (enable switch, remove with confirmation)
// and the entry to the "Add a folder pair" flow (addpair.ts).
import * as api from "../api";
import type { Pair } from "../api";
import type { Confirmation } from "../dom";
import { announce, confirmDialog, errorLine, fill, h, icon, sectionHeader } from "../dom";
import { relative } from "../format";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { account, pairs, putPair, status, tick } from "../store";
import { addPairFlow } from "./addpair";

export function pairsSection(): Section {
  const add = h("button", {
    type: "button", class: "primary", "data-testid": "add-pair", text: "Add a folder pair…",
    onclick: () => startAdding(),
  });
  const hint = h("p", { class: "muted", hidden: true, text: "Connect Google Drive in Account to add folder pairs." });
  const list = h("ul", { class: "list", "aria-label": "Folder pairs", "data-testid": "pair-list" });
  const listView = h("div", { class: "panel-stack" }, hint, list);
  const flowView = h("div", { hidden: true });
  const confirm = confirmDialog("remove", "confirm-remove");
  const el = h(
    "section",
    { class: "section", "aria-labelledby": "pairs-title" },
    sectionHeader("pairs-title", "Folder pairs", "Folders on this computer kept identical with folders in Drive.", add),
    listView,
    flowView,
    confirm.el,
  );

  function startAdding(): void {
    listView.hidden = true;
    add.hidden = true;
    flowView.hidden = false;
    fill(flowView, addPairFlow((added) => {
      flowView.hidden = true;
      fill(flowView);
      listView.hidden = false;
      add.hidden = false;
      if (added) announce(`Started syncing “${added.name}”.`);
      add.focus();
    }));
  }

  // Rows are redrawn when the pairs change; the last-sync times are updated in place.
  const lastSync = new Map<number, HTMLElement>();
  function renderTimes(): void {
    const live = status.get()?.pairs ?? [];
    for (const p of pairs.get()) {
      const at = live.find((s) => s.pair === p.id)?.last_sync ?? p.last_sync;
      const span = lastSync.get(p.id);
      if (span) span.textContent = `Last sync: ${relative(at)}`;
    }
  }
  pairs.watch((ps) => {
    lastSync.clear();
    if (!ps.length) fill(list, h("li", { class: "empty", text: "No folder pairs yet." }));
    else fill(list, ...ps.map((p) => pairRow(p, (x) => confirm.ask(removal(x)), lastSync)));
    renderTimes();
  });
  status.watch(renderTimes);
  tick.watch(renderTimes);
  account.watch((a) => {
    const connected = a?.state === "connected";
    add.disabled = !connected;
    hint.hidden = connected || !a;
  });

  return { id: "pairs", title: "Folder pairs", icon: ICONS.pairs, el };
}

function pairRow(p: Pair, ask: (p: Pair) => void, lastSync: Map<number, HTMLElement>): HTMLElement {
  const error = errorLine();
  const time = h("div", { class: "muted small", "data-testid": "last-sync" });
  lastSync.set(p.id, time);
  const toggle = h("input", {
    type: "checkbox", role: "switch", class: "switch", checked: p.settings.enabled,
    "aria-label": `Sync “${p.name}”`, "data-testid": "pair-enabled",
  });
  toggle.addEventListener("change", async () => {
    error.show(null);
    toggle.disabled = true;
    try {
      const updated = await api.pairSet(p.id, { ...p.settings, enabled: toggle.checked });
      announce(`“${p.name}” ${updated.settings.enabled ? "enabled" : "disabled"}.`);
      putPair(updated);
    } catch (e) {
      toggle.checked = !toggle.checked;
      toggle.disabled = false;
      error.show(api.errorText(e));
    }
  });
  return h(
    "li",
    { class: "row pair-row", "data-pair": p.id },
    icon(ICONS.folder, "icon big"),
    h(
      "div",
      { class: "grow" },
      h("div", { class: "strong", text: p.name }),
      h("div", { class: "paths" }, h("span", { text: p.local }), " ⇄ ", h("span", { text: `Drive: ${p.drive_path === "/" ? "all of My Drive" : p.drive_path}` })),
      ...p.left_out.map((out) => h("div", { class: "muted small", "data-testid": "left-out", text: `Not synced: ${out} (drivesync's own folder)` })),
      time,
      error.el,
    ),
    h("label", { class: "switch-label" }, toggle, h("span", { text: "Sync" })),
    h("button", {
      type: "button", text: "Remove…", "aria-label": `Remove…: “${p.name}”`, "data-testid": "remove-pair",
      onclick: () => ask(p),
    }),
  );
}

/** What Remove asks: it says that no file is deleted. */
function removal(p: Pair): Confirmation {
  return {
    title: `Remove “${p.name}”?`,
    text:
      `drivesync stops syncing this pair. No files are deleted: ${p.local} on this computer ` +
      `and ${p.drive_path} in Drive stay as they are.`,
    confirm: "Remove pair",
    work: async () => {
      await api.pairRemove(p.id);
      pairs.set(pairs.get().filter((x) => x.id !== p.id));
      announce(`Removed “${p.name}”. No files were deleted.`);
    },
  };
}
