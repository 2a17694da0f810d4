//! Which account is signed in: its email, in `account.toml` in the data folder. Not a secret:
//! the refresh token itself lives in the keychain.

use std::path::Path;

use crate::Error;

const FILE: &str = "account.toml";

#[derive(serde::Serialize, serde::Deserialize)]
struct AccountFile {
    email: String,
}

/// The signed-in account's email, if any.
pub fn load(data_dir: &Path) -> Result<Option<String>, Error> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let f: AccountFile = toml::from_str(&text).map_err(|e| Error::Config {
                path: path.clone(),
                why: e.to_string(),
            })?;
            Ok(Some(f.email))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io { path, source: e }),
    }
}

/// Remembers `email` as the signed-in account.
pub fn save(data_dir: &Path, email: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: data_dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let text = toml::to_string(&AccountFile {
        email: email.to_owned(),
    })
    .expect("a string serializes");
    std::fs::write(data_dir.join(FILE), text).map_err(io)
}

/// Forgets the signed-in account (no account is not an error).
pub fn forget(data_dir: &Path) -> Result<(), Error> {
    match std::fs::remove_file(data_dir.join(FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: data_dir.join(FILE),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_forget() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()).unwrap(), None);
        save(d.path(), "a@example.com").unwrap();
        assert_eq!(load(d.path()).unwrap().as_deref(), Some("a@example.com"));
        forget(d.path()).unwrap();
        forget(d.path()).unwrap();
        assert_eq!(load(d.path()).unwrap(), None);
    }
}
