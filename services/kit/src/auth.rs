//! Bearer tokens: EdDSA (Ed25519) JWTs signed by the users service and verified
//! by every service from public keys (JWKS), plus revocation and a per-user
//! request limit.
//!
//! In one process the users service hands its key to the shared verifier; a
//! service running alone fetches them over HTTP (`auth/jwks.rs`).

mod config;
mod jwks;
mod limit;

pub use config::{AuthConfig, configure, parse_users_url};
pub use jwks::{JwksCheck, JwksError};

use crate::error::ApiError;
use async_trait::async_trait;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::KeyPair;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Issuer written into and required from every token.
pub const ISSUER: &str = "banter-users";

/// What a Banter access token asserts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as a decimal string.
    pub sub: String,
    /// Unique token id, the handle for revocation.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// One public key as published at `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// An Ed25519 private key that signs tokens.
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    encoding: EncodingKey,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid signing key: {0}")]
pub struct KeyError(String);

impl SigningKey {
    /// A fresh random key with a random key id.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| KeyError(e.to_string()))?;
        Self::from_pkcs8(uuid::Uuid::new_v4().simple().to_string(), doc.as_ref())
    }

    pub fn from_pkcs8(kid: String, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|e| KeyError(e.to_string()))?;
        Ok(Self {
            kid,
            pkcs8: pkcs8.to_vec(),
            public: pair.public_key().as_ref().to_vec(),
            encoding: EncodingKey::from_ed_der(pkcs8),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key (PKCS#8 DER), for storage.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: B64.encode(&self.public),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| KeyError(e.to_string()))
    }
}

/// Where revoked token ids are remembered until the token would expire anyway.
#[async_trait]
pub trait Revocations: Send + Sync {
    async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), String>;
    async fn is_revoked(&self, jti: &str) -> Result<bool, String>;
}

/// Process-local revocation list (embedded deployments).
#[derive(Default)]
pub struct InMemoryRevocations {
    revoked: RwLock<HashMap<String, i64>>,
}

#[async_trait]
impl Revocations for InMemoryRevocations {
    async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), String> {
        let now = chrono::Utc::now().timestamp();
        let mut map = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, exp| *exp > now);
        map.insert(jti.to_owned(), expires_at);
        Ok(())
    }
    async fn is_revoked(&self, jti: &str) -> Result<bool, String> {
        Ok(self
            .revoked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(jti))
    }
}

/// Revocations in Redis, shared by every process of a deployment: a token
/// revoked through one instance is refused by all of them. Each entry expires
/// with the token it revokes, so the set never outgrows the live tokens.
pub struct RedisRevocations {
    redis: crate::redis::Redis,
}

impl RedisRevocations {
    pub fn new(redis: crate::redis::Redis) -> Self {
        Self { redis }
    }
    fn key(&self, jti: &str) -> String {
        self.redis.key(&format!("revoked:{jti}"))
    }
}

