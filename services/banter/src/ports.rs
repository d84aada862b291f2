//! Checks a port the user asked for before anything is started on it.

use std::net::{Ipv4Addr, TcpListener};

/// `Err(one line saying what to do)` when another process listens on
/// 127.0.0.1:`port`; the demo would otherwise drive its load into that server.
pub fn ensure_free(port: u16) -> Result<(), String> {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(format!(
            "the platform did not start: port {port} is already in use by another process; pick another --port, or leave it out for a free one"
        )),
        Err(e) => Err(format!(
            "the platform did not start: cannot listen on 127.0.0.1:{port} ({e}); pick another --port"
        )),
    }
}

/// Where the demo serves the load generator's client-side metrics: the port
/// deploy/prometheus.yml's `loadgen` job scrapes, or a free one when that is taken.
pub const CLIENT_METRICS_PORT: u16 = 9105;

/// `requested`, or [`CLIENT_METRICS_PORT`] when free, or any free port.
pub fn client_metrics_port(requested: Option<u16>) -> std::io::Result<u16> {
    if let Some(port) = requested {
        return Ok(port);
    }
    match TcpListener::bind((Ipv4Addr::LOCALHOST, CLIENT_METRICS_PORT)) {
        Ok(_) => Ok(CLIENT_METRICS_PORT),
        Err(_) => Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port()),
    }
}
