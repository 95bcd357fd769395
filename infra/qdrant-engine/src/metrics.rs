//! The server's own Prometheus metrics: requests and their latency per gRPC
//! method (a tower layer, so every service is counted the same way), points
//! written, optimizer runs, and per collection the points, indexed vectors,
//! segments and update queue read from the engine at scrape time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::store;

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub points_upserted: IntCounter,
    pub update_errors: IntCounter,
    pub flush_errors: IntCounter,
    pub flush_seconds: Counter,
    pub optimizer_runs: IntCounter,
    pub optimizer_errors: IntCounter,
    pub optimizer_seconds: Counter,
    points: IntGaugeVec,
    indexed: IntGaugeVec,
    segments: IntGaugeVec,
    queue: IntGaugeVec,
    optimizing: IntGaugeVec,
    wal: IntGaugeVec,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    r.expect("metric definitions are static and valid")
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new_custom(Some("qdrant_engine".into()), None).expect("registry");
        let counter = |name: &str, help: &str| {
            let c = must(IntCounter::new(name, help));
            must(registry.register(Box::new(c.clone())));
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = must(IntGaugeVec::new(Opts::new(name, help), &["collection"]));
            must(registry.register(Box::new(g.clone())));
            g
        };
        let requests = must(IntCounterVec::new(
            Opts::new("grpc_requests_total", "gRPC requests by method and status code"),
            &["method", "code"],
        ));
        must(registry.register(Box::new(requests.clone())));
        let latency = must(HistogramVec::new(
            HistogramOpts::new("grpc_request_duration_seconds", "gRPC request latency by method")
                .buckets(prometheus::exponential_buckets(0.0001, 2.0, 18).expect("buckets")),
            &["method"],
        ));
        must(registry.register(Box::new(latency.clone())));
        let optimizer_seconds = must(Counter::new("optimizer_seconds_total", "time spent in optimizer passes that changed segments"));
        must(registry.register(Box::new(optimizer_seconds.clone())));
        let flush_seconds = must(Counter::new("flush_seconds_total", "time spent flushing segments and truncating the WAL (writes wait meanwhile)"));
        must(registry.register(Box::new(flush_seconds.clone())));
        Arc::new(Metrics {
            requests,
            latency,
            points_upserted: counter("points_upserted_total", "points received in upserts"),
            update_errors: counter("update_errors_total", "updates the engine refused"),
            flush_errors: counter("flush_errors_total", "flushes that failed"),
            flush_seconds,
            optimizer_runs: counter("optimizer_runs_total", "optimizer passes that changed segments (indexing, merging, vacuum)"),
            optimizer_errors: counter("optimizer_errors_total", "optimizer passes that failed"),
            optimizer_seconds,
            points: gauge("collection_points", "points in the collection"),
            indexed: gauge("collection_indexed_vectors", "vectors in HNSW-indexed segments"),
            segments: gauge("collection_segments", "segments of the collection"),
            queue: gauge("collection_update_queue", "writes queued and not yet applied"),
            optimizing: gauge("collection_optimizing", "1 while an optimizer pass runs"),
            wal: gauge("collection_wal_bytes", "bytes of the collection's WAL files on disk"),
            registry,
        })
    }

    /// The text exposition of every metric, collection gauges read now.
    pub fn render(&self, reg: &store::Registry) -> String {
        for g in [&self.points, &self.indexed, &self.segments, &self.queue, &self.optimizing, &self.wal] {
            g.reset();
        }
        for c in reg.all() {
            let info = c.shard().info();
            let l = [c.name.as_str()];
            self.points.with_label_values(&l).set(info.points_count as i64);
            self.indexed.with_label_values(&l).set(info.indexed_vectors_count as i64);
            self.segments.with_label_values(&l).set(info.segments_count as i64);
            self.queue.with_label_values(&l).set(c.queued.load(std::sync::atomic::Ordering::Relaxed) as i64);
            self.wal.with_label_values(&l).set(c.wal_bytes() as i64);
            self.optimizing
                .with_label_values(&l)
                .set(c.optimizing.load(std::sync::atomic::Ordering::Relaxed) as i64);
        }
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Counts and times every gRPC request.
#[derive(Clone)]
pub struct Layer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for Layer {
    type Service = Service<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Service { inner, m: self.0.clone() }
    }
}

/// The service of Layer.
#[derive(Clone)]
pub struct Service<S> {
    inner: S,
    m: Arc<Metrics>,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Service<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req.uri().path().trim_start_matches("/qdrant.").to_string();
        let m = self.m.clone();
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            let code = match &res {
                Ok(r) => r.headers().get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("0").to_string(),
                Err(_) => "transport".to_string(),
            };
            m.requests.with_label_values(&[method.as_str(), code.as_str()]).inc();
            m.latency.with_label_values(&[method.as_str()]).observe(started.elapsed().as_secs_f64());
            res
        })
    }
}
