//! Test doubles for the sync engine's tests (feature `fake`): [`MemRemote`], an in-memory
//! Drive with the same semantics as [`crate::GoogleDrive`] against Drive, and
//! [`FaultyRemote`], which injects failures into any [`crate::RemoteStore`].

mod faulty;
mod mem;
mod tree;

pub use faulty::{Fault, FaultyRemote, Op, When};
pub use mem::MemRemote;
