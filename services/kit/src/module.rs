//! The service module contract and the one runner that brings modules up, in
//! the manner of Grafana Loki/Mimir's module manager: a service declares what
//! it is (name, port, migrations, typed config), how it builds from the shared
//! dependencies, its routes and its consumers — and nothing about start-up
//! order. [`Assembly`] does, for every module the same way, whether `banter
//! serve` runs one of them or all, or a test runs two:
//!
//! 1. migrations of the kit's event tables (outbox, processed events);
//! 2. the module's own migrations ([`About::migrations`]), then
//!    [`Module::build`];
//! 3. every consumer of every module subscribes before any relay publishes,
//!    so no service misses another's first events;
//! 4. ([`Assembly::start`]) the outbox relays and the modules' own background
//!    work start;
//! 5. ([`Started::router`]) each module's routes behind the `observe`
//!    telemetry layer (and the `http-errors` fault layer) with its database
//!    readiness check and pool metrics, plus `/admin/faults` when an admin
//!    secret is configured;
//! 6. ([`Started::close`]) after the server drained and the context stopped,
//!    the databases close.

use crate::context::Context;
use crate::db::{Database, Migrations};
use crate::events::{ConsumerSpec, Handler, Relay};
use crate::health::{Check, DatabaseCheck};
use crate::platform::{Platform, Service};
use async_trait::async_trait;
use axum::Router;
use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use utoipa::openapi::OpenApi;

/// Any error a module's build may end with.
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// What a module is given to build itself.
pub struct Deps<'a> {
    /// The module's own database (its event tables already migrated); its
    /// units of work wake the module's outbox relay when they commit.
    pub db: Database,
    /// What every module of the process shares: bus, verifier, Redis, ...
    pub ctx: &'a Context,
}

/// A consumer a module declares: which topic, and who handles its events.
pub struct Consumer {
    topic: &'static str,
    kind: ConsumerKind,
    handler: Arc<dyn Handler>,
}

enum ConsumerKind {
    /// A consumer group (`group`) that dedupes through the module's database
    /// and starts from the earliest retained event.
    Durable { group: String },
    /// This process only, from now on (e.g. feeding SSE connections).
    Live { purpose: &'static str },
}

impl Consumer {
    pub fn durable(topic: &'static str, group: &str, handler: Arc<dyn Handler>) -> Self {
        Self {
            topic,
            kind: ConsumerKind::Durable {
                group: group.to_owned(),
            },
            handler,
        }
    }

    pub fn live(topic: &'static str, purpose: &'static str, handler: Arc<dyn Handler>) -> Self {
        Self {
            topic,
            kind: ConsumerKind::Live { purpose },
            handler,
        }
    }
}

/// Who a module is: what the runner and `banter serve` need to know of it
/// besides its config.
#[derive(Clone, Copy)]
pub struct About {
    /// The `service` label, database name and event source (`users`).
    pub name: &'static str,
    /// Its port when it runs alone (SPEC §2).
    pub port: u16,
    /// Its tables' migrations (`|| kit::migrations!()`), run before `build`.
    pub migrations: fn() -> Migrations,
}

impl About {
    pub const fn new(name: &'static str, port: u16, migrations: fn() -> Migrations) -> Self {
        Self {
            name,
            port,
            migrations,
        }
    }

    /// What `/health` says when the module runs alone: "Users Service".
    pub fn title(&self) -> String {
        title_of(self.name)
    }
}

/// "Users Service" for `users`.
pub fn title_of(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_uppercase().to_string());
    format!("{}{} Service", first.unwrap_or_default(), chars.as_str())
}

/// A service of the platform.
pub trait Module: Send + Sync + Sized + 'static {
    /// Its name, port and migrations.
    const ABOUT: About;
    /// Its name (`ABOUT.name`), for short.
    const NAME: &'static str = Self::ABOUT.name;
    /// Its settings, flattened into `banter serve`'s flags.
    type Config: clap::Args + clap::FromArgMatches + Clone + Send + Sync + 'static;

    /// Builds the module's shared state (its tables are up to date).
    fn build(
        config: &Self::Config,
        deps: Deps<'_>,
    ) -> impl Future<Output = Result<Arc<Self>, BuildError>> + Send;

    /// Its HTTP routes (not yet observed) and their OpenAPI description.
    fn routes(self: &Arc<Self>) -> (Router, OpenApi);

    /// The events it consumes.
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        Vec::new()
    }

    /// Background work besides consumers and the relay (sweepers, ...);
    /// tasks go on `ctx.tasks` and end on `ctx.shutdown`.
    fn start(self: &Arc<Self>, _ctx: &Context) {}
}

