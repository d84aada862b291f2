//! What a step sends: the step (journey, name, service) and the requests it
//! builds for [`super::Ctx::call`].

use goose::prelude::GooseMethod;
use serde_json::Value;

use crate::recorder::StepId;
use crate::target::Service;

/// A request body.
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// One step of a journey against one service: the requests it builds are
/// measured and recorded under the journey's and the step's names.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub id: StepId,
    pub service: Service,
}

impl Step {
    pub fn new(journey: &'static str, name: &'static str, service: Service) -> Self {
        Self {
            id: StepId {
                journey,
                name,
                service: Some(service.as_str()),
            },
            service,
        }
    }

    /// The step's request: `method` on `path`, without a token or a body,
    /// expecting `expect`.
    pub fn request(self, method: GooseMethod, path: impl Into<String>, expect: u16) -> Req {
        Req {
            step: self,
            method,
            path: path.into(),
            token: None,
            body: Body::None,
            expect,
        }
    }

    /// A GET with `token`, expecting 200.
    pub fn get(self, path: impl Into<String>, token: &str) -> Req {
        self.bodiless(GooseMethod::Get, path, token, 200)
    }

    /// A request whose path says it all (a GET, a DELETE, a like).
    pub fn bodiless(
        self,
        method: GooseMethod,
        path: impl Into<String>,
        token: &str,
        expect: u16,
    ) -> Req {
        Req {
            token: Some(token.to_owned()),
            ..self.request(method, path, expect)
        }
    }

    /// A request with a JSON body.
    pub fn send(
        self,
        method: GooseMethod,
        path: impl Into<String>,
        token: Option<&str>,
        body: Value,
        expect: u16,
    ) -> Req {
        Req {
            token: token.map(str::to_owned),
            body: Body::Json(body),
            ..self.request(method, path, expect)
        }
    }
}

/// One HTTP request of a step.
pub struct Req {
    pub step: Step,
    pub method: GooseMethod,
    pub path: String,
    pub token: Option<String>,
    pub body: Body,
    pub expect: u16,
}
