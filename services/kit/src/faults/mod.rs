//! Fault injection: the registry of faults switched on in this process, and
//! the probes kit's own layers ask (database calls, the HTTP layer, the outbox
//! relay, consumers, the Redis adapter), so every service gets every fault
//! without code of its own. Everything is off by default; a probe costs one
//! atomic load while nothing is on.
//!
//! A fault is switched on through [`Faults::switch_on`] — by `banter serve
//! --fault`, by the admin endpoint ([`admin`]) or by an experiment runner — and
//! off by [`Faults::switch_off`] or when its duration runs out. Start and end
//! each log one line (`fault started` / `fault ended`, with kind, service and
//! parameters) and set the gauge `fault_active{fault,service}` to 1 / 0;
//! requests and events a fault touched carry the span attribute
//! `fault=<kind>`.
//!
//! `kill-instance` is not here: a process cannot kill and restart itself;
//! it belongs to the split deployment's tooling.

pub mod admin;
mod effects;
mod http;
mod spec;

pub use http::{inject_http, touched, tracked};
pub use spec::{Dependency, FLAG_SYNTAX, Fault, FaultSpec, Kind, Latency, ParseError, parse_flag};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The faults of one process (shared by its services). Cheap to clone.
#[derive(Clone, Default)]
pub struct Faults(Arc<Registry>);

#[derive(Default)]
struct Registry {
    /// How many faults are on: the probes' fast path.
    on: AtomicUsize,
    next_id: AtomicU64,
    faults: Mutex<Vec<Entry>>,
    /// The services of this process; faults for others are refused.
    services: Mutex<Vec<&'static str>>,
    /// Whether the process uses Redis (else `dependency-down` has nothing to take).
    redis: std::sync::atomic::AtomicBool,
}

struct Entry {
    view: ActiveFault,
    spec: FaultSpec,
    /// Ends the duration timer when the fault is switched off earlier.
    ended: CancellationToken,
    _effect: Option<effects::Effect>,
}

/// A fault that is on, as the admin endpoint lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveFault {
    pub id: u64,
    #[schema(value_type = String, example = "http-errors")]
    pub kind: Kind,
    pub service: String,
    /// Its parameters, in the `key=value` syntax of `--fault`.
    pub params: BTreeMap<String, String>,
    pub started_at: DateTime<Utc>,
    /// When it switches itself off (none: when switched off).
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("this process runs no service `{service}`; it runs {known}")]
    UnknownService { service: String, known: String },
    #[error(
        "this process does not use Redis (no --redis-url): dependency-down has nothing to take down"
    )]
    NoRedis,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("on", &self.0.on.load(Ordering::Relaxed))
            .finish()
    }
}

impl Faults {
    /// Declares a service of this process (the runner does, per module).
    pub fn serves(&self, service: &'static str) {
        let mut services = lock(&self.0.services);
        if !services.contains(&service) {
            services.push(service);
        }
    }

    /// Declares that the process keeps shared state in Redis (the context
    /// does when it connects).
    pub fn uses_redis(&self) {
        self.0.redis.store(true, Ordering::Relaxed);
    }

    /// Whether a fault for `service` may be switched on here.
    pub fn check_service(&self, service: &str) -> Result<(), FaultError> {
        let services = lock(&self.0.services);
        if services.is_empty() || services.contains(&service) {
            return Ok(());
        }
        Err(FaultError::UnknownService {
            service: service.to_owned(),
            known: services.join(", "),
        })
    }

    /// Switches `spec` on (and off again after its duration, if it has one).
    pub fn switch_on(&self, spec: FaultSpec) -> Result<ActiveFault, FaultError> {
        self.check_service(&spec.service)?;
        if matches!(spec.fault, Fault::DependencyDown { .. })
            && !self.0.redis.load(Ordering::Relaxed)
        {
            return Err(FaultError::NoRedis);
        }
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let kind = spec.fault.kind();
        let started_at = Utc::now();
        let view = ActiveFault {
            id,
            kind,
            service: spec.service.clone(),
            params: spec
                .fault
                .params()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            started_at,
            ends_at: spec
                .duration
                .and_then(|d| chrono::TimeDelta::from_std(d).ok())
                .map(|d| started_at + d),
        };
        let effect = match spec.fault {
            Fault::CpuStarvation { threads } => Some(effects::burn_cpu(threads)),
            Fault::MemoryGrowth { mb_per_sec, max_mb } => {
                Some(effects::grow_memory(mb_per_sec, max_mb))
            }
            _ => None,
        };
        let ended = CancellationToken::new();
        if let Some(duration) = spec.duration {
            self.end_after(id, duration, ended.clone());
        }
        tracing::warn!(
            fault = %kind,
            service = %spec.service,
            fault_id = id,
            params = %params_line(&view.params),
            duration_secs = spec.duration.map(|d| d.as_secs_f64()),
            "fault started"
        );
        {
            let mut faults = lock(&self.0.faults);
            faults.push(Entry {
                view: view.clone(),
                spec,
                ended,
                _effect: effect,
            });
            self.0.on.store(faults.len(), Ordering::Release);
            set_gauge(&faults, kind, &view.service);
        }
        Ok(view)
    }

    /// Switches fault `id` off; `None` when no such fault is on.
    pub fn switch_off(&self, id: u64) -> Option<ActiveFault> {
        self.end_where(|e| e.view.id == id).into_iter().next()
    }

