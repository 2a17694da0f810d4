// Formatting of sizes, speeds, times and the API's enums as words for people.
import type { ActivityKind, Blocker, Overall, PairState } from "./api";

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/** 1536 -> "1.5 KiB"; binary units, one decimal under 10. */
export function bytes(n: number): string {
  if (n < 1024) return n === 1 ? "1 byte" : `${n} bytes`;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

/** Bytes per second as KiB/s or MiB/s. */
export function speed(bytesPerSec: number): string {
  const kib = bytesPerSec / 1024;
  if (kib < 1024) return `${kib < 10 ? kib.toFixed(1) : Math.round(kib)} KiB/s`;
  const mib = kib / 1024;
  return `${mib < 10 ? mib.toFixed(1) : Math.round(mib)} MiB/s`;
}

export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((done / total) * 100));
}

export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60], ["minute", 60], ["hour", 24], ["day", 7], ["week", 4.35], ["month", 12], ["year", Infinity],
];

/** "just now", "5 minutes ago", "yesterday"... */
export function relative(iso: string | null, now = Date.now()): string {
  if (!iso) return "never";
  let diff = (Date.parse(iso) - now) / 1000;
  if (Math.abs(diff) < 45) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(diff) < size) return rtf.format(Math.round(diff), unit);
    diff /= size;
  }
  return rtf.format(Math.round(diff), "year");
}

/** A full local date and time, for tooltips. */
export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The time alone today, else a short date and the time: "7:50 PM", "Nov 23, 7:50 PM". */
export function shortTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const time = d.toLocaleTimeString(undefined, { timeStyle: "short" });
  if (d.toDateString() === now.toDateString()) return time;
  const day = d.toLocaleDateString(undefined, {
    month: "short", day: "numeric", year: d.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
  return `${day}, ${time}`;
}

export const STATE_WORDS: Record<PairState, string> = {
  starting: "Starting",
  idle: "Up to date",
  syncing: "Syncing",
  paused: "Paused",
  blocked: "Stopped",
  retrying: "Retrying",
};

export function blockerWords(b: Blocker): string {
  switch (b.kind) {
    case "sign_in": return "Sign in again";
    case "disk_full": return "This computer's disk is full";
    case "drive_full": return "Google Drive storage is full";
    case "folder_missing": return "The folder is missing or not mounted";
    case "too_many_deletes": return `Would delete ${count(b.deletes, "file", "files")}`;
    case "overlapping": return "Overlaps another pair";
  }
}

export const OVERALL_WORDS: Record<Overall, string> = {
  in_sync: "Up to date",
  syncing: "Syncing",
  paused: "Paused",
  attention: "Needs attention",
  offline: "Offline",
  not_connected: "Not connected",
};

export const KIND_WORDS: Record<ActivityKind, string> = {
  uploaded: "Uploaded",
  downloaded: "Downloaded",
  moved: "Moved",
  renamed: "Renamed",
  trashedlocal: "Trashed here",
  trashedremote: "Trashed in Drive",
  foldercreated: "Folder created",
  conflict: "Conflict",
  skipped: "Skipped",
  error: "Error",
  info: "Info",
};

/** The last part of a path, for default names. */
export function basename(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}
