//! Revoked tokens (`revoked_tokens`): what logout wrote, so a restart can
//! hand it back to the process's denylist. A row lives until its token
//! would have expired anyway.

use super::{SERVICE, SqlUserStore};
use kit::db::{query, query_as, timed};

impl SqlUserStore {
    /// Remembers that token `jti`, valid until `expires_at` (Unix seconds),
    /// is revoked. Revoking twice is fine.
    pub async fn revoke(&self, jti: &str, expires_at: i64) -> sqlx::Result<()> {
        timed(
            SERVICE,
            "insert_revocation",
            query(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(expires_at)
            .execute(&self.db),
        )
        .await?;
        Ok(())
    }

    /// The revocations of tokens that have not expired at `now` (Unix
    /// seconds): `(jti, expires_at)`.
    pub async fn revocations(&self, now: i64) -> sqlx::Result<Vec<(String, i64)>> {
        timed(
            SERVICE,
            "select_revocations",
            query_as("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > $1")
                .bind(now)
                .fetch_all(&self.db),
        )
        .await
    }

    /// Forgets revocations of tokens expired at `now`; how many.
    pub async fn prune_revocations(&self, now: i64) -> sqlx::Result<u64> {
        timed(
            SERVICE,
            "prune_revocations",
            query("DELETE FROM revoked_tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.db),
        )
        .await
    }
}
