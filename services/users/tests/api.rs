//! Every users endpoint over real HTTP, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, TestApp, expect_error, on_both_backends, send_oversized};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    register_returns_the_new_user,
    duplicate_email_or_username_is_409,
    bad_registrations_are_4xx_and_change_nothing,
    login_with_form_and_json,
    bad_tokens_are_401,
    jwks_verifies_issued_tokens,
    logout_revokes_the_token,
    profile_get_and_update,
    profile_image_upload_and_delete,
    images_are_decoded_not_sniffed,
    usernames_are_compared_normalised,
    public_profile_hides_email,
    search_users,
    get_batch_and_exists,
    heartbeat_and_status,
    garbage_never_yields_5xx,
    health_ready_docs_metrics,
);

async fn register_returns_the_new_user(app: &TestApp) {
    let res = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "Alice@Example.com", "username": "alice", "password": PASSWORD, "display_name": "Alice A."}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert!(body["id"].as_i64().unwrap() > 0);
    assert_eq!(
        body["email"], "alice@example.com",
        "emails are normalised to lower case"
    );
    assert_eq!(body["username"], "alice");
    assert_eq!(body["display_name"], "Alice A.");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["updated_at"].is_string());
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    let text = body.to_string();
    assert!(!text.contains("argon2"), "no hash in {text}");
}

async fn duplicate_email_or_username_is_409(app: &TestApp) {
    app.user("bob").await;
    let code = expect_error(
        app.register("BOB@example.com", "bobby", None).await,
        409,
        "same email, other case",
    )
    .await;
    assert_eq!(code, "EMAIL_TAKEN");
    let code = expect_error(
        app.register("other@example.com", "Bob", None).await,
        409,
        "same username, other case",
    )
    .await;
    assert_eq!(code, "USERNAME_TAKEN");
    // The original account is untouched.
    app.login("bob@example.com", PASSWORD).await;
}

