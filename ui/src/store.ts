// The app's shared state: small observable values that sections read and subscribe to.
// Commands' results and events are written here; sections redraw from here.
import type { Account, AppStatus, Conflict, Pair } from "./api";

export type Store<T> = {
  get(): T;
  set(value: T): void;
  /** Calls `fn` now and after every change. */
  watch(fn: (value: T) => void): void;
};

export function store<T>(initial: T): Store<T> {
  let value = initial;
  const watchers: ((value: T) => void)[] = [];
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const fn of watchers) fn(value);
    },
    watch(fn) {
      watchers.push(fn);
      fn(value);
    },
  };
}

export const account = store<Account | null>(null);
export const pairs = store<Pair[]>([]);
export const status = store<AppStatus | null>(null);
export const conflicts = store<Conflict[]>([]);
/** Changes every 30 s so relative times ("5 minutes ago") stay true; no backend call. */
export const tick = store<number>(Date.now());
window.setInterval(() => tick.set(Date.now()), 30_000);

/** Replaces one pair (after pair_set) or adds it (after pair_add). */
export function putPair(p: Pair): void {
  const list = pairs.get();
  const i = list.findIndex((x) => x.id === p.id);
  pairs.set(i < 0 ? [...list, p] : list.map((x) => (x.id === p.id ? p : x)));
}

export function pairName(id: number | null): string {
  if (id === null) return "";
  return pairs.get().find((p) => p.id === id)?.name ?? `Pair ${id}`;
}
