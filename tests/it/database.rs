//! The schema on both backends: migrations go up, all the way down, and up again.

use lmnop::db::Db;
use sqlx::Row;

use crate::support::TestDatabase;

async fn tables(db: &Db) -> Vec<String> {
    let query = match db.backend() {
        lmnop::db::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        lmnop::db::Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY table_name"
        }
    };
    sqlx::query(query)
        .fetch_all(db.reader())
        .await
        .expect("list tables")
        .iter()
        .map(|row| row.try_get::<String, _>("name").expect("name"))
        .collect()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let layout = lmnop::store::DataDir::new(&data_dir).expect("a temp dir is absolute");
    lmnop::store::prepare_data_dir(&layout).expect("data dir");
    let test_db = TestDatabase::new(&data_dir).await;
    let db = Db::open(&test_db.config).await.expect("open");
    let expected = [
        "api_tokens",
        "audit_log",
        "functions",
        "releases",
        "secret_grants",
        "secret_owners",
        "sessions",
        "users",
    ];
    assert_eq!(tables(&db).await, expected);
    assert_eq!(
        db.backend().as_str(),
        if TestDatabase::is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );

    db.undo_migrations(0).await.expect("down");
    assert!(tables(&db).await.is_empty(), "every table is gone");

    db.migrate().await.expect("up again");
    assert_eq!(tables(&db).await, expected);
    db.close().await;
}
