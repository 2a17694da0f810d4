//! The RemoteStore contract against MemRemote: the fake behaves as GoogleDrive on the
//! emulator does (see contract_google.rs).

mod contract;

use async_trait::async_trait;
use contract::{Backdoor, PAGE};
use drivesync_drive::fake::MemRemote;
use drivesync_drive::DriveId;

struct Mem(MemRemote);

#[async_trait]
impl Backdoor for Mem {
    async fn delete_forever(&self, id: &DriveId) {
        self.0.delete_permanently(id).unwrap()
    }

    async fn google_doc(&self, parent: &DriveId, name: &str) -> DriveId {
        self.0
            .put_google_file(parent, name, "application/vnd.google-apps.document")
            .unwrap()
            .id
    }
}

fn mem() -> Mem {
    Mem(MemRemote::with_page_size(PAGE))
}

#[tokio::test]
async fn listing_reads_every_page() {
    contract::listing_reads_every_page(&mem().0).await;
}

#[tokio::test]
async fn tree_lists_every_level() {
    contract::tree_lists_every_level(&mem().0).await;
}

#[tokio::test]
async fn changes_page_and_report_removals() {
    let m = mem();
    contract::changes_page_and_report_removals(&m.0, &m).await;
}

#[tokio::test]
async fn file_lifecycle() {
    contract::file_lifecycle(&mem().0).await;
}

#[tokio::test]
async fn creates_with_ids_are_idempotent() {
    contract::creates_with_ids_are_idempotent(&mem().0).await;
}

#[tokio::test]
async fn download_and_export() {
    let m = mem();
    contract::download_and_export(&m.0, &m).await;
}

#[tokio::test]
async fn about_names_the_account() {
    contract::about_names_the_account(&mem().0).await;
}
