//! Command-line configuration of authentication: where a service running alone
//! gets the token keys, and how many requests a user may make.

use super::{JwksError, TokenVerifier};
use crate::health::Check;
use crate::ratelimit::{Limit, RateLimiter};
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

#[derive(Args, Debug, Clone, PartialEq, Eq)]
#[command(next_help_heading = "Authentication")]
pub struct AuthConfig {
    /// Base URL of the users service (e.g. http://users:8005). A service running
    /// without it (`--target friends|chat|notifications`) fetches the public
    /// keys that verify access tokens from its `/.well-known/jwks.json`, and is
    /// not ready until it has them. Leave unset for `--target all` and
    /// `--target users`, which hold the signing key themselves.
    #[arg(long, env = "BANTER_USERS_URL", value_name = "URL", value_parser = parse_users_url)]
    pub users_url: Option<Url>,

    /// Requests one user may make per window, summed over every authenticated
    /// endpoint of this deployment (counted in Redis when it is set); over it,
    /// 429 with Retry-After. 0 turns the limit off. The default, 20 requests a
    /// second on average, is far above what a person or the load test (about
    /// 3 a second per user) does.
    #[arg(
        long,
        env = "BANTER_API_RATE_LIMIT",
        default_value_t = 1200,
        value_name = "N"
    )]
    pub api_rate_limit: u32,

    /// Length of the window of --api-rate-limit, in seconds.
    #[arg(
        long = "api-rate-window",
        env = "BANTER_API_RATE_WINDOW_SECS",
        default_value_t = 60,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub api_rate_window_secs: u64,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for AuthConfig {
    fn default() -> Self {
        crate::config::defaults()
    }
}

impl AuthConfig {
    /// The per-user limit (off when `api_rate_limit` is 0).
    pub fn user_limit(&self) -> Limit {
        Limit::per(
            self.api_rate_limit,
            Duration::from_secs(self.api_rate_window_secs.max(1)),
        )
    }
}

/// Validates the users URL up front so a typo fails at startup.
pub fn parse_users_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e}); expected http://host:8005"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme `{}`; expected http://host:8005",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host; expected http://host:8005".into());
    }
    Ok(url)
}

/// Applies `config` to `verifier`: the per-user limit, counted in `limiter`,
/// and — when a users URL is set — fetching keys from it (see
/// [`TokenVerifier::fetch_keys_from`]). Returns the readiness check for the
/// keys in that case. Must run inside a Tokio runtime.
pub fn configure(
    verifier: &Arc<TokenVerifier>,
    config: &AuthConfig,
    limiter: Arc<dyn RateLimiter>,
) -> Result<Option<Arc<dyn Check>>, JwksError> {
    verifier.limit_users(limiter, config.user_limit());
    Ok(match &config.users_url {
        Some(url) => Some(Arc::new(verifier.fetch_keys_from(url)?)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::InMemoryRevocations;
    use crate::ratelimit::InMemoryRateLimiter;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthConfig,
    }

    #[test]
    fn defaults_and_flags() {
        let cli = Cli::try_parse_from(["banter"]).unwrap();
        assert_eq!(cli.auth, AuthConfig::default());
        assert_eq!(
            cli.auth.user_limit(),
            Limit::per(1200, Duration::from_secs(60))
        );

        let cli = Cli::try_parse_from([
            "banter",
            "--users-url",
            "http://users:8005",
            "--api-rate-limit",
            "0",
            "--api-rate-window",
            "10",
        ])
        .unwrap();
        assert_eq!(
            cli.auth.users_url.as_ref().unwrap().as_str(),
            "http://users:8005/"
        );
        assert!(cli.auth.user_limit().is_off());

        assert!(Cli::try_parse_from(["banter", "--api-rate-window", "0"]).is_err());
        let err = parse_users_url("redis://users:8005").unwrap_err();
        assert!(err.contains("unsupported scheme `redis`"), "{err}");
        assert!(parse_users_url("users:8005").is_err());
    }

    #[tokio::test]
    async fn configure_sets_the_limit_and_the_key_source() {
        let verifier = Arc::new(TokenVerifier::new(Arc::new(InMemoryRevocations::default())));
        let limiter = Arc::new(InMemoryRateLimiter::default());
        let check = configure(&verifier, &AuthConfig::default(), limiter.clone()).unwrap();
        assert!(check.is_none());
        assert_eq!(
            verifier.user_limit(),
            Some(Limit::per(1200, Duration::from_secs(60)))
        );

        let config = AuthConfig {
            users_url: Some("http://127.0.0.1:9".parse().unwrap()),
            ..AuthConfig::default()
        };
        let check = configure(&verifier, &config, limiter).unwrap().unwrap();
        assert_eq!(check.name(), "users-jwks");
        assert!(check.check().await.is_err());
    }
}