    /// Switches off every fault of `kind` (any, when `None`) on `service`
    /// (any, when `None`); what was switched off.
    pub fn switch_off_matching(
        &self,
        kind: Option<Kind>,
        service: Option<&str>,
    ) -> Vec<ActiveFault> {
        self.end_where(|e| {
            kind.is_none_or(|k| e.view.kind == k) && service.is_none_or(|s| e.view.service == s)
        })
    }

    /// Every fault that is on.
    pub fn active(&self) -> Vec<ActiveFault> {
        lock(&self.0.faults)
            .iter()
            .map(|e| e.view.clone())
            .collect()
    }

    /// Switches every fault off when `shutdown` fires (burner threads and
    /// retained memory must not outlive the services).
    /// The task is one of `tasks`, so the process waits for it on its way out.
    pub fn end_on(&self, shutdown: CancellationToken, tasks: &tokio_util::task::TaskTracker) {
        let weak = Arc::downgrade(&self.0);
        tasks.spawn(async move {
            shutdown.cancelled().await;
            if let Some(registry) = weak.upgrade() {
                Faults(registry).switch_off_matching(None, None);
            }
        });
    }

    fn end_after(&self, id: u64, duration: Duration, ended: CancellationToken) {
        let weak: Weak<Registry> = Arc::downgrade(&self.0);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                fault_id = id,
                "no runtime: the fault's duration cannot be enforced"
            );
            return;
        };
        rt.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(duration) => {
                    if let Some(registry) = weak.upgrade() {
                        Faults(registry).switch_off(id);
                    }
                }
                () = ended.cancelled() => {}
            }
        });
    }

    fn end_where(&self, pick: impl Fn(&Entry) -> bool) -> Vec<ActiveFault> {
        let ended: Vec<Entry> = {
            let mut faults = lock(&self.0.faults);
            let (ended, kept): (Vec<Entry>, Vec<Entry>) = faults.drain(..).partition(|e| pick(e));
            *faults = kept;
            self.0.on.store(faults.len(), Ordering::Release);
            for e in &ended {
                set_gauge(&faults, e.view.kind, &e.view.service);
            }
            ended
        };
        ended
            .into_iter()
            .map(|e| {
                e.ended.cancel();
                tracing::info!(
                    fault = %e.view.kind,
                    service = %e.view.service,
                    fault_id = e.view.id,
                    params = %params_line(&e.view.params),
                    active_secs = (Utc::now() - e.view.started_at).as_seconds_f64(),
                    "fault ended"
                );
                // Dropping the entry stops its effect.
                e.view
            })
            .collect()
    }

    /// The first fault that is on and `pick`s, as `f` maps it.
    fn find<T>(&self, f: impl Fn(&FaultSpec) -> Option<T>) -> Option<T> {
        if self.0.on.load(Ordering::Acquire) == 0 {
            return None;
        }
        lock(&self.0.faults).iter().find_map(|e| f(&e.spec))
    }

    /// Extra latency for one database call of `service`, if a fault adds some.
    pub fn db_delay(&self, service: &str) -> Option<Duration> {
        self.find(|s| match s.fault {
            Fault::DbLatency { latency, share } if s.service == service && hit(share) => {
                Some(latency.draw())
            }
            _ => None,
        })
    }

    /// Whether this request to `service`'s `route` (template) must fail.
    pub fn http_error(&self, service: &str, route: &str) -> bool {
        self.find(|s| match &s.fault {
            Fault::HttpErrors { share, route: only }
                if s.service == service
                    && only.as_deref().is_none_or(|r| r == route)
                    && hit(*share) =>
            {
                Some(())
            }
            _ => None,
        })
        .is_some()
    }

    /// Extra latency for this request to `service`'s `route` (template), if
    /// an `http-latency` fault adds some.
    pub fn http_delay(&self, service: &str, route: &str) -> Option<Duration> {
        self.find(|s| match &s.fault {
            Fault::HttpLatency {
                latency,
                share,
                route: only,
            } if s.service == service
                && only.as_deref().is_none_or(|r| r == route)
                && hit(*share) =>
            {
                Some(latency.draw())
            }
            _ => None,
        })
    }

    /// Whether `service`'s outbox relay must hold its events.
    pub fn bus_stalled(&self, service: &str) -> bool {
        self.find(|s| (s.service == service && s.fault == Fault::BusStall).then_some(()))
            .is_some()
    }

    /// Whether `service`'s consumer of `topic` in `group` must fail this event.
    pub fn consumer_fails(&self, service: &str, topic: &str, group: &str) -> bool {
        self.find(|s| match &s.fault {
            Fault::ConsumerFailures { share, consumer }
                if s.service == service
                    && consumer.as_deref().is_none_or(|c| c == topic || c == group)
                    && hit(*share) =>
            {
                Some(())
            }
            _ => None,
        })
        .is_some()
    }

    /// Whether `dependency` is to be treated as unreachable. The process
    /// shares one connection to it, so every service of the process sees it
    /// down, whichever the fault names.
    pub fn dependency_down(&self, dependency: Dependency) -> bool {
        self.find(|s| match s.fault {
            Fault::DependencyDown { dependency: d } if d == dependency => Some(()),
            _ => None,
        })
        .is_some()
    }
}

fn hit(share: f64) -> bool {
    share >= 1.0 || (share > 0.0 && rand::random::<f64>() < share)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn params_line(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `fault_active{fault,service}`: 1 while a fault of that kind is on for
/// that service, else 0.
fn set_gauge(faults: &[Entry], kind: Kind, service: &str) {
    let on = faults
        .iter()
        .any(|e| e.view.kind == kind && e.view.service == service);
    metrics::gauge!("fault_active", "fault" => kind.as_str(), "service" => service.to_owned())
        .set(if on { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests;
