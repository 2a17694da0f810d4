//! Tauri's build step, with the app's own commands declared so the capability file can allow
//! exactly the ones the UI uses (nothing is allowed by default).

/// Every command of `src/commands.rs`.
const COMMANDS: &[&str] = &[
    "account_get",
    "account_connect",
    "account_connect_cancel",
    "account_disconnect",
    "drive_folders",
    "drive_create_folder",
    "pair_preview",
    "pair_add",
    "pairs_list",
    "pair_set",
    "pair_remove",
    "ignore_get",
    "ignore_set",
    "status_get",
    "activity_list",
    "conflicts_list",
    "conflict_resolve",
    "settings_get",
    "settings_set",
    "pause",
    "resume",
    "sync_now",
    "sync_force_deletes",
    "reveal",
    "open_in_drive",
    "open_logs",
];

fn main() {
    let dist = std::path::Path::new("../ui/dist/index.html");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.exists() {
        panic!("ui/dist is missing: build the UI first (`./x ui`, or `npm --prefix ui ci && npm --prefix ui run build`)");
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
