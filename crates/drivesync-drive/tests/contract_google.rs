//! The RemoteStore contract against GoogleDrive on drive-emulator (one emulator per test).

mod common;
mod contract;

use async_trait::async_trait;
use common::Env;
use contract::{Backdoor, PAGE};
use drivesync_drive::DriveId;

#[async_trait]
impl Backdoor for Env {
    async fn delete_forever(&self, id: &DriveId) {
        Env::delete_forever(self, id).await
    }

    async fn google_doc(&self, parent: &DriveId, name: &str) -> DriveId {
        Env::google_doc(self, parent, name).await
    }
}

async fn env() -> Env {
    Env::start_with(|c| {
        c.list_page_size = PAGE as u32;
        c.changes_page_size = PAGE as u32;
    })
    .await
}

#[tokio::test]
async fn listing_reads_every_page() {
    let e = env().await;
    contract::listing_reads_every_page(&e.drive).await;
}

#[tokio::test]
async fn tree_lists_every_level() {
    let e = env().await;
    contract::tree_lists_every_level(&e.drive).await;
}

#[tokio::test]
async fn changes_page_and_report_removals() {
    let e = env().await;
    contract::changes_page_and_report_removals(&e.drive, &e).await;
}

#[tokio::test]
async fn file_lifecycle() {
    let e = env().await;
    contract::file_lifecycle(&e.drive).await;
}

#[tokio::test]
async fn creates_with_ids_are_idempotent() {
    let e = env().await;
    contract::creates_with_ids_are_idempotent(&e.drive).await;
}

#[tokio::test]
async fn download_and_export() {
    let e = env().await;
    contract::download_and_export(&e.drive, &e).await;
}

#[tokio::test]
async fn about_names_the_account() {
    let e = env().await;
    contract::about_names_the_account(&e.drive).await;
}
