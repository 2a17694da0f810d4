//! Plain types shared by drivesync's crates. No IO, no async.

mod endpoints;
mod ids;
mod path;
mod sensitive;
mod settings;
mod tree;

pub use endpoints::GoogleEndpoints;
pub use ids::{DriveId, Md5, Md5ParseError};
pub use path::{RelPath, RelPathError};
pub use sensitive::Sensitive;
pub use settings::PairSettings;
pub use tree::{
    BaseEntry, Cursor, Kind, LocalEntry, LocalStamp, PairId, RemoteEntry, RootId, Tree,
};
