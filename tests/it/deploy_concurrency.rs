//! Concurrent pushes to one function's deploy branch on the real engine: they deploy one at a
//! time, a push another one overtook is refused before it builds, and what serves at the end is
//! what the branch says; the reconciler leaves a push in progress alone.

use crate::deploy_support::{
    Leftovers, containers_of, deploy_app, get, python_function, start_labelled_container, unique,
};
use crate::gitutil::{WorkTree, ls_remote, ref_id};

#[tokio::test(flavor = "multi_thread")]
async fn five_concurrent_pushes_deploy_one_at_a_time_and_the_branch_is_what_serves() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("busy");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);

    // Five pushers with histories of their own, each forcing main to its commit.
    let mut pushes = Vec::new();
    for i in 0..5 {
        let dir = tmp.path().to_owned();
        let url = url.clone();
        let name = name.clone();
        pushes.push(std::thread::spawn(move || {
            let work = WorkTree::new(&dir, &format!("w{i}"));
            work.write("build-id.txt", &format!("{name} {i}"));
            python_function(&work, &format!("pusher {i}"), "");
            let commit = work.commit(&format!("push {i}"));
            // A push that another one overtook while it waited is refused before building;
            // its pusher tries again, as a person would.
            let mut overtaken = 0;
            loop {
                let push = work.git(&["push", &url, "+main:main"]);
                if push.ok
                    || !push
                        .stderr
                        .contains("by another push while this one waited")
                {
                    return (i, commit, push, overtaken);
                }
                assert!(
                    push.stderr.contains("nothing was built") && !push.stderr.contains("Step 1/"),
                    "push {i}: {}",
                    push.stderr
                );
                overtaken += 1;
                assert!(overtaken < 20, "push {i} never got its turn");
            }
        }));
    }
    let mut greetings = std::collections::HashMap::new();
    for handle in pushes {
        let (i, commit, push, overtaken) = handle.join().expect("push thread");
        assert!(
            push.ok,
            "push {i} (overtaken {overtaken} times): {}",
            push.stderr
        );
        greetings.insert(commit, format!("pusher {i}\n"));
    }

    let branch = ref_id(&ls_remote(tmp.path(), &url), "refs/heads/main").expect("main exists");
    let (status, body) = get(&app, &format!("/function/{name}"), None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, greetings[&branch].as_str()),
        "the commit main points at serves"
    );

    let detail = app.function_detail(&name).await.expect("the function");
    let mut releases = app.releases(&name).await;
    releases.sort_by_key(|release| release["number"].as_i64());
    assert_eq!(releases.len(), 5, "{releases:?}");
    for pair in releases.windows(2) {
        let finished = pair[0]["finished_at"].as_i64().expect("finished");
        assert!(
            pair[1]["created_at"].as_i64().expect("created") >= finished,
            "v{} started before v{} finished: {releases:?}",
            pair[1]["number"],
            pair[0]["number"]
        );
    }
    let current = releases
        .iter()
        .find(|release| release["number"] == detail["release"])
        .expect("a current release");
    assert_eq!(
        current["commit"].as_str(),
        Some(branch.as_str()),
        "the serving release is the branch's commit"
    );
    assert_eq!(
        current["number"], 5,
        "the last push to finish is the one serving"
    );
    // Replaced containers stop gracefully in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while containers_of(&name, false).len() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(containers_of(&name, false).len(), 1, "one container serves");
    assert!(
        releases
            .iter()
            .all(|release| release["status"] == "deployed"),
        "{releases:?}"
    );

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciler_leaves_a_first_push_in_progress_alone() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("first");
    let _leftovers = Leftovers(name.clone());
    // A first push is deploying: it holds the function's lock and has started a container, and
    // the function has no current release yet.
    let held = app.state.push_locks.lock(&name).await;
    start_labelled_container(&app.state.instance, &name);

    let report = lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    assert_eq!(report.removed, 0, "{report:?}");
    assert_eq!(
        containers_of(&name, false).len(),
        1,
        "the new container stays"
    );

    // Once no push holds it, a container no current release owns goes.
    drop(held);
    let report = lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    assert_eq!(report.removed, 1, "{report:?}");
    assert_eq!(containers_of(&name, true), Vec::<String>::new());
    app.stop().await;
}
