//! `/metrics` stays bounded whatever clients send: labels come from known sets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::spawn_app;

/// Sends one raw request and reads the answer to its end.
fn send(address: std::net::SocketAddr, request: &str) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_leave_the_metrics_the_same_size() {
    let app = spawn_app().await;
    let address = app.address;
    let metrics = || async {
        reqwest::get(app.url("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    // One made-up method first, so the series for `other` exists.
    send(
        address,
        "FROBNICATE0 /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // Reading /metrics is counted too: read it once so its own series exist.
    metrics().await;
    let before = metrics().await;
    assert!(before.contains("method=\"other\""), "{before}");
    tokio::task::spawn_blocking(move || {
        for index in 1..1000 {
            let method = format!("M{index:0>4}{}", "X".repeat(2000));
            send(
                address,
                &format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            );
        }
    })
    .await
    .expect("requests");
    let after = metrics().await;
    assert!(!after.contains("M0001"), "a made-up method became a label");
    // The counters' digits may grow; the number of series may not.
    let series = |text: &str| text.lines().filter(|line| !line.starts_with('#')).count();
    assert_eq!(series(&after), series(&before), "{after}");
    assert!(
        after.len() < before.len() + 200,
        "{} bytes before, {} after",
        before.len(),
        after.len()
    );
    app.stop().await;
}
