//! Each function runs on a network of its own: one function's code cannot reach another's
//! containers, lmnop still reaches both, and deleting a function removes its network.

use crate::deploy_support::{Leftovers, containers_of, deploy_app, get, python_function, unique};
use crate::gitutil::WorkTree;

/// Runs `docker` with `args`; (succeeded, stdout + stderr).
fn docker(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_cannot_reach_another_function_s_containers() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let names = [unique("iso-a"), unique("iso-b")];
    let _leftovers: Vec<Leftovers> = names.iter().cloned().map(Leftovers).collect();
    for name in &names {
        let work = WorkTree::new(tmp.path(), name);
        python_function(&work, name, "");
        work.commit("v1");
        let push = work.git(&["push", &app.admin_url(name), "main"]);
        assert!(push.ok, "{}", push.stderr);
        let (status, body) = get(&app, &format!("/function/{name}"), None).await;
        assert_eq!(
            (status, body.trim()),
            (200, name.as_str()),
            "lmnop reaches {name}"
        );
    }
    let a = containers_of(&names[0], false).remove(0);
    let b = containers_of(&names[1], false).remove(0);
    let (ok, networks) = docker(&[
        "inspect",
        "-f",
        "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
        &a,
    ]);
    assert!(ok, "{networks}");
    assert!(
        networks.trim().ends_with(&names[0]) && !networks.contains("bridge"),
        "{} runs on a network of its own: {networks}",
        names[0]
    );
    let (ok, b_address) = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &b,
    ]);
    assert!(ok, "{b_address}");
    let reach = format!(
        "import urllib.request; urllib.request.urlopen('http://{}:8080/', timeout=3)",
        b_address.trim()
    );
    let (reached, output) = docker(&["exec", &a, "python3", "-c", &reach]);
    assert!(!reached, "{} reached {}: {output}", names[0], names[1]);

    // Deleting a function removes its network.
    let deleted = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/functions/{}", names[0])))
        .basic_auth("admin", Some(crate::support::ADMIN_PASSWORD))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let (_, left) = docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("label=lmnop.function={}", names[0]),
    ]);
    assert!(left.trim().is_empty(), "the network is gone: {left}");
    app.stop().await;
}
