//! Starting any set of modules the way `banter serve` starts them (zero2prod's
//! `spawn_app`): each on a throw-away database, through kit's one runner
//! ([`kit::module::Assembly`]), served on a random port. No test writes the
//! start-up order itself.
//!
//! ```ignore
//! let app = AppBuilder::new(backend)
//!     .module::<Users>(users_config)
//!     .module::<Chat>(chat_config)
//!     .titled::<Chat>()
//!     .assemble().await   // built and subscribed: a test may add probes here
//!     .serve().await;     // relays running, routes served
//! let chat: Arc<Chat> = app.get();
//! ```

use crate::{Backend, ServedApp, TestDb};
use kit::context::Context;
use kit::module::{Assembly, Module, Planned, Started};
use std::sync::Arc;

/// Which modules to start, and on what.
pub struct AppBuilder {
    backend: Backend,
    ctx: Context,
    connections: u32,
    title: (String, &'static str),
    modules: Vec<(Planned, Option<Arc<TestDb>>)>,
    paused: Vec<&'static str>,
    check_openapi: bool,
}

impl AppBuilder {
    /// No modules yet, the embedded context, 4 connections per database.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            ctx: Context::embedded(),
            connections: 4,
            title: ("Banter Platform".to_owned(), "banter"),
            modules: Vec::new(),
            paused: Vec::new(),
            check_openapi: false,
        }
    }

    /// Checks every answer the app's client gets against the app's
    /// `/openapi.json` (documented status, body matching its schema) when
    /// the app is dropped (`crate::openapi`).
    pub fn check_openapi(mut self) -> Self {
        self.check_openapi = true;
        self
    }

    /// Runs the modules on `ctx` (e.g. with its shared state in Redis).
    pub fn context(mut self, ctx: Context) -> Self {
        self.ctx = ctx;
        self
    }

    /// Opens `/admin/faults` to callers presenting `secret` (as
    /// `banter serve --admin-secret` does).
    pub fn admin_secret(mut self, secret: &str) -> Self {
        self.ctx.admin_secret = Some(kit::faults::admin::AdminSecret::new(secret).unwrap());
        self
    }

    /// Pool size of every module's database.
    pub fn connections(mut self, n: u32) -> Self {
        self.connections = n;
        self
    }

    /// `/health` and the infrastructure routes as `M` reports them alone.
    pub fn titled<M: Module>(mut self) -> Self {
        self.title = (M::ABOUT.title(), M::NAME);
        self
    }

    /// Adds `M` on a fresh database of its own.
    pub fn module<M: Module>(mut self, config: M::Config) -> Self {
        self.modules.push((Planned::new::<M>(config), None));
        self
    }

    /// Adds `M` on `db`, which other instances may share (as separate
    /// processes on one database would).
    pub fn module_on<M: Module>(mut self, db: Arc<TestDb>, config: M::Config) -> Self {
        self.modules.push((Planned::new::<M>(config), Some(db)));
        self
    }

    /// Leaves `M`'s outbox unpublished: its events stay in its database.
    pub fn relay_paused<M: Module>(mut self) -> Self {
        self.paused.push(M::NAME);
        self
    }

    /// Builds every module and subscribes every consumer; nothing is
    /// published yet.
    pub async fn assemble(self) -> Assembled {
        let mut dbs = Vec::with_capacity(self.modules.len());
        let mut modules = Vec::with_capacity(self.modules.len());
        for (planned, db) in self.modules {
            let db = match db {
                Some(db) => db,
                None => Arc::new(TestDb::create(self.backend, planned.name()).await),
            };
            modules.push((planned, db.connect(self.connections).await));
            dbs.push(db);
        }
        let assembly = Assembly::build(&self.ctx, modules).await.unwrap();
        Assembled {
            assembly,
            ctx: self.ctx,
            title: self.title,
            paused: self.paused,
            check_openapi: self.check_openapi,
            dbs,
        }
    }

    /// [`AppBuilder::assemble`] and [`Assembled::serve`] at once.
    pub async fn serve(self) -> SpawnedApp {
        self.assemble().await.serve().await
    }
}

/// Modules built and subscribed; relays not yet started.
pub struct Assembled {
    assembly: Assembly,
    ctx: Context,
    title: (String, &'static str),
    paused: Vec<&'static str>,
    check_openapi: bool,
    dbs: Vec<Arc<TestDb>>,
}

impl Assembled {
    /// The context the modules share (its bus, for the test's own probes).
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// Starts the relays and serves every module's routes on a random port.
    pub async fn serve(self) -> SpawnedApp {
        let running = self.assembly.start_except(&self.paused);
        let router = running.router(&self.title.0, self.title.1, Vec::new());
        let served = if self.check_openapi {
            ServedApp::start_checked(router, self.ctx).await
        } else {
            ServedApp::start(router, self.ctx).await
        };
        SpawnedApp {
            served,
            running,
            _dbs: self.dbs,
        }
    }
}

/// The modules running and served. Derefs to the served app (`app.get(..)`
/// for HTTP, `app.ctx`); dropping it signals shutdown before the databases
/// go.
pub struct SpawnedApp {
    pub served: ServedApp,
    running: Started,
    _dbs: Vec<Arc<TestDb>>,
}

impl SpawnedApp {
    /// The running module `M`.
    pub fn module<M: Module>(&self) -> Arc<M> {
        self.running
            .get::<M>()
            .unwrap_or_else(|| panic!("{} is not part of this app", M::NAME))
    }
}

impl std::ops::Deref for SpawnedApp {
    type Target = ServedApp;

    fn deref(&self) -> &ServedApp {
        &self.served
    }
}
