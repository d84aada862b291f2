//! argon2id password hashing on a bounded blocking pool: at most `permits`
//! hashes run at once, on blocking threads, so hashing never stalls the async
//! workers that serve other requests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kit::ApiError;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    params: Params,
    /// Verified against when the account does not exist, so a login for an
    /// unknown email costs as much as one for a known email.
    decoy: Arc<String>,
}

impl Passwords {
    /// One of OWASP's equivalent argon2id configurations: 7 MiB, 5 passes,
    /// 1 lane. Its cost equals the 19 MiB / 2 passes one, but it stays in cache
    /// and measured ~40 % faster here (17.8 ms vs 29 ms per hash).
    pub fn new(concurrency: usize) -> Self {
        let params = Params::new(7 * 1024, 5, 1, None).expect("static argon2 parameters are valid");
        let decoy =
            hash_with(&params, "decoy-password-not-used").expect("hashing a constant succeeds");
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
            decoy: Arc::new(decoy),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let params = self.params.clone();
        self.on_pool("hash", move || hash_with(&params, &password))
            .await?
    }

    /// Whether `password` matches `hash`; `None` checks against the decoy.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.as_str().to_owned());
        let ok = self
            .on_pool("verify", move || {
                let parsed = PasswordHash::new(&hash).map_err(|e| e.to_string())?;
                Ok::<bool, String>(
                    argon()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await?
            .map_err(ApiError::internal)?;
        Ok(known && ok)
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        metrics::counter!("auth_password_hashes_total", "operation" => op).increment(1);
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }
}

fn argon() -> Argon2<'static> {
    Argon2::default()
}

fn hash_with(params: &Params, password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(2);
        let h = p.hash("Passw0rd!".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{h}");
        assert!(p.verify("Passw0rd!".into(), Some(h.clone())).await.unwrap());
        assert!(!p.verify("wrong".into(), Some(h)).await.unwrap());
        assert!(
            !p.verify("decoy-password-not-used".into(), None)
                .await
                .unwrap()
        );
    }
}
