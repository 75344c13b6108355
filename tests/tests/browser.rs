//! The web client in Debian's chromium against a local stack of its own: the flows of
//! web/tests/browser.mjs (a resident's conversation with a photo, staff's reply, note and
//! resolve, the re-opening, French, accessibility, phone width, JavaScript size). Needs
//! `make web` (the build) and chromium: `make e2e` does both.

use std::path::Path;
use std::process::Command;

use infra::{Stack, StackOptions};

#[tokio::test]
async fn residents_and_staff_use_the_web_client_in_a_browser() {
    let web = infra::local_web::dist_dir().join("..");
    assert!(web.join("dist/index.html").exists(), "the client is not built: run make web");
    assert!(web.join("node_modules/playwright-core").exists(), "its packages are missing: run make web");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: make chromium installs Debian's");
    let stack = Stack::start(StackOptions::default()).await.expect("the local stack starts");
    let url = stack.url.clone();
    // Where the test reads the e-mails the stack sent (the invitation's link).
    let emulator = stack.emulator.endpoint.clone();
    // The script drives the browser; the stack keeps serving on this runtime meanwhile.
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/browser.mjs")
            .current_dir(&web)
            .env("BASE_URL", url)
            .env("EMULATOR_URL", emulator)
            .env("CHROMIUM", chromium)
            .status()
            .expect("node runs")
    })
    .await
    .unwrap();
    assert!(status.success(), "the browser test failed: {status}");
    drop(stack);
}
