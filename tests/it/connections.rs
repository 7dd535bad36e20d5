//! Connections that never finish a request are closed after the header timeout, and while
//! many are open lmnop still answers health checks and takes pushes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::gitutil::WorkTree;
use crate::support::spawn_app_with;

/// Whether the server closed `stream` (reads its end) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 256];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // Whatever the server says before it closes (it may answer 408) is read past.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_and_slow_connections_are_closed_and_never_stop_health_checks_or_pushes() {
    let app = spawn_app_with(|config| config.header_timeout = Duration::from_secs(2)).await;
    let mut idle = Vec::with_capacity(1000);
    for _ in 0..1000 {
        idle.push(TcpStream::connect(app.address).await.expect("connect"));
    }
    let mut slow = TcpStream::connect(app.address).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: lmnop.test\r\n")
        .await
        .expect("half a request");

    let health = reqwest::get(app.url("/healthz")).await.expect("answers");
    assert_eq!(health.status(), 200);
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("notes.txt", "still here\n");
    work.commit("one");
    let push = work.git(&["push", &app.admin_url("busy"), "main:dev"]);
    assert!(push.ok, "{}", push.stderr);

    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "a client that never finishes its headers is cut off"
    );
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(10)).await,
        "an idle connection is closed"
    );
    // A keep-alive connection that goes quiet after a request is closed too.
    let mut kept = TcpStream::connect(app.address).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: lmnop.test\r\n\r\n")
        .await
        .expect("request");
    let mut answer = [0u8; 512];
    let read = kept.read(&mut answer).await.expect("answer");
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer[..read])
    );
    assert!(closed_within(&mut kept, Duration::from_secs(10)).await);
    app.stop().await;
}
