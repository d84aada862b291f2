//! `/openapi.json` of every service composed in one process, as `banter serve
//! --target all` serves it: each schema name means one schema (what each
//! service documents alone survives the merge unchanged, so generated clients
//! of the whole API decode every service's bodies), and the statuses the
//! shared plumbing sends are documented on every operation they apply to.
#![allow(clippy::unwrap_used)]

use chat::Chat;
use friends::Friends;
use notifications::Notifications;
use serde_json::Value;
use testkit::{AppBuilder, Backend, SpawnedApp};
use users::Users;

fn users_config() -> users::Config {
    users::Config {
        hash_concurrency: 1,
        ..Default::default()
    }
}

async fn document(app: &SpawnedApp) -> Value {
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn alone(builder: AppBuilder) -> Value {
    document(&builder.serve().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_name_means_one_schema_in_the_merged_document() {
    let all = AppBuilder::new(Backend::Sqlite)
        .module::<Users>(users_config())
        .module::<Friends>(friends::Config::default())
        .module::<Chat>(chat::Config { keep_alive_secs: 1 })
        .module::<Notifications>(notifications::Config { keep_alive_secs: 1 })
        .serve()
        .await;
    let merged = document(&all).await;
    let singles = [
        (
            "users",
            alone(AppBuilder::new(Backend::Sqlite).module::<Users>(users_config())).await,
        ),
        (
            "friends",
            alone(AppBuilder::new(Backend::Sqlite).module::<Friends>(friends::Config::default()))
                .await,
        ),
        (
            "chat",
            alone(
                AppBuilder::new(Backend::Sqlite)
                    .module::<Chat>(chat::Config { keep_alive_secs: 1 }),
            )
            .await,
        ),
        (
            "notifications",
            alone(
                AppBuilder::new(Backend::Sqlite)
                    .module::<Notifications>(notifications::Config { keep_alive_secs: 1 }),
            )
            .await,
        ),
    ];
    let merged_schemas = merged["components"]["schemas"].as_object().unwrap();
    for (service, doc) in &singles {
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            assert_eq!(
                merged_schemas.get(name),
                Some(schema),
                "{service}'s schema {name:?} is not the merged document's {name:?}"
            );
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert_eq!(
                merged["paths"].get(path),
                Some(item),
                "{service}'s {path} differs in the merged document"
            );
        }
    }
    // The message of a chat room is the one with the original's fields, each
    // always present (required), null or not.
    let message = &merged_schemas["Message"];
    let required = message["required"].as_array().unwrap();
    for field in [
        "room_id",
        "deleted_at",
        "edited_at",
        "file_url",
        "is_read",
        "read_by",
    ] {
        assert!(
            message["properties"].get(field).is_some(),
            "Message.{field}: {message}"
        );
        assert!(
            required.contains(&field.into()),
            "Message.{field} required: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_the_plumbing_sends_are_documented() {
    let all = AppBuilder::new(Backend::Sqlite)
        .module::<Users>(users_config())
        .module::<Friends>(friends::Config::default())
        .module::<Chat>(chat::Config { keep_alive_secs: 1 })
        .module::<Notifications>(notifications::Config { keep_alive_secs: 1 })
        .serve()
        .await;
    let doc = document(&all).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            let documents = |status: &str| op["responses"].get(status).is_some();
            if op
                .get("security")
                .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()))
            {
                assert!(documents("401"), "{what}: 401 undocumented");
                assert!(documents("429"), "{what}: 429 undocumented");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params
                .iter()
                .any(|p| p["in"] == "path" || p["in"] == "query")
            {
                assert!(documents("422"), "{what}: 422 undocumented");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(documents(status), "{what}: {status} undocumented");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} operations");
    assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
}
