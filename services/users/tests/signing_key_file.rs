//! `--signing-key-file`: the users service signs with the key in the file (a
//! Kubernetes Secret in deploy/k8s) instead of the one in its database, so
//! instances on different databases issue tokens each other's verifiers
//! accept; an unusable file stops the start with the file's name and the
//! reason.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use common::{Backend, TestApp};
use kit::auth::{InMemoryRevocations, Jwks, SigningKey, TokenVerifier};
use kit::context::Context;
use kit::module::{Deps, Module};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use testkit::TestDb;
use users::Users;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_signed_with_the_file_key_on_sqlite() {
    tokens_are_signed_with_the_file_key(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_signed_with_the_file_key_on_postgres() {
    tokens_are_signed_with_the_file_key(Backend::Postgres).await;
}

/// A fresh key written as `openssl genpkey -algorithm ed25519` writes it (PEM).
fn key_file(dir: &Path) -> (PathBuf, SigningKey) {
    let key = SigningKey::generate().unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(key.pkcs8());
    let path = dir.join("signing-key.pem");
    std::fs::write(
        &path,
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    (path, key)
}

fn config_with(path: &Path) -> users::Config {
    users::Config {
        signing_key_file: Some(path.to_owned()),
        ..TestApp::config()
    }
}

async fn jwks(app: &TestApp) -> Jwks {
    app.get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap()
}

async fn tokens_are_signed_with_the_file_key(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = key_file(dir.path());
    // Two instances on two databases: only the file makes their keys agree.
    let mut apps = Vec::new();
    for _ in 0..2 {
        let db = Arc::new(TestDb::create(backend, "users").await);
        apps.push(TestApp::spawn_with(db, Context::embedded(), config_with(&path)).await);
    }
    let (id, token) = apps[0].user("kim").await;

    // What the other services do: trust the published keys, nothing else.
    let published = jwks(&apps[0]).await;
    assert_eq!(published.keys.len(), 1);
    let jwk = &published.keys[0];
    assert_eq!(jwk.x, key.jwk().x, "the file's public key is published");
    assert_eq!(jwk.kid, users::key_file::load(&path).unwrap().kid());
    assert_eq!(jwks(&apps[1]).await.keys, published.keys);
    let verifier = TokenVerifier::new(Arc::new(InMemoryRevocations::default()));
    verifier.trust(jwk).unwrap();
    assert_eq!(
        verifier.verify(&token).await.unwrap().sub,
        id.to_string(),
        "a token from the file's key verifies"
    );
    // The second instance, on its own database, accepts the first's token.
    assert!(apps[1].users.verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn an_unusable_key_file_stops_the_start_with_its_name_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_key = dir.path().join("not-a-key.pem");
    std::fs::write(&not_a_key, "hello\n").unwrap();
    let missing = dir.path().join("missing.pem");
    for (path, reason) in [
        (missing, "cannot read it"),
        (not_a_key, "not an Ed25519 PKCS#8 private key"),
    ] {
        let db = TestDb::create(Backend::Sqlite, "users").await;
        let ctx = Context::embedded();
        let deps = Deps {
            db: db.connect(1).await,
            ctx: &ctx,
        };
        let Err(err) = Users::build(&config_with(&path), deps).await else {
            panic!("{} was accepted", path.display());
        };
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(
            message.contains("openssl genpkey -algorithm ed25519"),
            "{message}"
        );
    }
}
