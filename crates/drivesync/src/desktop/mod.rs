//! What the desktop app needs from the core beyond the CLI's commands: the account's state,
//! browsing Drive folders, a first-sync preview, settling conflicts, the ignore-rules editor,
//! app settings, and one status for the tray built from engine events. Front-end neutral:
//! nothing here knows about Tauri.

mod account;
mod bridge;
mod browse;
mod conflicts;
mod ignore;
mod preview;
mod settings;
mod status;

pub use account::AccountState;
pub use bridge::{spawn_bridge, UiEvent, FLUSH_EVERY};
pub(crate) use browse::folder_path;
pub use browse::{checked_rel, DriveFolder};
pub use preview::{Preview, PREVIEW_LIST_MAX};
pub use settings::{validate_pair_settings, AppSettings, LOG_LEVELS};
pub use status::{app_status, AppStatus, Overall, Transfer, TransferBoard};
