use super::*;

struct Blocks(Option<bool>);

#[async_trait::async_trait]
impl LocalBlocks for Blocks {
    async fn blocked_between(&self, _user: i64, _others: &[i64]) -> Option<bool> {
        self.0
    }
}

async fn blocked(owners: &Owners, read_model: bool) -> Result<bool, NoAnswer> {
    owners
        .blocked_between(1, &[2], "token", async move { Ok(read_model) })
        .await
}

#[tokio::test]
async fn the_read_model_answers_only_without_an_owner() {
    let owners = Owners::default();
    assert!(blocked(&owners, true).await.unwrap());
    let clone = owners.clone();
    owners.serve_blocks_locally(Arc::new(Blocks(Some(false))));
    assert!(!blocked(&clone, true).await.unwrap(), "the owner decides");
}

#[tokio::test]
async fn an_owner_busy_for_a_moment_is_asked_once_more() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The friends API as a gateway in front of a busy instance: the first
    // question gets 503, the next the answer; a third never comes.
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = axum::Router::new().route(
        "/api/friends/block-status/{id}",
        axum::routing::get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(axum::http::StatusCode::SERVICE_UNAVAILABLE)
                } else {
                    Ok(axum::Json(serde_json::json!({"blocked": true})))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let remote = Owners::new(Some(url.parse().unwrap()));
    assert!(
        blocked(&remote, false).await.unwrap(),
        "the second answer counts"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    // Asked twice and silent twice: no answer.
    let silent = axum::Router::new().route(
        "/api/friends/block-status/{id}",
        axum::routing::get(|| async { axum::http::StatusCode::BAD_GATEWAY }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, silent).await });
    let remote = Owners::new(Some(url.parse().unwrap()));
    assert!(matches!(
        blocked(&remote, false).await,
        Err(NoAnswer::OwnerSilent("friends"))
    ));
}

#[tokio::test]
async fn an_owner_that_does_not_answer_fails_closed() {
    let owners = Owners::default();
    owners.serve_blocks_locally(Arc::new(Blocks(None)));
    assert!(blocked(&owners, false).await.is_err());
    // Nothing listens on port 9.
    let remote = Owners::new(Some("http://127.0.0.1:9".parse().unwrap()));
    assert!(matches!(
        blocked(&remote, false).await,
        Err(NoAnswer::OwnerSilent("friends"))
    ));
}

struct Users(bool);

#[async_trait::async_trait]
impl LocalUsers for Users {
    async fn exists(&self, _user_id: i64) -> Option<bool> {
        Some(self.0)
    }
}

#[tokio::test]
async fn a_waiter_wakes_when_its_user_is_recorded() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let owners = Owners::default();
    owners.serve_users_locally(Arc::new(Users(true)));
    let model = Arc::new(AtomicBool::new(false));
    let (recorder, recorded) = (owners.clone(), model.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        recorder.user_recorded(8);
        recorded.store(true, Ordering::SeqCst);
        recorder.user_recorded(7);
    });
    let started = Instant::now();
    let known = || {
        let model = model.clone();
        async move { Ok::<_, NoAnswer>(model.load(Ordering::SeqCst)) }
    };
    assert!(owners.resolve_user(7, "token", known).await.unwrap());
    assert!(started.elapsed() < LOOK_AGAIN, "woken, not polled");
}

#[tokio::test]
async fn a_user_the_owner_does_not_have_does_not_exist() {
    let owners = Owners::default();
    owners.serve_users_locally(Arc::new(Users(false)));
    let known = || async { Ok::<_, NoAnswer>(false) };
    assert!(!owners.resolve_user(7, "token", known).await.unwrap());
}

#[test]
fn paths_join_below_the_base_path() {
    let remote = Remote::new("http://gw:8000/banter".parse().unwrap()).unwrap();
    let url = remote.base.join("api/users/1/exists").unwrap();
    assert_eq!(url.as_str(), "http://gw:8000/banter/api/users/1/exists");
}
