// Conflicts section: the unresolved conflicts (conflicts_list + `conflict` events), both
// versions named, Show in folder, and Keep mine / Keep theirs / Keep both.
import * as api from "../api";
import type { Conflict, Resolution } from "../api";
import { announce, errorLine, h, sectionHeader } from "../dom";
import { relative } from "../format";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { conflicts, pairName, tick } from "../store";

const DONE: Record<Resolution, string> = {
  keep_mine: "Kept your version; the version from Drive went to the trash.",
  keep_theirs: "Kept the version from Drive; your version went to the trash.",
  keep_both: "Kept both versions.",
};

export function conflictsSection(): Section {
  const list = h("ul", { class: "list cards", "aria-label": "Unresolved conflicts", "data-testid": "conflict-list" });
  const empty = h("p", { class: "muted", "data-testid": "conflicts-empty", text: "No conflicts. Files changed on both sides will show up here." });
  const rows = new Map<number, { el: HTMLElement; time: HTMLElement; at: string }>();

  function row(c: Conflict): { el: HTMLElement; time: HTMLElement; at: string } {
    const error = errorLine();
    const time = h("span", { class: "muted small" });
    const buttons: HTMLButtonElement[] = [];
    const resolve = async (r: Resolution) => {
      error.show(null);
      buttons.forEach((b) => (b.disabled = true));
      try {
        await api.conflictResolve(c.id, r);
        conflicts.set(conflicts.get().filter((x) => x.id !== c.id));
        announce(`${c.path}: ${DONE[r]}`);
      } catch (e) {
        error.show(api.errorText(e));
        buttons.forEach((b) => (b.disabled = false));
      }
    };
    const act = (r: Resolution, label: string, cls?: string) => {
      const b = h("button", {
        type: "button", class: cls, text: label, "data-testid": r, "aria-label": `${label}: ${c.path}`,
        onclick: () => void resolve(r),
      });
      buttons.push(b);
      return b;
    };
    const show = h("button", {
      type: "button", text: "Show in folder", "data-testid": "reveal", "aria-label": `Show in folder: ${c.copy}`,
      onclick: () => api.reveal(c.pair, c.copy).then(() => error.show(null), (e) => error.show(api.errorText(e))),
    });
    const el = h(
      "li",
      { class: "card", "data-conflict": c.id },
      h("div", { class: "row" },
        h("div", { class: "grow" }, h("div", { class: "strong path", text: c.path }), h("span", { class: "muted small", text: `${pairName(c.pair)} · ` }), time),
        show),
      h("dl", { class: "versions" },
        h("dt", { text: `Your version on ${c.host}` }), h("dd", { class: "path", text: c.copy }),
        h("dt", { text: "The version from Drive" }), h("dd", { class: "path", text: c.path })),
      h("div", { class: "actions end" }, act("keep_mine", "Keep mine"), act("keep_theirs", "Keep theirs"), act("keep_both", "Keep both")),
      error.el,
    );
    return { el, time, at: c.at };
  }

  conflicts.watch((cs) => {
    for (const [id, r] of rows) {
      if (!cs.some((c) => c.id === id)) {
        r.el.remove();
        rows.delete(id);
      }
    }
    for (const c of cs) {
      if (rows.has(c.id)) continue;
      const r = row(c);
      rows.set(c.id, r);
      list.appendChild(r.el);
    }
    empty.hidden = cs.length > 0;
    renderTimes();
  });
  function renderTimes(): void {
    for (const r of rows.values()) r.time.textContent = relative(r.at);
  }
  tick.watch(renderTimes);

  const el = h(
    "section",
    { class: "section", "aria-labelledby": "conflicts-title" },
    sectionHeader("conflicts-title", "Conflicts", "Files changed on both sides. drivesync kept both versions until you choose."),
    h("p", { class: "explain" },
      "Keep mine keeps your version, Keep theirs keeps the version from Drive, Keep both keeps the two files side by side. ",
      h("strong", { text: "A version you drop goes to the trash," }), " so you can still get it back."),
    empty,
    list,
  );
  return {
    id: "conflicts", title: "Conflicts", icon: ICONS.conflicts, el,
    badge: (set) => conflicts.watch((cs) => set(cs.length)),
  };
}
