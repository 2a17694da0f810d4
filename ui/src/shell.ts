// The window's frame: the status line at the top, the sidebar of sections (keyboard:
// Tab, or arrows/Home/End between items) and the content area showing one section.
import type { Overall } from "./api";
import { announce, h, icon } from "./dom";
import { OVERALL_WORDS } from "./format";
import { status } from "./store";

export type Section = {
  id: string;
  title: string;
  icon: string;
  el: HTMLElement;
  /** Called each time the section is shown (first load of lazy data). */
  shown?: () => void;
  /** A count shown next to the title (e.g. unresolved conflicts). */
  badge?: (set: (n: number) => void) => void;
};

export function mountShell(root: HTMLElement, sections: Section[]): void {
  const dot = h("span", { class: "dot", "aria-hidden": "true" });
  const overallWord = h("span", { class: "overall-word" });
  const summary = h("span", { class: "summary", "data-testid": "summary" });
  const header = h(
    "header",
    { class: "statusline", "data-testid": "statusline" },
    h("span", { class: "app-name", text: "drivesync" }),
    h("span", { class: "overall", "data-testid": "overall" }, dot, overallWord, summary),
  );
  let said: Overall | null = null;
  status.watch((s) => {
    const overall: Overall | "loading" = s?.overall ?? "loading";
    // Only a change of the overall state is read out; summaries change too often.
    if (s && said && s.overall !== said) announce(`drivesync: ${OVERALL_WORDS[s.overall]}.`);
    said = s?.overall ?? null;
    header.dataset.overall = overall;
    overallWord.textContent = s ? OVERALL_WORDS[s.overall] : "Loading…";
    summary.textContent = s && s.summary !== OVERALL_WORDS[s.overall] ? s.summary : "";
  });

  const main = h("main", { id: "main", tabindex: "-1" });
  const buttons: HTMLButtonElement[] = [];
  const list = h("ul", { class: "nav" });

  function show(id: string): void {
    for (const s of sections) {
      const active = s.id === id;
      s.el.hidden = !active;
      if (active) s.shown?.();
    }
    for (const b of buttons) {
      if (b.dataset.section === id) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
  }

  for (const s of sections) {
    const badge = h("span", { class: "badge", hidden: true });
    const button = h(
      "button",
      { type: "button", class: "nav-item", "data-section": s.id, onclick: () => show(s.id) },
      icon(s.icon),
      h("span", { class: "nav-label", text: s.title }),
      badge,
    );
    s.badge?.((n) => {
      badge.hidden = n === 0;
      badge.textContent = String(n);
      button.setAttribute("aria-label", n ? `${s.title}, ${n}` : s.title);
    });
    buttons.push(button);
    list.appendChild(h("li", {}, button));
    s.el.hidden = true;
    main.appendChild(s.el);
  }

  list.addEventListener("keydown", (e) => {
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    const to =
      e.key === "ArrowDown" ? (i + 1) % buttons.length
      : e.key === "ArrowUp" ? (i - 1 + buttons.length) % buttons.length
      : e.key === "Home" ? 0
      : e.key === "End" ? buttons.length - 1
      : -1;
    if (to < 0) return;
    e.preventDefault();
    buttons[to].focus();
  });

  const nav = h("nav", { class: "sidebar", "aria-label": "Sections" }, list);
  const live = h("div", { id: "live", class: "visually-hidden", role: "status", "aria-live": "polite" });
  root.append(header, h("div", { class: "body" }, nav, main), live);

  const first = sections.find((s) => `#${s.id}` === location.hash) ?? sections[0];
  show(first.id);
}
