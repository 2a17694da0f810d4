// Activity section: the searchable log (activity_list) with text, kind and pair filters,
// newest first, "Load more" by `before`, and new `activity` events prepended when they match.
import * as api from "../api";
import type { Activity, ActivityKind, ActivityQuery } from "../api";
import { errorLine, fill, h, sectionHeader } from "../dom";
import { KIND_WORDS, dateTime, shortTime } from "../format";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { pairName, pairs } from "../store";

const PAGE = 50;

export function activitySection(): Section {
  const error = errorLine();
  const search = h("input", { type: "search", id: "activity-search", placeholder: "File name or message", autocomplete: "off" });
  const kind = h("select", { id: "activity-kind" },
    h("option", { value: "", text: "All kinds" }),
    ...Object.entries(KIND_WORDS).map(([k, w]) => h("option", { value: k, text: w })));
  const pair = h("select", { id: "activity-pair" });
  const list = h("ul", { class: "list log", "aria-label": "Activity, newest first", "data-testid": "activity-list" });
  const more: HTMLButtonElement = h("button", { type: "button", "data-testid": "load-more", text: "Load more", hidden: true, onclick: () => void load(true) });
  let entries: Activity[] = [];
  let request = 0;
  let loaded = false;

  function query(): ActivityQuery {
    const q: ActivityQuery = { limit: PAGE };
    const text = search.value.trim();
    if (text) q.text = text;
    if (kind.value) q.kind = kind.value as ActivityKind;
    if (pair.value) q.pair = Number(pair.value);
    return q;
  }

  function matches(a: Activity, q: ActivityQuery): boolean {
    if (q.kind && a.kind !== q.kind) return false;
    if (q.pair !== undefined && a.pair !== q.pair) return false;
    if (q.text) {
      const t = q.text.toLowerCase();
      return (a.path ?? "").toLowerCase().includes(t) || a.message.toLowerCase().includes(t);
    }
    return true;
  }

  async function load(append: boolean): Promise<void> {
    const q = query();
    if (append && entries.length) q.before = entries[entries.length - 1].id;
    const mine = ++request;
    error.show(null);
    list.setAttribute("aria-busy", "true");
    more.disabled = true;
    try {
      const page = await api.activityList(q);
      if (mine !== request) return;
      entries = append ? [...entries, ...page] : page;
      if (append) list.append(...page.map(row));
      else if (page.length) fill(list, ...page.map(row));
      else fill(list, h("li", { class: "empty", text: q.text || q.kind || q.pair !== undefined ? "Nothing matches." : "Nothing has happened yet." }));
      more.hidden = page.length < PAGE;
      loaded = true;
    } catch (e) {
      if (mine === request) error.show(api.errorText(e));
    } finally {
      if (mine === request) {
        list.removeAttribute("aria-busy");
        more.disabled = false;
      }
    }
  }

  let debounce: number | undefined;
  search.addEventListener("input", () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => void load(false), 300);
  });
  kind.addEventListener("change", () => void load(false));
  pair.addEventListener("change", () => void load(false));
  pairs.watch((ps) => {
    const keep = pair.value;
    fill(pair, h("option", { value: "", text: "All pairs" }), ...ps.map((p) => h("option", { value: p.id, text: p.name })));
    pair.value = ps.some((p) => String(p.id) === keep) ? keep : "";
  });

  void api.on("activity", (a) => {
    if (!loaded || entries.some((x) => x.id === a.id) || !matches(a, query())) return;
    if (!entries.length) fill(list);
    entries = [a, ...entries];
    list.prepend(row(a));
  });

  const el = h(
    "section",
    { class: "section", "aria-labelledby": "activity-title" },
    sectionHeader("activity-title", "Activity", "Everything drivesync did, newest first."),
    h("form", { class: "filters", role: "search", onsubmit: (e: Event) => e.preventDefault() },
      h("div", { class: "field grow" }, h("label", { for: "activity-search", text: "Search" }), search),
      h("div", { class: "field" }, h("label", { for: "activity-kind", text: "Kind" }), kind),
      h("div", { class: "field" }, h("label", { for: "activity-pair", text: "Pair" }), pair)),
    error.el,
    list,
    h("div", { class: "actions center" }, more),
  );
  return { id: "activity", title: "Activity", icon: ICONS.activity, el, shown: () => {
    if (!loaded) void load(false);
  } };
}

function row(a: Activity): HTMLElement {
  const error = errorLine();
  const act = (label: string, aria: string, testid: string, fn: () => Promise<null>) =>
    h("button", {
      type: "button", class: "small", text: label, "aria-label": aria, "data-testid": testid,
      onclick: () => fn().then(() => error.show(null), (e) => error.show(api.errorText(e))),
    });
  const what = a.path ?? pairName(a.pair);
  return h(
    "li",
    { class: "entry", "data-id": a.id, "data-kind": a.kind },
    h("time", { datetime: a.at, title: dateTime(a.at), class: "muted small nums", text: shortTime(a.at) }),
    h("span", { class: "kind small", "data-testid": "kind", text: KIND_WORDS[a.kind] }),
    h("div", { class: "grow text" },
      a.path ? h("div", { class: "path", text: a.path, title: a.path }) : null,
      h("div", { class: a.path ? "muted small" : "small", text: a.message }),
      error.el),
    a.pair !== null
      ? h("div", { class: "row-actions" },
          act("Show in folder", `Show in folder: ${what}`, "reveal", () => api.reveal(a.pair!, a.path)),
          act("Open in Drive", `Open in Drive: ${what}`, "open-in-drive", () => api.openInDrive(a.pair!, a.path)))
      : null,
  );
}
