//! qdrant-engine: a Qdrant-protocol gRPC server on Qdrant's own storage
//! engine, the qdrant-edge library (segments, WAL, HNSW and payload indexes,
//! optimizers). It serves the part of Qdrant's API VectorStream's pipeline,
//! harness and users' search code need; every other method answers
//! UNIMPLEMENTED. It is not a Qdrant server: there is no REST API, no
//! cluster, no snapshots, one shard per collection.
//!
//! Usage: qdrant-engine --storage DIR [--grpc-addr HOST:PORT]
//!        [--metrics-addr HOST:PORT] [--version V]
//!
//! When both listeners are bound it prints one JSON line on standard output,
//! {"grpc":"…","metrics":"…","engine":"qdrant-edge 0.7.0"}, and logs to
//! standard error. SIGTERM or SIGINT stops it after flushing every
//! collection.

mod collections;
mod convert;
mod metrics;
mod points;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tonic::{Request, Response, Status};

/// Qdrant's server allocator (see Cargo.toml).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The gRPC types and services, generated from Qdrant's .proto files.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("qdrant");
}

/// The qdrant-edge version this server is built on (Cargo.toml pins it).
pub const ENGINE: &str = "qdrant-edge 0.7.0";

/// Max gRPC message size in both directions, as the Go stand-in's.
const MAX_MESSAGE: usize = 64 << 20;

pub fn unimplemented(method: &str) -> Status {
    Status::unimplemented(format!(
        "{method} is not served by VectorStream's engine server ({ENGINE}); see infra/qdrant-engine/README.md"
    ))
}

struct Health {
    version: String,
}

#[tonic::async_trait]
impl proto::qdrant_server::Qdrant for Health {
    async fn health_check(&self, _: Request<proto::HealthCheckRequest>) -> Result<Response<proto::HealthCheckReply>, Status> {
        Ok(Response::new(proto::HealthCheckReply {
            title: format!("qdrant-engine - VectorStream's gRPC server on {ENGINE} (Qdrant's storage engine), not a Qdrant server"),
            version: self.version.clone(),
            commit: None,
        }))
    }
}

struct Args {
    storage: PathBuf,
    grpc: String,
    metrics: String,
    version: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        storage: PathBuf::new(),
        grpc: "127.0.0.1:6334".into(),
        metrics: "127.0.0.1:0".into(),
        // The official clients warn unless the server's major version matches
        // theirs and the minor is at most one apart: report the API version of
        // the .proto files served (go-client v1.17.1).
        version: "1.17.1".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--storage" => a.storage = PathBuf::from(val()?),
            "--grpc-addr" => a.grpc = val()?,
            "--metrics-addr" => a.metrics = val()?,
            "--version" => a.version = val()?,
            "-h" | "--help" => return Err("usage: qdrant-engine --storage DIR [--grpc-addr HOST:PORT] [--metrics-addr HOST:PORT] [--version V]".into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.storage.as_os_str().is_empty() {
        return Err("--storage is required".into());
    }
    Ok(a)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

#[tokio::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(
        // qdrant-edge warns that the server's feature flags and mmap check were
        // never initialised: both are Qdrant-server start-up steps it does not
        // export, and their defaults are the ones a server starts with.
        "warn,qdrant_edge::common::flags=error,qdrant_edge::common::mmap::ops=error",
    )).init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("qdrant-engine: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("qdrant-engine: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let metrics = metrics::Metrics::new();
    let reg = Arc::new(store::Registry::open(&args.storage, metrics.clone())?);

    let grpc = tokio::net::TcpListener::bind(&args.grpc).await.map_err(|e| format!("listen {}: {e}", args.grpc))?;
    let grpc_addr: SocketAddr = grpc.local_addr().map_err(|e| e.to_string())?;
    let mlis = tokio::net::TcpListener::bind(&args.metrics).await.map_err(|e| format!("listen {}: {e}", args.metrics))?;
    let metrics_addr = mlis.local_addr().map_err(|e| e.to_string())?;

    let (mreg, mm) = (reg.clone(), metrics.clone());
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(move || {
            let (r, m) = (mreg.clone(), mm.clone());
            async move { tokio::task::spawn_blocking(move || m.render(&r)).await.unwrap_or_default() }
        }))
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(mlis, app).await {
            log::error!("metrics server: {e}");
        }
    });

    let points = proto::points_server::PointsServer::new(points::PointsService { reg: reg.clone(), metrics: metrics.clone() })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let colls = proto::collections_server::CollectionsServer::new(collections::CollectionsService { reg: reg.clone() })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let health = proto::qdrant_server::QdrantServer::new(Health { version: args.version.clone() });

    println!(
        "{}",
        serde_json::json!({ "grpc": grpc_addr.to_string(), "metrics": metrics_addr.to_string(), "engine": ENGINE })
    );
    let incoming = tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .layer(metrics::Layer(metrics.clone()))
        .add_service(health)
        .add_service(colls)
        .add_service(points)
        .serve_with_incoming_shutdown(incoming, shutdown_signal())
        .await
        .map_err(|e| format!("serve: {e}"))?;
    let r = reg.clone();
    tokio::task::spawn_blocking(move || r.shutdown()).await.map_err(|e| e.to_string())?;
    Ok(())
}