async fn bad_registrations_are_4xx_and_change_nothing(app: &TestApp) {
    let ok = json!({"email": "carol@example.com", "username": "carol", "password": PASSWORD});
    let mut cases: Vec<(&str, Value, u16)> = vec![
        (
            "missing email",
            json!({"username": "carol", "password": PASSWORD}),
            422,
        ),
        (
            "missing password",
            json!({"email": "carol@example.com", "username": "carol"}),
            422,
        ),
        (
            "email as number",
            json!({"email": 5, "username": "carol", "password": PASSWORD}),
            422,
        ),
        (
            "username as array",
            json!({"email": "carol@example.com", "username": ["c"], "password": PASSWORD}),
            422,
        ),
        ("body is an array", json!([1, 2]), 422),
        (
            "username too short",
            json!({"email": "carol@example.com", "username": "ca", "password": PASSWORD}),
            422,
        ),
        (
            "username with spaces",
            json!({"email": "carol@example.com", "username": "ca rol", "password": PASSWORD}),
            422,
        ),
        (
            "password too short",
            json!({"email": "carol@example.com", "username": "carol", "password": "Pa0!"}),
            422,
        ),
        (
            "password too long",
            json!({"email": "carol@example.com", "username": "carol", "password": "Passw0rd!Passw0rd!"}),
            422,
        ),
        (
            "password without special",
            json!({"email": "carol@example.com", "username": "carol", "password": "Passw0rd1"}),
            422,
        ),
        (
            "not an email",
            json!({"email": "carol.example.com", "username": "carol", "password": PASSWORD}),
            422,
        ),
        (
            "blank display name",
            json!({"email": "carol@example.com", "username": "carol", "password": PASSWORD, "display_name": "  "}),
            422,
        ),
        (
            "NUL in email",
            json!({"email": "carol\0@example.com", "username": "carol", "password": PASSWORD}),
            422,
        ),
        (
            "NUL in display name",
            json!({"email": "carol@example.com", "username": "carol", "password": PASSWORD, "display_name": "c\0"}),
            422,
        ),
    ];
    let long_name = "x".repeat(51);
    cases.push((
        "username too long",
        json!({"email": "carol@example.com", "username": long_name, "password": PASSWORD}),
        422,
    ));
    let long_email = format!("{}@example.com", "e".repeat(300));
    cases.push((
        "email too long",
        json!({"email": long_email, "username": "carol", "password": PASSWORD}),
        422,
    ));
    for (what, body, status) in cases {
        let code = expect_error(
            app.post_json("/api/auth/register", &body, None).await,
            status,
            what,
        )
        .await;
        assert_eq!(code, "VALIDATION_ERROR", "{what}");
    }
    type RawCase = (
        &'static str,
        Option<&'static str>,
        &'static [u8],
        u16,
        &'static str,
    );
    let raw: Vec<RawCase> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            b"{\"email\": ",
            400,
            "INVALID_JSON",
        ),
        (
            "trailing garbage",
            Some("application/json"),
            br#"{"email":"carol@example.com","username":"carol","password":"Passw0rd!"} }"#,
            400,
            "INVALID_JSON",
        ),
        (
            "empty body",
            Some("application/json"),
            b"",
            400,
            "INVALID_JSON",
        ),
        (
            "no content type",
            None,
            b"{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "form instead of JSON",
            Some("application/x-www-form-urlencoded"),
            b"email=a",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    for (what, ct, body, status, want) in raw {
        let code = expect_error(
            app.raw(Method::POST, "/api/auth/register", ct, body, None)
                .await,
            status,
            what,
        )
        .await;
        assert_eq!(code, want, "{what}");
    }
    // A body over the 5 MB + framing limit.
    let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(6 * 1024 * 1024));
    let res = send_oversized(|c| {
        c.post(app.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body(huge.clone())
    })
    .await;
    assert_eq!(
        expect_error(res, 413, "6 MB JSON body").await,
        "PAYLOAD_TOO_LARGE"
    );
    // None of it created an account: the valid registration still succeeds.
    assert_eq!(
        app.post_json("/api/auth/register", &ok, None)
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn login_with_form_and_json(app: &TestApp) {
    app.user("dave").await;
    let res = app
        .execute(app.client.post(app.url("/api/auth/login")).form(&[
            ("username", "dave@example.com"),
            ("password", PASSWORD),
            ("grant_type", "password"),
        ]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(
        app.get("/api/profile/me", Some(token)).await.status(),
        StatusCode::OK
    );

    let res = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "DAVE@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "email matching ignores case");

    let wrong = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "dave@example.com", "password": "Wr0ng!pass"}),
            None,
        )
        .await;
    assert!(wrong.headers().get("www-authenticate").is_some());
    assert_eq!(
        expect_error(wrong, 401, "wrong password").await,
        "INVALID_CREDENTIALS"
    );
    let unknown = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "nobody@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        expect_error(unknown, 401, "unknown email").await,
        "INVALID_CREDENTIALS"
    );
    let res = app
        .execute(
            app.client
                .post(app.url("/api/auth/login"))
                .form(&[("username", "dave@example.com")]),
        )
        .await;
    expect_error(res, 422, "form without password").await;
    expect_error(
        app.post_json(
            "/api/auth/login/json",
            &json!({"email": "dave@example.com"}),
            None,
        )
        .await,
        422,
        "json without password",
    )
    .await;
    let nul = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "dave\0@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    expect_error(nul, 401, "NUL in email").await;
    let long = json!({"email": "dave@example.com", "password": "p".repeat(10_000)});
    expect_error(
        app.post_json("/api/auth/login/json", &long, None).await,
        422,
        "huge password",
    )
    .await;
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

async fn bad_tokens_are_401(app: &TestApp) {
    let (id, token) = app.user("erin").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| kit::auth::Claims {
        sub: id.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now - 7200,
        exp,
        iss: kit::auth::ISSUER.into(),
    };
    let expired = app.users.signing_key.sign(&claims(now - 3600)).unwrap();
    let other_key = kit::auth::SigningKey::generate().unwrap();
    let impostor =
        kit::auth::SigningKey::from_pkcs8(app.users.signing_key.kid().into(), other_key.pkcs8())
            .unwrap();
    let wrongly_signed = impostor.sign(&claims(now + 3600)).unwrap();
    let unknown_kid = other_key.sign(&claims(now + 3600)).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&base64_decode(parts[1])).unwrap();
    payload["sub"] = json!("999999");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    let alg_none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let hs256 = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );

    let res = app.get("/api/profile/me", None).await;
    assert_eq!(expect_error(res, 401, "missing").await, "NOT_AUTHENTICATED");
    let res = app
        .execute(
            app.client
                .get(app.url("/api/profile/me"))
                .header("authorization", format!("Basic {token}")),
        )
        .await;
    assert_eq!(
        expect_error(res, 401, "not bearer").await,
        "NOT_AUTHENTICATED"
    );
    for (what, bad) in [
        ("garbage", "not-a-token".to_owned()),
        ("expired", expired),
        ("tampered", tampered),
        ("wrongly signed", wrongly_signed),
        ("unknown key", unknown_kid),
        ("alg none", alg_none),
        ("alg HS256", hs256),
    ] {
        let res = app.get("/api/profile/me", Some(&bad)).await;
        let code = expect_error(res, 401, what).await;
        assert!(
            ["INVALID_TOKEN", "TOKEN_EXPIRED"].contains(&code.as_str()),
            "{what}: {code}"
        );
    }
    let res = app
        .get(
            "/api/profile/me",
            Some(&app.users.signing_key.sign(&claims(now - 3600)).unwrap()),
        )
        .await;
    assert_eq!(expect_error(res, 401, "expired").await, "TOKEN_EXPIRED");
    // The genuine token still works.
    assert_eq!(
        app.get("/api/profile/me", Some(&token)).await.status(),
        StatusCode::OK
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

async fn jwks_verifies_issued_tokens(app: &TestApp) {
    let (id, token) = app.user("frank").await;
    let jwks: kit::auth::Jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].alg, "EdDSA");
    assert_eq!(jwks.keys[0].kty, "OKP");
    // Another service, knowing only the JWKS, verifies the token.
    let verifier = kit::auth::TokenVerifier::new(std::sync::Arc::new(
        kit::auth::InMemoryRevocations::default(),
    ));
    verifier.trust(&jwks.keys[0]).unwrap();
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub, id.to_string());
    assert!(claims.exp > chrono::Utc::now().timestamp());
}

