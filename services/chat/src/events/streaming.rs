//! Who has a room stream open in this process, so `MessageSent` can say which
//! members are watching (notifications skip them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Open streams per (room, user); a user may have several.
#[derive(Default)]
pub struct Streaming {
    open: Mutex<HashMap<(i64, i64), usize>>,
}

impl Streaming {
    fn lock(&self) -> MutexGuard<'_, HashMap<(i64, i64), usize>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a stream as open until the guard is dropped.
    pub fn open(self: &Arc<Self>, room_id: i64, user_id: i64) -> StreamingGuard {
        *self.lock().entry((room_id, user_id)).or_default() += 1;
        StreamingGuard {
            registry: self.clone(),
            key: (room_id, user_id),
        }
    }

    /// Those of `members` with a stream of `room_id` open.
    pub fn watching(&self, room_id: i64, members: &[i64]) -> Vec<i64> {
        let open = self.lock();
        members
            .iter()
            .copied()
            .filter(|user| open.contains_key(&(room_id, *user)))
            .collect()
    }
}

/// One open stream; closing it is dropping it.
pub struct StreamingGuard {
    registry: Arc<Streaming>,
    key: (i64, i64),
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_streams_per_room_and_user() {
        let s = Arc::new(Streaming::default());
        let a = s.open(1, 10);
        let b = s.open(1, 10);
        let _c = s.open(2, 11);
        assert_eq!(s.watching(1, &[10, 11]), vec![10]);
        drop(a);
        assert_eq!(s.watching(1, &[10, 11]), vec![10], "one stream still open");
        drop(b);
        assert!(s.watching(1, &[10, 11]).is_empty());
        assert_eq!(s.watching(2, &[10, 11]), vec![11]);
    }
}
