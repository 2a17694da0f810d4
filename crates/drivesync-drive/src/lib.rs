//! drivesync's Google Drive v3 client.
