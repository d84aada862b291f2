//! `/health` (the process is up) and `/ready` (its dependencies answer).

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A dependency that must answer for the service to be ready.
#[async_trait]
pub trait Check: Send + Sync {
    /// Short name shown in the `/ready` body, e.g. `users_db`.
    fn name(&self) -> &str;
    async fn check(&self) -> Result<(), String>;
}

/// A database checked with a round trip.
pub struct DatabaseCheck {
    pub name: String,
    pub db: crate::db::Database,
}

#[async_trait]
impl Check for DatabaseCheck {
    fn name(&self) -> &str {
        &self.name
    }
    async fn check(&self) -> Result<(), String> {
        self.db.ping().await.map_err(|e| e.to_string())
    }
}

#[derive(Clone)]
struct Health {
    service: Arc<str>,
    checks: Arc<Vec<Arc<dyn Check>>>,
}

/// Routes `/health` and `/ready` for a process named `service` (e.g. "Users Service").
pub fn router(service: &str, checks: Vec<Arc<dyn Check>>) -> Router {
    let state = Health {
        service: service.into(),
        checks: Arc::new(checks),
    };
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
}

async fn health(State(h): State<Health>) -> Json<Value> {
    Json(json!({ "status": "healthy", "service": &*h.service }))
}

async fn ready(State(h): State<Health>) -> (StatusCode, Json<Value>) {
    let results = futures::future::join_all(h.checks.iter().map(|c| async move {
        let outcome = match tokio::time::timeout(Duration::from_secs(3), c.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("timed out after 3s".to_owned()),
        };
        (c.name().to_owned(), outcome)
    }))
    .await;
    let ok = results.iter().all(|(_, r)| r.is_ok());
    let checks: serde_json::Map<String, Value> = results
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => json!({"status": "up"}),
                Err(e) => json!({"status": "down", "error": e}),
            };
            (name, v)
        })
        .collect();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "service": &*h.service,
        "checks": checks,
    });
    (status, Json(body))
}
