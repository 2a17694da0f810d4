//! Plain types shared by drivesync's crates. No IO, no async.

mod endpoints;
mod ids;
mod sensitive;

pub use endpoints::GoogleEndpoints;
pub use ids::{DriveId, Md5, Md5ParseError};
pub use sensitive::Sensitive;
