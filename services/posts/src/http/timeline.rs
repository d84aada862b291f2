//! The caller's home timeline.

use super::{AppState, PageParams, PostPage};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Query};

/// The caller's home timeline: their own posts and those of the users they
/// follow, newest first.
#[utoipa::path(get, path = "/api/timeline/home", tag = "timeline", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = PostPage), (status = 422, body = ErrorBody)))]
pub async fn home(
    state: AppState,
    user: AuthUser,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<PostPage>> {
    let page = state.app.home_timeline(user.id, params.page()?).await?;
    Ok(Json(page.into()))
}