#[async_trait]
impl Revocations for RedisRevocations {
    async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), String> {
        let ttl = expires_at - chrono::Utc::now().timestamp();
        // An expired token is refused anyway; nothing to remember.
        let Ok(ttl @ 1..) = u64::try_from(ttl) else {
            return Ok(());
        };
        let mut conn = self.redis.conn();
        redis::cmd("SET")
            .arg(self.key(jti))
            .arg(1)
            .arg("EX")
            .arg(ttl)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }
    async fn is_revoked(&self, jti: &str) -> Result<bool, String> {
        let mut conn = self.redis.conn();
        redis::cmd("EXISTS")
            .arg(self.key(jti))
            .query_async::<bool>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Verifies bearer tokens against known public keys and the revocation list.
pub struct TokenVerifier {
    keys: RwLock<HashMap<String, DecodingKey>>,
    revocations: Arc<dyn Revocations>,
    validation: Validation,
    /// Where unknown keys are fetched from in a split deployment
    /// ([`TokenVerifier::fetch_keys_from`]); unset, only trusted keys count.
    jwks: OnceLock<jwks::KeySource>,
    /// Requests each user may make ([`TokenVerifier::limit_users`]); none by default.
    user_limit: RwLock<Option<limit::UserLimit>>,
}

impl TokenVerifier {
    pub fn new(revocations: Arc<dyn Revocations>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        Self {
            keys: RwLock::new(HashMap::new()),
            revocations,
            validation,
            jwks: OnceLock::new(),
            user_limit: RwLock::new(None),
        }
    }

    /// Trusts the public key of a JWK.
    pub fn trust(&self, jwk: &Jwk) -> Result<(), KeyError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(KeyError(format!(
                "unsupported key type {}/{}",
                jwk.kty, jwk.crv
            )));
        }
        let key = DecodingKey::from_ed_components(&jwk.x).map_err(|e| KeyError(e.to_string()))?;
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(jwk.kid.clone(), key);
        Ok(())
    }

    pub fn revocations(&self) -> &Arc<dyn Revocations> {
        &self.revocations
    }

    /// Whether any key is trusted; without one no token can verify.
    pub fn has_keys(&self) -> bool {
        !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn knows_key(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(kid)
    }

    /// Checks signature, algorithm, issuer, expiry and revocation.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = |detail: &str| ApiError::unauthorized("INVALID_TOKEN", detail.to_owned());
        // An unknown `alg` (including "none") fails to parse here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("unsupported token algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("token has no key id"))?;
        if !self.knows_key(&kid) {
            // A key the users service added since we last asked (rotation).
            self.refetch_keys().await?;
        }
        let claims = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            let key = keys
                .get(&kid)
                .ok_or_else(|| invalid("token signed by an unknown key"))?;
            jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        ApiError::unauthorized("TOKEN_EXPIRED", "token has expired")
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        invalid("token signature is invalid")
                    }
                    _ => invalid("token is invalid"),
                })?
                .claims
        };
        let revoked = self
            .revocations
            .is_revoked(&claims.jti)
            .await
            .map_err(|e| ApiError::unavailable(format!("cannot check token revocation: {e}")))?;
        if revoked {
            return Err(ApiError::unauthorized(
                "TOKEN_REVOKED",
                "token has been revoked",
            ));
        }
        Ok(claims)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub claims: Claims,
    /// The bearer token, for calls made on the caller's behalf.
    pub token: Arc<str>,
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<TokenVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("NOT_AUTHENTICATED", "missing Authorization: Bearer <token>")
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "NOT_AUTHENTICATED",
                    "expected Authorization: Bearer <token>",
                )
            })?;
        let verifier = Arc::<TokenVerifier>::from_ref(state);
        let claims = verifier.verify(token).await?;
        let id = claims.sub.parse().map_err(|_| {
            ApiError::unauthorized("INVALID_TOKEN", "token subject is not a user id")
        })?;
        tracing::Span::current().record("user_id", id);
        verifier.count_request(id).await?;
        Ok(Self {
            id,
            claims,
            token: token.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "1".into(),
            jti: "j1".into(),
            iat: now,
            exp: now + exp_in,
            iss: ISSUER.into(),
        }
    }

    fn verifier_for(key: &SigningKey) -> TokenVerifier {
        let v = TokenVerifier::new(Arc::new(InMemoryRevocations::default()));
        v.trust(&key.jwk()).unwrap();
        v
    }

    #[tokio::test]
    async fn accepts_valid_and_rejects_bad_tokens() {
        let key = SigningKey::generate().unwrap();
        let v = verifier_for(&key);
        let good = key.sign(&claims(600)).unwrap();
        assert_eq!(v.verify(&good).await.unwrap().sub, "1");

        let expired = key.sign(&claims(-600)).unwrap();
        assert_eq!(v.verify(&expired).await.unwrap_err().code, "TOKEN_EXPIRED");

        // Same kid, other private key: signature must not verify.
        let other =
            SigningKey::from_pkcs8(key.kid().into(), SigningKey::generate().unwrap().pkcs8())
                .unwrap();
        assert_eq!(
            v.verify(&other.sign(&claims(600)).unwrap())
                .await
                .unwrap_err()
                .code,
            "INVALID_TOKEN"
        );

        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            good.split('.').nth(1).unwrap()
        );
        assert_eq!(v.verify(&none).await.unwrap_err().status, 401);

        v.revocations()
            .revoke("j1", chrono::Utc::now().timestamp() + 600)
            .await
            .unwrap();
        assert_eq!(v.verify(&good).await.unwrap_err().code, "TOKEN_REVOKED");
    }

    #[tokio::test]
    async fn a_revocation_in_redis_is_seen_by_every_verifier() {
        let redis = crate::redis::connect_for_test().await;
        let key = SigningKey::generate().unwrap();
        // Two processes: separate verifiers, one Redis.
        let verifiers: Vec<TokenVerifier> = (0..2)
            .map(|_| {
                let v = TokenVerifier::new(Arc::new(RedisRevocations::new(redis.clone())));
                v.trust(&key.jwk()).unwrap();
                v
            })
            .collect();
        let token = key.sign(&claims(600)).unwrap();
        for v in &verifiers {
            assert!(v.verify(&token).await.is_ok());
        }
        let exp = chrono::Utc::now().timestamp() + 600;
        verifiers[0].revocations().revoke("j1", exp).await.unwrap();
        for v in &verifiers {
            assert_eq!(v.verify(&token).await.unwrap_err().code, "TOKEN_REVOKED");
        }
        // The entry lives as long as the token, no longer.
        let mut conn = redis.conn();
        let ttl: i64 = redis::cmd("TTL")
            .arg(redis.key("revoked:j1"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((590..=600).contains(&ttl), "ttl {ttl}");
        // Revoking an already expired token stores nothing.
        verifiers[1]
            .revocations()
            .revoke("old", chrono::Utc::now().timestamp() - 5)
            .await
            .unwrap();
        assert!(!verifiers[1].revocations().is_revoked("old").await.unwrap());
        redis.purge().await.unwrap();
    }
}
