//! Where the journeys send their requests: one base URL for the all-in-one
//! platform, or one URL per service (the original split deployment, or
//! Banter's services run as separate processes).

use url::Url;

/// The services the journeys talk to: the four of SPEC §2 and posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Users,
    Friends,
    Chat,
    Notifications,
    Posts,
}

/// How many services there are (one URL each).
const SERVICES: usize = 5;

impl Service {
    pub const ALL: [Service; SERVICES] = [
        Service::Users,
        Service::Friends,
        Service::Chat,
        Service::Notifications,
        Service::Posts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Users => "users",
            Service::Friends => "friends",
            Service::Chat => "chat",
            Service::Notifications => "notifications",
            Service::Posts => "posts",
        }
    }

    /// The flag giving this service's own URL.
    pub fn url_flag(self) -> &'static str {
        match self {
            Service::Users => "--users-url",
            Service::Friends => "--friends-url",
            Service::Chat => "--chat-url",
            Service::Notifications => "--notifications-url",
            Service::Posts => "--posts-url",
        }
    }
}

/// The base URL of every service.
#[derive(Debug, Clone)]
pub struct Targets {
    /// `--target-url`, when given.
    pub base: Option<Url>,
    urls: [Url; SERVICES],
}

fn parse(flag: &str, raw: &str) -> Result<Url, String> {
    if !raw.contains("://") {
        return Err(format!(
            "{flag} {raw:?} has no scheme: write it as http://{raw}"
        ));
    }
    let url = Url::parse(raw).map_err(|e| format!("{flag} {raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "{flag} {raw:?} must be an http(s) URL such as http://127.0.0.1:8000"
        ));
    }
    Ok(url)
}

impl Targets {
    /// `base` serves every service unless a per-service URL overrides it;
    /// without `base`, every per-service URL is needed. `per_service` is in
    /// the order of [`Service::ALL`].
    pub fn new(base: Option<&str>, per_service: [Option<&str>; SERVICES]) -> Result<Self, String> {
        let base = base.map(|b| parse("--target-url", b)).transpose()?;
        let mut urls = Vec::with_capacity(SERVICES);
        for (service, url) in Service::ALL.into_iter().zip(per_service) {
            let flag = service.url_flag();
            match (url, &base) {
                (Some(u), _) => urls.push(parse(flag, u)?),
                (None, Some(b)) => urls.push(b.clone()),
                (None, None) => {
                    return Err(format!(
                        "no URL for the {} service: give --target-url URL (all services) or {flag} URL",
                        service.as_str()
                    ));
                }
            }
        }
        let urls: [Url; SERVICES] = urls
            .try_into()
            .map_err(|_| "internal: one URL per service expected".to_owned())?;
        Ok(Self { base, urls })
    }

    /// One URL for everything.
    pub fn single(base: &str) -> Result<Self, String> {
        Self::new(Some(base), [None; SERVICES])
    }

    pub fn service_url(&self, service: Service) -> &Url {
        &self.urls[service as usize]
    }

    /// `path` (starting with `/`) on `service`.
    pub fn url(&self, service: Service, path: &str) -> String {
        let base = self.service_url(service).as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// Every distinct base URL, with the services it serves.
    pub fn distinct(&self) -> Vec<(Url, Vec<Service>)> {
        let mut out: Vec<(Url, Vec<Service>)> = Vec::new();
        for s in Service::ALL {
            let url = self.service_url(s);
            match out.iter_mut().find(|(u, _)| u == url) {
                Some((_, services)) => services.push(s),
                None => out.push((url.clone(), vec![s])),
            }
        }
        out
    }

    /// The URL goose is given as its host (every request carries a full URL anyway).
    pub fn host(&self) -> String {
        self.base
            .clone()
            .unwrap_or_else(|| self.urls[0].clone())
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }
}

/// One line saying why `base` (serving `services`) could not be reached and
/// what to do about it.
pub fn unreachable(base: &str, services: &[&str], err: &reqwest::Error) -> String {
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        // Wrapping errors often repeat their source's text.
        if !chain.contains(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = s.source();
    }
    let which = format!(
        "the {} service{}",
        services.join(", "),
        if services.len() > 1 { "s" } else { "" }
    );
    let tls_to_plain = [
        "InvalidContentType",
        "corrupt message",
        "wrong version number",
    ];
    let what_to_do = if base.starts_with("https://")
        && tls_to_plain.iter().any(|t| chain.contains(t))
    {
        format!(
            "it does not speak TLS; use {}",
            base.replacen("https://", "http://", 1)
        )
    } else if chain.contains("Connection refused") {
        "nothing listens there; start the platform (`banter serve`, http://127.0.0.1:8000) or pass the right --target-url".to_owned()
    } else if err.is_timeout() {
        "no answer within 5 s; is it overloaded, or the wrong address?".to_owned()
    } else {
        format!("{}; check --target-url", chain.replace('\n', " "))
    };
    format!("cannot reach {base} ({which}): {what_to_do}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_serves_every_service_unless_overridden() {
        let t = Targets::new(
            Some("http://127.0.0.1:8000/"),
            [
                None,
                None,
                Some("http://127.0.0.1:8002"),
                None,
                Some("http://127.0.0.1:8006"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.url(Service::Users, "/api/profile/me"),
            "http://127.0.0.1:8000/api/profile/me"
        );
        assert_eq!(
            t.url(Service::Chat, "/api/chat-rooms"),
            "http://127.0.0.1:8002/api/chat-rooms"
        );
        assert_eq!(
            t.url(Service::Posts, "/api/timeline/home"),
            "http://127.0.0.1:8006/api/timeline/home"
        );
        assert_eq!(t.distinct().len(), 3);
    }

    #[test]
    fn missing_or_bad_urls_are_explained() {
        let e = Targets::new(None, [Some("http://a:1"), None, None, None, None]).unwrap_err();
        assert!(e.contains("friends") && e.contains("--friends-url"), "{e}");
        let mut urls = [Some("http://a:1"); SERVICES];
        urls[Service::Posts as usize] = None;
        let e = Targets::new(None, urls).unwrap_err();
        assert!(e.contains("posts") && e.contains("--posts-url"), "{e}");
        let e = Targets::single("localhost:8000").unwrap_err();
        assert!(e.contains("http"), "{e}");
    }
}