async fn logout_revokes_the_token(app: &TestApp) {
    let (_, token) = app.user("grace").await;
    let second = app.login("grace@example.com", PASSWORD).await;
    let res = app
        .post_json("/api/auth/logout", &json!({}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for path in [
        "/api/profile/me",
        "/api/users/search?query=gr",
        "/api/online-status/user/1",
    ] {
        let code = expect_error(app.get(path, Some(&token)).await, 401, path).await;
        assert_eq!(code, "TOKEN_REVOKED", "{path}");
    }
    expect_error(
        app.post_json("/api/auth/logout", &json!({}), Some(&token))
            .await,
        401,
        "logout twice",
    )
    .await;
    // Only the presented token is revoked, not the user's other sessions.
    assert_eq!(
        app.get("/api/profile/me", Some(&second)).await.status(),
        StatusCode::OK
    );
}

async fn profile_get_and_update(app: &TestApp) {
    let (id, token) = app.user("heidi").await;
    let me: Value = app
        .get("/api/profile/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], id);
    assert_eq!(me["email"], "heidi@example.com");
    assert_eq!(me["username"], "heidi");
    for key in [
        "display_name",
        "status_message",
        "profile_image_url",
        "is_online",
        "last_seen_at",
    ] {
        assert!(me.get(key).is_some(), "profile has {key}: {me}");
    }
    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Heidi K", "status_message": "busy"}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["display_name"], "Heidi K");
    assert_eq!(me["status_message"], "busy");
    // Only the given field changes.
    let me: Value = app
        .put_json(
            "/api/profile/me",
            &json!({"status_message": "away"}),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["display_name"].as_str(), me["status_message"].as_str()),
        (Some("Heidi K"), Some("away"))
    );

    for (what, body) in [
        (
            "status too long",
            json!({"status_message": "s".repeat(501)}),
        ),
        ("blank display name", json!({"display_name": " "})),
        (
            "display name too long",
            json!({"display_name": "d".repeat(101)}),
        ),
        ("wrong type", json!({"status_message": 42})),
        ("NUL in status", json!({"status_message": "a\0b"})),
    ] {
        expect_error(
            app.put_json("/api/profile/me", &body, Some(&token)).await,
            422,
            what,
        )
        .await;
    }
    let res = app
        .raw(
            Method::PUT,
            "/api/profile/me",
            Some("application/json"),
            b"{nope",
            Some(&token),
        )
        .await;
    expect_error(res, 400, "malformed").await;
    let me: Value = app
        .get("/api/profile/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["display_name"].as_str(), me["status_message"].as_str()),
        (Some("Heidi K"), Some("away")),
        "bad input changed nothing"
    );
    // An empty status clears it.
    let me: Value = app
        .put_json(
            "/api/profile/me",
            &json!({"status_message": ""}),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(me["status_message"].is_null());
}

/// A real image of `format`, `width`×`height` pixels.
fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::DynamicImage::new_rgba8(width, height);
    let img = match format {
        image::ImageFormat::Jpeg => image::DynamicImage::ImageRgb8(img.to_rgb8()),
        _ => img,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png() -> Vec<u8> {
    encoded(1, 1, image::ImageFormat::Png)
}

async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> reqwest::Response {
    send_oversized(|client| {
        let part = reqwest::multipart::Part::bytes(bytes.clone())
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new().part("file", part);
        client
            .post(app.url("/api/profile/me/image"))
            .bearer_auth(token)
            .multipart(form)
    })
    .await
}

async fn profile_image_upload_and_delete(app: &TestApp) {
    let (id, token) = app.user("ivan").await;
    let res = upload(app, &token, png(), "me.png", "image/png").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    let url = me["profile_image_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("/api/profile/{id}/image")),
        "{url}"
    );
    let img = app.get(&url, Some(&token)).await;
    assert_eq!(img.status(), StatusCode::OK);
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().to_vec(), png());

    // The declared type is not trusted: a script named .png is refused.
    let fake = upload(
        app,
        &token,
        b"<script>alert(1)</script>".to_vec(),
        "evil.png",
        "image/png",
    )
    .await;
    assert_eq!(
        expect_error(fake, 422, "fake image").await,
        "UNSUPPORTED_IMAGE"
    );
    // A JPEG declared as PNG is stored as what it is.
    let jpeg = encoded(2, 2, image::ImageFormat::Jpeg);
    assert_eq!(
        upload(app, &token, jpeg.clone(), "x.png", "image/png")
            .await
            .status(),
        StatusCode::OK
    );
    let img = app
        .get(&format!("/api/profile/{id}/image"), Some(&token))
        .await;
    assert_eq!(img.headers()["content-type"], "image/jpeg");

    let mut just_over = png();
    just_over.resize(5 * 1024 * 1024 + 1, 0);
    expect_error(
        upload(app, &token, just_over, "big.png", "image/png").await,
        413,
        "5 MB + 1 byte",
    )
    .await;
    let mut way_over = png();
    way_over.resize(8 * 1024 * 1024, 0);
    expect_error(
        upload(app, &token, way_over, "huge.png", "image/png").await,
        413,
        "8 MB",
    )
    .await;
    let mut at_limit = png();
    at_limit.resize(5 * 1024 * 1024, 0);
    assert_eq!(
        upload(app, &token, at_limit, "max.png", "image/png")
            .await
            .status(),
        StatusCode::OK,
        "exactly 5 MB is accepted"
    );

    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let res = app
        .execute(
            app.client
                .post(app.url("/api/profile/me/image"))
                .bearer_auth(&token)
                .multipart(form),
        )
        .await;
    expect_error(res, 422, "no file field").await;
    let res = app
        .raw(
            Method::POST,
            "/api/profile/me/image",
            Some("application/json"),
            b"{}",
            Some(&token),
        )
        .await;
    let status = res.status().as_u16();
    assert!((400..500).contains(&status), "not multipart: {status}");
    expect_error(
        upload(app, "bad", png(), "a.png", "image/png").await,
        401,
        "upload without a valid token",
    )
    .await;

    let res = app
        .execute(
            app.client
                .delete(app.url("/api/profile/me/image"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert!(me["profile_image_url"].is_null());
    expect_error(
        app.get(&format!("/api/profile/{id}/image"), Some(&token))
            .await,
        404,
        "deleted image",
    )
    .await;
}

async fn images_are_decoded_not_sniffed(app: &TestApp) {
    let (id, token) = app.user("ines").await;
    for (what, format, mime) in [
        ("JPEG", image::ImageFormat::Jpeg, "image/jpeg"),
        ("GIF", image::ImageFormat::Gif, "image/gif"),
        ("WebP", image::ImageFormat::WebP, "image/webp"),
        ("PNG", image::ImageFormat::Png, "image/png"),
    ] {
        let res = upload(app, &token, encoded(16, 9, format), "a", mime).await;
        assert_eq!(res.status(), StatusCode::OK, "{what}");
        let img = app
            .get(&format!("/api/profile/{id}/image"), Some(&token))
            .await;
        assert_eq!(img.headers()["content-type"], mime, "{what}");
    }
    let stored = app
        .get(&format!("/api/profile/{id}/image"), Some(&token))
        .await
        .bytes()
        .await
        .unwrap();

    let mut polyglot = b"\x89PNG\r\n\x1a\n".to_vec();
    polyglot
        .extend_from_slice(b"<html><body><script>alert(document.cookie)</script></body></html>");
    let real = encoded(64, 64, image::ImageFormat::Png);
    let truncated = real[..real.len() / 2].to_vec();
    let huge = encoded(5000, 1, image::ImageFormat::Png);
    for (what, bytes) in [
        ("PNG signature + HTML", polyglot),
        ("truncated PNG", truncated),
        ("5000 pixels wide", huge),
    ] {
        let res = upload(app, &token, bytes, "x.png", "image/png").await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["code"], "INVALID_IMAGE", "{what}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("PNG")
                || body["detail"].as_str().unwrap().contains("pixels"),
            "{what}: a clear message: {body}"
        );
    }
    // None of it replaced the stored image.
    let after = app
        .get(&format!("/api/profile/{id}/image"), Some(&token))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(after, stored);
}

async fn usernames_are_compared_normalised(app: &TestApp) {
    let created = app.register("u1@example.com", "ÄRGER", None).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["username"], "ÄRGER", "kept as typed, for display");
    app.user("alice").await;
    for (i, (what, name)) in [
        ("other case, beyond ASCII", "ärger"),
        ("decomposed umlaut", "A\u{308}rger"),
        ("fullwidth", "ａｌｉｃｅ"),
        ("mathematical fraktur", "𝔞𝔩𝔦𝔠𝔢"),
        ("mathematical bold capitals", "𝐀𝐋𝐈𝐂𝐄"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .register(&format!("taken{i}@example.com"), name, None)
            .await;
        assert_eq!(
            expect_error(res, 409, what).await,
            "USERNAME_TAKEN",
            "{what}"
        );
    }
    // Search compares the same way.
    let (_, token) = app.user("searcher").await;
    for query in [
        "ärger",
        "ÄRG",
        "a%CC%88rg",
        "ａｌｉ",
        "%F0%9D%94%9E%F0%9D%94%A9",
    ] {
        let found = app
            .json(&format!("/api/users/search?query={query}"), &token)
            .await;
        assert_eq!(found["total_count"], 1, "{query}: {found}");
    }
    let found = app.json("/api/users/search?query=ärger", &token).await;
    assert_eq!(found["users"][0]["username"], "ÄRGER");
    // Display names too, as given at registration and as changed later.
    let (_, token_b) = app.user("bert").await;
    let created = app
        .register("z@example.com", "zed", Some("ÉMILE Zola"))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "ÖDÖN Bárány"}),
            Some(&token_b),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (query, username) in [("émile", "zed"), ("ödön", "bert"), ("BÁRÁNY", "bert")] {
        let found = app
            .json(&format!("/api/users/search?query={query}"), &token)
            .await;
        assert_eq!(found["total_count"], 1, "{query}: {found}");
        assert_eq!(found["users"][0]["username"], username, "{query}");
    }
}

async fn public_profile_hides_email(app: &TestApp) {
    let (_, token) = app.user("judy").await;
    let (kim, _) = app.user("kim").await;
    let res = app.get(&format!("/api/profile/{kim}"), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], "kim");
    assert!(body.get("email").is_none(), "no email in {body}");
    assert!(!body.to_string().contains("kim@example.com"));
    expect_error(
        app.get("/api/profile/987654", Some(&token)).await,
        404,
        "unknown user",
    )
    .await;
    expect_error(
        app.get("/api/profile/abc", Some(&token)).await,
        422,
        "non-numeric id",
    )
    .await;
    expect_error(
        app.get(&format!("/api/profile/{kim}"), None).await,
        401,
        "anonymous",
    )
    .await;
}

async fn search_users(app: &TestApp) {
    let (_, token) = app.user("searcher").await;
    for name in ["mallory", "malcolm", "mal_x", "trent"] {
        app.user(name).await;
    }
    app.put_json(
        "/api/profile/me",
        &json!({"display_name": "Malvina"}),
        Some(&app.login("trent@example.com", PASSWORD).await),
    )
    .await;

    let body: Value = app
        .get("/api/users/search?query=MAL&limit=50", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["mal_x", "malcolm", "mallory", "trent"],
        "username or display name, any case"
    );
    assert_eq!(body["total_count"], 4);
    assert!(body["users"][0].get("email").is_none());

    let body: Value = app
        .get("/api/users/search?query=mal&limit=2", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["total_count"], 4,
        "total counts all matches, not the page"
    );

    let body: Value = app
        .get("/api/users/search?query=l_", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total_count"], 1, "`_` is matched literally: {body}");
    let body: Value = app
        .get("/api/users/search?query=searcher", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["total_count"], 0,
        "the caller is not in their own results"
    );

    let long = format!("/api/users/search?query={}", "q".repeat(51));
    for (what, path) in [
        ("no query", "/api/users/search"),
        ("empty query", "/api/users/search?query="),
        ("query too long", long.as_str()),
        ("limit 0", "/api/users/search?query=mal&limit=0"),
        ("limit 51", "/api/users/search?query=mal&limit=51"),
        (
            "limit not a number",
            "/api/users/search?query=mal&limit=ten",
        ),
        ("negative limit", "/api/users/search?query=mal&limit=-1"),
    ] {
        expect_error(app.get(path, Some(&token)).await, 422, what).await;
    }
}

async fn get_batch_and_exists(app: &TestApp) {
    let (a, token) = app.user("nina").await;
    let (b, _) = app.user("oscar").await;
    let one: Value = app
        .get(&format!("/api/users/{b}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], b);
    assert_eq!(one["username"], "oscar");
    expect_error(
        app.get("/api/users/424242", Some(&token)).await,
        404,
        "unknown",
    )
    .await;
    expect_error(
        app.get("/api/users/xyz", Some(&token)).await,
        422,
        "non-numeric",
    )
    .await;

    let list: Value = app
        .get(
            &format!("/api/users?user_ids={b},{a},424242,{a}"),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [a.min(b), a.max(b)],
        "unknown ids skipped, duplicates once"
    );
    let list: Value = app
        .post_json("/api/users/batch", &json!({"user_ids": [b]}), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["users"][0]["username"], "oscar");

    expect_error(
        app.get("/api/users?user_ids=1,x", Some(&token)).await,
        422,
        "bad id",
    )
    .await;
    expect_error(
        app.get("/api/users?user_ids=", Some(&token)).await,
        422,
        "no ids",
    )
    .await;
    expect_error(app.get("/api/users", Some(&token)).await, 422, "no param").await;
    let many: Vec<i64> = (1..=101).collect();
    expect_error(
        app.post_json("/api/users/batch", &json!({"user_ids": many}), Some(&token))
            .await,
        422,
        "101 ids",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/users/batch",
            &json!({"user_ids": "1,2"}),
            Some(&token),
        )
        .await,
        422,
        "ids as string",
    )
    .await;
    expect_error(
        app.post_json("/api/users/batch", &json!({}), Some(&token))
            .await,
        422,
        "missing ids",
    )
    .await;

    let yes: Value = app
        .get(&format!("/api/users/{b}/exists"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(yes, json!({"exists": true}));
    let no: Value = app
        .get("/api/users/424242/exists", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(no, json!({"exists": false}));
}

async fn heartbeat_and_status(app: &TestApp) {
    let (a, token) = app.user("peggy").await;
    let (b, other) = app.user("quinn").await;
    let before: Value = app
        .get(&format!("/api/online-status/user/{a}"), Some(&other))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["user_id"], a);
    assert_eq!(before["is_online"], false);
    let res = app
        .post_json("/api/online-status/heartbeat", &json!({}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let hb: Value = res.json().await.unwrap();
    assert_eq!(
        (hb["user_id"].as_i64(), hb["is_online"].as_bool()),
        (Some(a), Some(true))
    );
    let after: Value = app
        .get(&format!("/api/online-status/user/{a}"), Some(&other))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["is_online"], true);
    assert!(after["last_seen_at"].is_string());
    let me: Value = app
        .get("/api/profile/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["is_online"], true);
    let b_status: Value = app
        .get(&format!("/api/online-status/user/{b}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b_status["is_online"], false);
    expect_error(
        app.get("/api/online-status/user/777777", Some(&token))
            .await,
        404,
        "unknown user",
    )
    .await;
    expect_error(
        app.post_json("/api/online-status/heartbeat", &json!({}), None)
            .await,
        401,
        "anonymous",
    )
    .await;
}

async fn garbage_never_yields_5xx(app: &TestApp) {
    let (_, token) = app.user("rupert").await;
    let bodies: [&'static [u8]; 7] = [
        b"",
        b"null",
        b"[]",
        b"\"str\"",
        b"{\"a\":",
        b"\xff\xfe\x00",
        b"{\"user_ids\": [1e400]}",
    ];
    let paths = [
        (Method::POST, "/api/auth/register"),
        (Method::POST, "/api/auth/login"),
        (Method::POST, "/api/auth/login/json"),
        (Method::PUT, "/api/profile/me"),
        (Method::POST, "/api/profile/me/image"),
        (Method::POST, "/api/users/batch"),
        (Method::POST, "/api/online-status/heartbeat"),
        (Method::GET, "/api/users/search?query=%00%ff&limit=1"),
        (Method::GET, "/api/users/99999999999999999999999"),
        (Method::DELETE, "/api/users/1"),
        (Method::GET, "/api/nope"),
    ];
    for (method, path) in paths {
        for body in bodies {
            for ct in [
                Some("application/json"),
                Some("multipart/form-data; boundary=x"),
                None,
            ] {
                for auth in [None, Some(token.as_str())] {
                    let res = app.raw(method.clone(), path, ct, body, auth).await;
                    let status = res.status().as_u16();
                    assert!(
                        (400..500).contains(&status) || status == 200,
                        "{method} {path} {ct:?}: {status}"
                    );
                    if status >= 400 {
                        let v: Value = res
                            .json()
                            .await
                            .unwrap_or_else(|_| panic!("{method} {path}: error is not JSON"));
                        assert!(
                            v["code"].is_string() && v["detail"].is_string(),
                            "{method} {path}: {v}"
                        );
                    }
                }
            }
        }
    }
    // The account still works afterwards.
    assert_eq!(
        app.get("/api/profile/me", Some(&token)).await.status(),
        StatusCode::OK
    );
}

async fn health_ready_docs_metrics(app: &TestApp) {
    let health: Value = app.get("/health", None).await.json().await.unwrap();
    assert_eq!(
        health,
        json!({"status": "healthy", "service": "Users Service"})
    );
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["checks"]["users_db"]["status"], "up");
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
    let spec: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/profile/me",
        "/api/users/{user_id}",
        "/api/online-status/heartbeat",
        "/.well-known/jwks.json",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("http_server_request_duration_seconds_bucket"),
        "RED histogram exported"
    );
    assert!(metrics.contains("build_info{service=\"users\""));
    let res = app.raw(Method::DELETE, "/health", None, b"", None).await;
    assert_eq!(
        expect_error(res, 405, "wrong method").await,
        "METHOD_NOT_ALLOWED"
    );
}