/// A module with its configuration, ready to build: one row of a process's
/// module table.
pub struct Planned {
    name: &'static str,
    build: Box<dyn Buildable>,
}

impl Planned {
    pub fn new<M: Module>(config: M::Config) -> Self {
        Self {
            name: M::NAME,
            build: Box::new(Pending::<M>(config)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A row of `banter serve`'s module table: how to add the module's flags to
/// the command line and plan it from the parsed flags.
#[derive(Clone, Copy)]
pub struct Registration {
    pub name: &'static str,
    pub port: u16,
    /// Adds the module's flags to a command.
    pub augment: fn(clap::Command) -> clap::Command,
    /// Reads the module's config back from the parsed flags.
    pub plan: fn(&clap::ArgMatches) -> Result<Planned, clap::Error>,
}

impl Registration {
    /// What `/health` says when the module runs alone.
    pub fn title(&self) -> String {
        title_of(self.name)
    }

    pub const fn of<M: Module>() -> Self {
        Self {
            name: M::NAME,
            port: M::ABOUT.port,
            augment: <M::Config as clap::Args>::augment_args,
            plan: |matches| {
                <M::Config as clap::FromArgMatches>::from_arg_matches(matches)
                    .map(Planned::new::<M>)
            },
        }
    }
}

#[async_trait]
trait Buildable: Send {
    async fn build(self: Box<Self>, deps: Deps<'_>) -> Result<Box<dyn Running>, BuildError>;
}

struct Pending<M: Module>(M::Config);

#[async_trait]
impl<M: Module> Buildable for Pending<M> {
    async fn build(self: Box<Self>, deps: Deps<'_>) -> Result<Box<dyn Running>, BuildError> {
        deps.db.migrate((M::ABOUT.migrations)()).await?;
        let module = M::build(&self.0, deps).await?;
        Ok(Box::new(module))
    }
}

/// A built module, type-erased for the runner.
trait Running: Send + Sync {
    fn consumers(&self) -> Vec<Consumer>;
    fn start(&self, ctx: &Context);
    fn routes(&self) -> (Router, OpenApi);
    fn any(&self) -> Arc<dyn Any + Send + Sync>;
}

impl<M: Module> Running for Arc<M> {
    fn consumers(&self) -> Vec<Consumer> {
        Module::consumers(self)
    }
    fn start(&self, ctx: &Context) {
        Module::start(self, ctx);
    }
    fn routes(&self) -> (Router, OpenApi) {
        Module::routes(self)
    }
    fn any(&self) -> Arc<dyn Any + Send + Sync> {
        self.clone()
    }
}

struct Member {
    name: &'static str,
    db: Database,
    /// Taken when the relay starts.
    relay: Option<Relay>,
    module: Box<dyn Running>,
}

#[derive(Debug, thiserror::Error)]
// The cause is part of each message and deliberately not a `source`: error
// reporters that print the chain (`{:#}`) would otherwise say it twice.
pub enum AssemblyError {
    #[error("{module} database (event tables): {cause}")]
    Events {
        module: &'static str,
        cause: sqlx::migrate::MigrateError,
    },
    #[error("starting {module}: {cause}")]
    Build {
        module: &'static str,
        cause: BuildError,
    },
    #[error("subscribing {module} to {topic}: {cause}")]
    Subscribe {
        module: &'static str,
        topic: &'static str,
        cause: crate::events::BusError,
    },
}

/// Modules built and subscribed, relays not yet running. A test may
/// subscribe probes of its own here, before anything is published.
pub struct Assembly {
    ctx: Context,
    members: Vec<Member>,
}

impl Assembly {
    /// Builds every module on its database, then subscribes every consumer.
    pub async fn build(
        ctx: &Context,
        modules: Vec<(Planned, Database)>,
    ) -> Result<Self, AssemblyError> {
        let mut members = Vec::with_capacity(modules.len());
        for (planned, db) in modules {
            let name = planned.name;
            crate::events::migrate(&db)
                .await
                .map_err(|source| AssemblyError::Events {
                    module: name,
                    cause: source,
                })?;
            let relay = Relay::new(db.clone(), ctx.bus.clone(), name);
            ctx.faults.serves(name);
            let db = db
                .with_outbox(relay.handle())
                .with_faults(ctx.faults.clone(), name);
            let deps = Deps {
                db: db.clone(),
                ctx,
            };
            let module =
                planned
                    .build
                    .build(deps)
                    .await
                    .map_err(|source| AssemblyError::Build {
                        module: name,
                        cause: source,
                    })?;
            members.push(Member {
                name,
                db,
                relay: Some(relay),
                module,
            });
        }
        for member in &members {
            for consumer in member.module.consumers() {
                let spec = match consumer.kind {
                    ConsumerKind::Durable { group } => ConsumerSpec::durable(
                        member.name,
                        consumer.topic,
                        &group,
                        member.db.clone(),
                    ),
                    ConsumerKind::Live { purpose } => {
                        ConsumerSpec::live(member.name, consumer.topic, purpose)
                    }
                };
                spec.spawn(ctx, consumer.handler).await.map_err(|source| {
                    AssemblyError::Subscribe {
                        module: member.name,
                        topic: consumer.topic,
                        cause: source,
                    }
                })?;
            }
        }
        Ok(Self {
            ctx: ctx.clone(),
            members,
        })
    }

    /// Starts every relay (but those of `paused` modules, whose events stay
    /// in their outboxes) and every module's background work.
    pub fn start_except(self, paused: &[&str]) -> Started {
        let mut modules = self.members;
        self.ctx
            .faults
            .end_on(self.ctx.shutdown.clone(), &self.ctx.tasks);
        for member in &mut modules {
            if let Some(relay) = member.relay.take() {
                relay.paused(paused.contains(&member.name)).spawn(&self.ctx);
            }
            member.module.start(&self.ctx);
        }
        Started {
            ctx: self.ctx,
            modules,
        }
    }

    /// Starts every relay and every module's background work.
    pub fn start(self) -> Started {
        self.start_except(&[])
    }
}

/// Modules running: their router, their handles for tests, their databases.
pub struct Started {
    ctx: Context,
    modules: Vec<Member>,
}

impl Started {
    /// One HTTP application of every module: its routes observed under its
    /// name, its database in `/ready` and in the pool metrics, plus the
    /// context's own checks (Redis, Kafka, ...) and `extra` ones.
    pub fn router(&self, title: &str, label: &'static str, extra: Vec<Arc<dyn Check>>) -> Router {
        let mut platform = Platform::new(title, label);
        for check in self.ctx.checks().into_iter().chain(extra) {
            platform = platform.check(check);
        }
        for m in &self.modules {
            let (name, db) = (m.name, m.db.clone());
            crate::telemetry::metrics::on_scrape(move || db.record_pool_metrics(name));
            let (router, openapi) = m.module.routes();
            let router = crate::faults::inject_http(router, name, self.ctx.faults.clone());
            platform = platform.with(Service {
                name,
                router: crate::http::observe(router, name),
                openapi,
                checks: vec![Arc::new(DatabaseCheck {
                    name: format!("{name}_db"),
                    db: m.db.clone(),
                })],
            });
        }
        if let Some(secret) = &self.ctx.admin_secret {
            platform = platform.internal(crate::faults::admin::router(
                self.ctx.faults.clone(),
                secret.clone(),
            ));
        }
        platform.into_router()
    }

    /// The running module of type `M`, if this process runs it.
    pub fn get<M: Module>(&self) -> Option<Arc<M>> {
        self.modules
            .iter()
            .find(|m| m.name == M::NAME)
            .and_then(|m| m.module.any().downcast::<M>().ok())
    }

    /// Closes every module's database (after the context has stopped).
    pub async fn close(&self) {
        for m in &self.modules {
            m.db.close().await;
        }
    }
}
