//! Accounts and tokens: registering, logging in (with its rate limits and
//! the password check on the hashing pool), logging out, the public keys.

use super::{Error, Result, SOURCE};
use crate::Users;
use crate::domain::{self, User};
use crate::store;
use chrono::{DateTime, Utc};
use contracts::{Contract, UserRegistered};
use kit::auth::{Claims, ISSUER, Jwks};
use kit::events::Event;
use kit::ratelimit::{ClientAddr, enforce};

/// Longest password a login will hash: bounds the work an anonymous caller
/// can ask of the hasher.
const LOGIN_PASSWORD_MAX: usize = 256;

/// A signed access token.
#[derive(Debug)]
pub struct Token {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl Users {
    /// Creates an account (display name defaults to the username) and
    /// announces it as `UserRegistered`. Every attempt counts against the
    /// client's address first: each one costs a password hash.
    pub async fn register(
        &self,
        client: &ClientAddr,
        email: &str,
        username: &str,
        password: String,
        display_name: Option<&str>,
    ) -> Result<User> {
        if let Some(ip) = self.login_limits.address_of(client) {
            let key = format!("register:address:{ip}");
            let hit = self
                .ctx
                .limiter
                .hit(&key, self.login_limits.register_address)
                .await;
            enforce(hit, "register-address").map_err(Error::RateLimited)?;
        }
        let new = domain::registration(email, username, &password, display_name)?;
        let hash = self.passwords.hash(password).await?;
        let mut tx = self.db.begin().await?;
        let user = self
            .store
            .create(&mut tx, &new, &hash)
            .await
            .map_err(|e| store::taken(&e).map_or(Error::Database(e), Error::Taken))?;
        let registered = UserRegistered {
            user_id: user.id,
            email: user.email.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            created_at: user.created_at,
        };
        let event = Event::of(SOURCE, user.id, &registered);
        tx.enqueue(UserRegistered::TOPIC, &event).await?;
        tx.commit().await?;
        tracing::info!(user_id = user.id, "user registered");
        Ok(user)
    }

    /// Every attempt counts against the client's address; failed ones count
    /// against the account, which then refuses even the right password until
    /// the window ends (guessing stays slow however many addresses the
    /// guesser has).
    ///
    /// The account's count is taken before the password is hashed — a
    /// reservation, given back when the password was right — so a burst of
    /// parallel attempts gets no more hashes than the limit allows.
    pub async fn login(&self, client: &ClientAddr, email: &str, password: String) -> Result<Token> {
        let limits = &self.login_limits;
        let limiter = &self.ctx.limiter;
        if let Some(ip) = limits.address_of(client) {
            let hit = limiter
                .hit(&format!("login:address:{ip}"), limits.address)
                .await;
            enforce(hit, "login-address").map_err(Error::RateLimited)?;
        }
        if email.len() > domain::EMAIL_MAX || password.len() > LOGIN_PASSWORD_MAX {
            return Err(domain::Invalid("email or password is too long".into()).into());
        }
        let found = match domain::email(email) {
            Ok(email) => self.store.credentials(&email).await?,
            Err(_) => None,
        };
        let (user, hash) = found.unzip();
        let account_key = user.as_ref().map(|u| format!("login:account:{}", u.id));
        if let Some(key) = &account_key {
            let reserved = limiter.hit(key, limits.account).await;
            enforce(reserved, "login-account").map_err(Error::RateLimited)?;
        }
        // An unknown account is checked against a decoy hash: same cost.
        let ok = self.passwords.verify(password, hash).await;
        let Some(user) = user.filter(|_| matches!(ok, Ok(true))) else {
            // A failure keeps its reservation: the next attempt sees it.
            ok?;
            return Err(Error::InvalidCredentials);
        };
        if let Some(key) = &account_key
            && let Err(err) = limiter.release(key).await
        {
            tracing::warn!(user_id = user.id, error = %err, "could not release a login reservation");
        }
        let now = Utc::now();
        self.store.touch_last_seen(&self.db, user.id, now).await?;
        self.changed(user.id).await;
        let token = self.issue(user.id, now)?;
        tracing::info!(user_id = user.id, "user logged in");
        Ok(token)
    }

    fn issue(&self, user_id: i64, now: DateTime<Utc>) -> Result<Token> {
        let ttl = self.token_ttl.as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            iss: ISSUER.into(),
        };
        let access_token = self
            .signing_key
            .sign(&claims)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(Token {
            access_token,
            expires_in: ttl,
        })
    }

    /// Revokes the token `jti` until it expires (`exp`): in the users
    /// database first, so the logout survives a restart, then in the
    /// denylist every module of this process (and, on Redis, every process)
    /// consults.
    pub async fn logout(&self, user_id: i64, jti: &str, exp: i64) -> Result<()> {
        self.store.revoke(jti, exp).await?;
        self.verifier
            .revocations()
            .revoke(jti, exp)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot revoke token: {e}")))?;
        tracing::info!(user_id, "user logged out");
        Ok(())
    }

    /// At start: forgets expired revocations and hands the live ones to the
    /// denylist, which after a restart knows nothing of earlier logouts.
    pub async fn restore_revocations(&self) -> Result<usize> {
        let now = Utc::now().timestamp();
        self.store.prune_revocations(now).await?;
        let live = self.store.revocations(now).await?;
        let revocations = self.verifier.revocations();
        for (jti, expires_at) in &live {
            revocations
                .revoke(jti, *expires_at)
                .await
                .map_err(|e| Error::Unavailable(format!("cannot restore revocations: {e}")))?;
        }
        Ok(live.len())
    }

    /// Forgets revocations of tokens that have expired (the denylist drops
    /// its own; the table is pruned here, now and then).
    pub async fn prune_revocations(&self) -> Result<u64> {
        Ok(self.store.prune_revocations(Utc::now().timestamp()).await?)
    }

    /// At start: gives accounts stored before names had keys (migration
    /// 0004) theirs. Two old accounts whose usernames now share a key
    /// (`ärger` and `ÄRGER`, once allowed on SQLite) keep working: the later
    /// one gets a key no username can have (`ärger#7`), so the name is taken
    /// by the first.
    pub async fn fill_name_keys(&self) -> Result<u64> {
        const PAGE: u32 = 500;
        let mut filled = 0;
        loop {
            let rows = self.store.without_name_keys(PAGE).await?;
            for (id, username, display_name) in &rows {
                let key = domain::name_key(username);
                let display_key = display_name.as_deref().map(domain::name_key);
                let display_key = display_key.as_deref();
                match self.store.set_name_keys(*id, &key, display_key).await {
                    Err(e) if kit::db::is_unique_violation(&e) => {
                        tracing::warn!(
                            user_id = id,
                            "username clashes with an older account once normalised"
                        );
                        let unique = format!("{key}#{id}");
                        self.store.set_name_keys(*id, &unique, display_key).await?;
                    }
                    other => other?,
                }
                filled += 1;
            }
            if rows.len() < PAGE as usize {
                return Ok(filled);
            }
        }
    }

    /// The public keys that verify this service's tokens.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![self.signing_key.jwk()],
        }
    }
}
