// The app's API (docs/app-api.md): its types, one typed wrapper per Tauri command and
// one per event. The rest of the UI goes through this module and never names a command.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { open } from "@tauri-apps/plugin-dialog";

export type Account =
  | { state: "disconnected" }
  | { state: "connected"; email: string; name: string; used: number | null; limit: number | null }
  | { state: "reconnect"; email: string | null; message: string };

export type DriveFolder = { id: string; name: string; path: string };

export type PairSettings = {
  concurrency: number;
  delete_limit_files: number;
  delete_limit_percent: number;
  export_docs: boolean;
  enabled: boolean;
};

export type Pair = {
  id: number;
  name: string;
  local: string;
  drive_path: string;
  drive_id: string;
  enabled: boolean;
  last_sync: string | null;
  conflicts: number;
  settings: PairSettings;
  left_out: string[];
};

export type Preview = {
  upload_count: number;
  download_count: number;
  conflict_count: number;
  same_count: number;
  upload_bytes: number;
  download_bytes: number;
  upload: string[];
  download: string[];
  conflicts: string[];
};

export type Blocker =
  | { kind: "sign_in" }
  | { kind: "disk_full" }
  | { kind: "drive_full" }
  | { kind: "folder_missing" }
  | { kind: "too_many_deletes"; deletes: number }
  | { kind: "overlapping" };

export type PairState = "starting" | "idle" | "syncing" | "paused" | "blocked" | "retrying";

export type PairStatus = {
  pair: number;
  name: string;
  local: string;
  state: PairState;
  blocker?: Blocker;
  message?: string;
  last_sync: string | null;
  pending_local: number;
  failed_files: number;
  watch_problem: string | null;
};

export type Transfer = {
  pair: number;
  path: string;
  upload: boolean;
  done: number;
  total: number;
  bytes_per_sec: number;
  finished: boolean;
};

export type Overall = "in_sync" | "syncing" | "paused" | "attention" | "offline" | "not_connected";

export type AppStatus = {
  overall: Overall;
  summary: string;
  pairs: PairStatus[];
  transfers: Transfer[];
};

export const ACTIVITY_KINDS = [
  "uploaded", "downloaded", "moved", "renamed", "trashedlocal", "trashedremote",
  "foldercreated", "conflict", "skipped", "error", "info",
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export type Activity = {
  id: number;
  pair: number | null;
  at: string;
  kind: ActivityKind;
  path: string | null;
  message: string;
};

export type ActivityQuery = {
  pair?: number;
  kind?: ActivityKind;
  text?: string;
  before?: number;
  limit?: number;
};

export type Conflict = { id: number; pair: number; at: string; path: string; copy: string; host: string };

export type Resolution = "keep_mine" | "keep_theirs" | "keep_both";

export const LOG_LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type AppSettings = {
  poll_secs: number;
  upload_kib: number;
  download_kib: number;
  autostart: boolean;
  log_level: LogLevel;
  logs_dir: string;
};

/** A rejected command carries one sentence for the user; anything else is turned into one. */
export function errorText(e: unknown): string {
  if (typeof e === "string") return e;
  if (e instanceof Error) return e.message;
  return String(e);
}

// Commands.
export const accountGet = () => invoke<Account>("account_get");
export const accountConnect = () => invoke<Account>("account_connect");
export const accountConnectCancel = () => invoke<null>("account_connect_cancel");
/** Signs out; with `force`, even when Google does not confirm the revoke (the user agreed). */
export const accountDisconnect = (force = false) => invoke<Account>("account_disconnect", { force });
export const driveFolders = (parentId: string | null) =>
  invoke<DriveFolder[]>("drive_folders", { parentId });
export const driveCreateFolder = (parentId: string | null, name: string) =>
  invoke<DriveFolder>("drive_create_folder", { parentId, name });
export const pairPreview = (local: string, driveId: string) =>
  invoke<Preview>("pair_preview", { local, driveId });
export const pairAdd = (local: string, driveId: string, name: string | null) =>
  invoke<Pair>("pair_add", { local, driveId, name });
export const pairsList = () => invoke<Pair[]>("pairs_list");
export const pairSet = (id: number, settings: PairSettings) => invoke<Pair>("pair_set", { id, settings });
export const pairRemove = (id: number) => invoke<null>("pair_remove", { id });
export const ignoreGet = (id: number) => invoke<string>("ignore_get", { id });
export const ignoreSet = (id: number, text: string) => invoke<null>("ignore_set", { id, text });
export const statusGet = () => invoke<AppStatus>("status_get");
export const activityList = (query: ActivityQuery) => invoke<Activity[]>("activity_list", { query });
export const conflictsList = () => invoke<Conflict[]>("conflicts_list");
export const conflictResolve = (id: number, resolution: Resolution) =>
  invoke<null>("conflict_resolve", { id, resolution });
export const settingsGet = () => invoke<AppSettings>("settings_get");
export const settingsSet = (settings: AppSettings) => invoke<AppSettings>("settings_set", { settings });
export const pause = (pair: number | null) => invoke<null>("pause", { pair });
export const resume = (pair: number | null) => invoke<null>("resume", { pair });
export const syncNow = (pair: number | null) => invoke<null>("sync_now", { pair });
/** Syncs pair `pair` once past its delete guard (after the user confirmed the deletes). */
export const syncForceDeletes = (pair: number) => invoke<null>("sync_force_deletes", { pair });
export const reveal = (pair: number, path: string | null) => invoke<null>("reveal", { pair, path });
export const openInDrive = (pair: number, path: string | null) => invoke<null>("open_in_drive", { pair, path });
export const openLogs = () => invoke<null>("open_logs");

/** The native folder picker; null when the user cancels. */
export async function pickFolder(title: string): Promise<string | null> {
  const picked = await open({ directory: true, multiple: false, title });
  return typeof picked === "string" ? picked : null;
}

// Events.
type Events = {
  status: AppStatus;
  transfer: Transfer;
  activity: Activity;
  conflict: Conflict;
  account: Account;
  pairs: Pair[];
};

export function on<K extends keyof Events>(name: K, handler: (payload: Events[K]) => void): Promise<UnlistenFn> {
  return listen<Events[K]>(name, (e) => handler(e.payload));
}
