//! A post's image over real HTTP, on SQLite and on PostgreSQL: kit's upload
//! rules (the users service's profile images follow the same ones) — the
//! type read and the bytes decoded, not trusted; 413 past 5 MB — and where
//! the image shows: the post, the author's list and followers' timelines.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, expect_error, on_both_backends};
use reqwest::StatusCode;
use serde_json::Value;
use testkit::send_oversized;

on_both_backends!(
    an_image_shows_in_the_post_and_the_timeline,
    what_is_not_an_image_is_refused_and_changes_nothing,
    only_the_author_changes_the_image,
    deleting_the_image_or_the_post_removes_it,
);

/// A real image of `format`, `width`×`height` pixels.
fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::DynamicImage::new_rgb8(width, height);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png() -> Vec<u8> {
    encoded(16, 9, image::ImageFormat::Png)
}

/// Uploads `bytes` as the image of `post_id` (field `file`, named `name`,
/// declared as `mime`).
async fn upload(
    app: &TestApp,
    token: &str,
    post_id: i64,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> reqwest::Response {
    send_oversized(|client| {
        let part = reqwest::multipart::Part::bytes(bytes.clone())
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap();
        client
            .post(app.url(&format!("/api/posts/{post_id}/image")))
            .bearer_auth(token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
    })
    .await
}

/// Uploads `bytes` as a PNG, expecting 200: the post's body.
async fn set_image(app: &TestApp, token: &str, post_id: i64, bytes: Vec<u8>) -> Value {
    let res = upload(app, token, post_id, bytes, "photo.png", "image/png").await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "uploading an image: {body}");
    body
}

/// The image at `url`: (content type, bytes).
async fn fetch(app: &TestApp, token: &str, url: &str) -> (String, Vec<u8>) {
    let res = app.get(url, Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {url}");
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    (kind, res.bytes().await.unwrap().to_vec())
}

/// The first item of `token`'s home timeline.
async fn newest_in_timeline(app: &TestApp, token: &str) -> Value {
    let page = app.json("/api/timeline/home", token).await;
    page["items"][0].clone()
}

async fn an_image_shows_in_the_post_and_the_timeline(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (_, b) = app.user("bob").await;
    app.follow(&b, alice).await;
    let post = app.publish(&a, "a photo").await;
    let id = post["id"].as_i64().unwrap();
    assert!(post["image_url"].is_null(), "no image yet: {post}");

    let body = set_image(app, &a, id, png()).await;
    let url = body["image_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("/api/posts/{id}/image")), "{url}");
    assert_eq!(body["text"], "a photo");
    assert_eq!(body["id"], id);

    // The post, the author's list and the follower's timeline all show it.
    let got = app.json(&format!("/api/posts/{id}"), &b).await;
    assert_eq!(got["image_url"], url.as_str());
    let mine = app.json(&format!("/api/posts/user/{alice}"), &b).await;
    assert_eq!(mine["items"][0]["image_url"], url.as_str());
    let seen = newest_in_timeline(app, &b).await;
    assert_eq!(
        (seen["id"].as_i64(), seen["image_url"].as_str()),
        (Some(id), Some(url.as_str()))
    );
    // Served as what it is, to any reader.
    assert_eq!(fetch(app, &b, &url).await, ("image/png".to_owned(), png()));

    // A JPEG declared as PNG is stored and served as a JPEG, under a new URL.
    let jpeg = encoded(4, 4, image::ImageFormat::Jpeg);
    let body = set_image(app, &a, id, jpeg.clone()).await;
    let replaced = body["image_url"].as_str().unwrap().to_owned();
    assert_ne!(replaced, url, "a replaced image gets a new URL");
    assert_eq!(
        fetch(app, &b, &replaced).await,
        ("image/jpeg".to_owned(), jpeg)
    );
    let seen = newest_in_timeline(app, &b).await;
    assert_eq!(seen["image_url"], replaced.as_str());
}

async fn what_is_not_an_image_is_refused_and_changes_nothing(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let id = app.publish_id(&a, "keep me").await;
    let url = set_image(app, &a, id, png()).await["image_url"]
        .as_str()
        .unwrap()
        .to_owned();

    // Text renamed .png: the bytes decide, not the name or the declared type.
    let fake = upload(
        app,
        &a,
        id,
        b"just some text\n".to_vec(),
        "photo.png",
        "image/png",
    )
    .await;
    assert_eq!(
        expect_error(fake, 422, "text named .png").await,
        "UNSUPPORTED_IMAGE"
    );
    // A PNG signature in front of HTML is no PNG.
    let mut polyglot = b"\x89PNG\r\n\x1a\n".to_vec();
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let res = upload(app, &a, id, polyglot, "x.png", "image/png").await;
    assert_eq!(
        expect_error(res, 422, "PNG signature + HTML").await,
        "INVALID_IMAGE"
    );
    // Past 5 MB: 413, just over and far over.
    for (what, size) in [
        ("5 MB + 1 byte", 5 * 1024 * 1024 + 1),
        ("8 MB", 8 * 1024 * 1024),
    ] {
        let mut big = png();
        big.resize(size, 0);
        let res = upload(app, &a, id, big, "big.png", "image/png").await;
        assert_eq!(expect_error(res, 413, what).await, "PAYLOAD_TOO_LARGE");
    }
    // No file at all.
    let res = app
        .execute(
            app.client
                .post(app.url(&format!("/api/posts/{id}/image")))
                .bearer_auth(&a)
                .multipart(reqwest::multipart::Form::new().text("note", "no file")),
        )
        .await;
    expect_error(res, 422, "no file field").await;

    // None of it touched the post or its image.
    let post = app.json(&format!("/api/posts/{id}"), &a).await;
    assert_eq!(post["text"], "keep me");
    assert_eq!(post["image_url"], url.as_str());
    assert_eq!(fetch(app, &a, &url).await, ("image/png".to_owned(), png()));
}

async fn only_the_author_changes_the_image(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let (_, b) = app.user("bob").await;
    let id = app.publish_id(&a, "mine").await;
    let res = upload(app, &b, id, png(), "p.png", "image/png").await;
    assert_eq!(
        expect_error(res, 403, "upload by another").await,
        "NOT_AUTHOR"
    );
    set_image(app, &a, id, png()).await;
    let res = app
        .delete(&format!("/api/posts/{id}/image"), Some(&b))
        .await;
    assert_eq!(
        expect_error(res, 403, "delete by another").await,
        "NOT_AUTHOR"
    );
    let res = upload(app, &a, 999_999, png(), "p.png", "image/png").await;
    assert_eq!(
        expect_error(res, 404, "no such post").await,
        "POST_NOT_FOUND"
    );
    let post = app.json(&format!("/api/posts/{id}"), &b).await;
    assert!(post["image_url"].is_string(), "still there: {post}");
}

async fn deleting_the_image_or_the_post_removes_it(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (_, b) = app.user("bob").await;
    app.follow(&b, alice).await;
    let id = app.publish_id(&a, "for a while").await;
    let path = format!("/api/posts/{id}/image");
    let res = app.get(&path, Some(&b)).await;
    assert_eq!(
        expect_error(res, 404, "never had one").await,
        "IMAGE_NOT_FOUND"
    );

    set_image(app, &a, id, png()).await;
    let res = app.delete(&path, Some(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["image_url"].is_null(), "{body}");
    let res = app.get(&path, Some(&b)).await;
    assert_eq!(
        expect_error(res, 404, "removed image").await,
        "IMAGE_NOT_FOUND"
    );
    assert!(newest_in_timeline(app, &b).await["image_url"].is_null());
    let res = app.delete(&path, Some(&a)).await;
    assert_eq!(
        expect_error(res, 404, "removed twice").await,
        "IMAGE_NOT_FOUND"
    );

    // Deleting the post takes its image with it.
    let url = set_image(app, &a, id, png()).await["image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.delete(&format!("/api/posts/{id}"), Some(&a)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&url, Some(&b)).await;
    assert_eq!(
        expect_error(res, 404, "deleted post's image").await,
        "POST_NOT_FOUND"
    );
    assert_eq!(
        app.posts.app.stored_image(id).await.unwrap(),
        None,
        "the bytes are gone from the database"
    );
}
