//! The users API as every service's tests need it: an account and a token.

use crate::ApiClient;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// The password every test account gets.
pub const PASSWORD: &str = "Passw0rd!";

impl ApiClient {
    /// `POST /api/auth/register` with [`PASSWORD`].
    pub async fn register(
        &self,
        email: &str,
        username: &str,
        display_name: Option<&str>,
    ) -> Response {
        let mut body = json!({"email": email, "username": username, "password": PASSWORD});
        if let Some(name) = display_name {
            body["display_name"] = json!(name);
        }
        self.post_json("/api/auth/register", &body, None).await
    }

    /// Logs in, expecting 200: the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/api/auth/login/json",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Registers `name` (email `<name>@example.com`) and logs in: (id, token).
    pub async fn register_and_login(
        &self,
        name: &str,
        display_name: Option<&str>,
    ) -> (i64, String) {
        let email = format!("{name}@example.com");
        let res = self.register(&email, name, display_name).await;
        assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        (id, self.login(&email, PASSWORD).await)
    }
}
