//! The server's registry of collections. qdrant-edge holds one collection per
//! `EdgeShard`; each collection here has its own directory, an update worker
//! that applies writes in order (as Qdrant's update queue does, so `wait=false`
//! returns once the write is queued) and flushes every 5 s, and an optimizer
//! worker that runs the engine's optimizers (index building, merging,
//! vacuum) in the background whenever writes arrived, as Qdrant's optimizer
//! threads do: `EdgeShard::optimize` itself is synchronous.
//!
//! Each flush also truncates the WAL up to the last operation it persisted,
//! as Qdrant's server acknowledges its WAL after a flush: qdrant-edge 0.7.0
//! never truncates it itself, so the crate builds on a patched copy
//! (patches/, deploy/qdrant-engine/vendor-edge.sh) that adds
//! `EdgeShard::flush_and_truncate_wal`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use prost::Message;
use qdrant_edge::{EdgeConfig, EdgeShard, UpdateOperation};
use tokio::sync::oneshot;
use tonic::Status;

use crate::convert::{engine_error, validation};
use crate::metrics::Metrics;
use crate::proto;

/// Qdrant's limit on collection names and the characters it refuses in them
/// (lib/collection's `validate_collection_name`).
const MAX_NAME_LEN: usize = 255;
const FORBIDDEN: &[char] = &['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0', '\u{1F}'];

/// The update queue's capacity, in operations; a full queue blocks the
/// request, which is how Qdrant applies back-pressure too.
const QUEUE_CAPACITY: usize = 1024;
/// How often the update worker flushes segments and WAL (Qdrant's
/// flush_interval_sec default).
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
const CONFIG_FILE: &str = "collection_config.pb";

pub fn validate_name(name: &str) -> Result<(), Status> {
    // Qdrant's request validation (the validator crate's length rule) comes
    // before its character check.
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(validation(format!(
            "collection_name: value {name:?} invalid, must be from 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(validation(format!(
            "collection_name: collection name cannot contain \"{c}\" char"
        )));
    }
    Ok(())
}

pub fn not_found(name: &str) -> Status {
    Status::not_found(format!("Not found: Collection `{name}` doesn't exist!"))
}

struct Job {
    id: u64,
    op: UpdateOperation,
    done: Option<oneshot::Sender<Result<u64, Status>>>,
}

/// One collection: its engine shard, the configuration it reports, and its
/// workers.
pub struct Collection {
    pub name: String,
    pub dir: PathBuf,
    shard: Arc<EdgeShard>,
    pub config: RwLock<proto::CollectionConfig>,
    queue: Mutex<Option<mpsc::SyncSender<Job>>>,
    pub queued: AtomicU64,
    next_op: AtomicU64,
    dirty: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    pub optimizing: AtomicBool,
    pub optimizer_error: Mutex<Option<String>>,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
}

impl Collection {
    fn start(name: String, dir: PathBuf, shard: EdgeShard, config: proto::CollectionConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let c = Arc::new(Collection {
            name,
            dir,
            shard: Arc::new(shard),
            config: RwLock::new(config),
            queue: Mutex::new(Some(tx)),
            queued: AtomicU64::new(0),
            next_op: AtomicU64::new(0),
            dirty: Mutex::new(false),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            optimizing: AtomicBool::new(false),
            optimizer_error: Mutex::new(None),
            workers: Mutex::new(Vec::new()),
        });
        let (cu, mu) = (c.clone(), metrics.clone());
        let updates = thread::Builder::new()
            .name(format!("update-{}", c.name))
            .spawn(move || cu.update_worker(rx, &mu))
            .expect("spawn update worker");
        let co = c.clone();
        let optimizer = thread::Builder::new()
            .name(format!("optimize-{}", c.name))
            .spawn(move || co.optimizer_worker(&metrics))
            .expect("spawn optimizer");
        c.workers.lock().extend([updates, optimizer]);
        c
    }

    /// The collection's engine shard.
    pub fn shard(&self) -> Arc<EdgeShard> {
        self.shard.clone()
    }

    /// Queues one write and, when `wait`, waits until the engine applied it.
    /// Returns the operation id.
    pub async fn update(&self, op: UpdateOperation, wait: bool) -> Result<u64, Status> {
        let tx = self.queue.lock().clone().ok_or_else(|| not_found(&self.name))?;
        let (done, rx) = if wait {
            let (s, r) = oneshot::channel();
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        let id = self.next_op.fetch_add(1, Ordering::SeqCst);
        self.queued.fetch_add(1, Ordering::Relaxed);
        // A full queue blocks: do it off the async runtime.
        let job = Job { id, op, done };
        tokio::task::spawn_blocking(move || tx.send(job))
            .await
            .map_err(|e| Status::internal(format!("Service internal error: {e}")))?
            .map_err(|_| not_found(&self.name))?;
        match rx {
            Some(rx) => rx
                .await
                .map_err(|_| Status::internal("Service internal error: update worker stopped"))?,
            None => Ok(id),
        }
    }

    fn update_worker(&self, rx: mpsc::Receiver<Job>, metrics: &Metrics) {
        let mut last_flush = Instant::now();
        loop {
            let job = match rx.recv_timeout(FLUSH_INTERVAL) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Some(Job { id, op, done }) = job {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                let res = self.shard.update(op).map(|()| id).map_err(engine_error);
                if res.is_err() {
                    metrics.update_errors.inc();
                }
                if let Some(done) = done {
                    let _ = done.send(res);
                }
                *self.dirty.lock() = true;
                self.wake.notify_one();
            }
            if last_flush.elapsed() >= FLUSH_INTERVAL {
                self.flush(metrics);
                last_flush = Instant::now();
            }
        }
        self.flush(metrics);
    }

    /// Flushes WAL and segments and truncates the WAL, from the update
    /// worker, so that no write is half applied meanwhile.
    fn flush(&self, metrics: &Metrics) {
        let started = Instant::now();
        match self.shard.flush_and_truncate_wal() {
            Ok(()) => metrics.flush_seconds.inc_by(started.elapsed().as_secs_f64()),
            Err(e) => {
                metrics.flush_errors.inc();
                log::error!("collection {}: flush: {e}", self.name);
            }
        }
    }

    /// The size of the WAL's files.
    pub fn wal_bytes(&self) -> u64 {
        std::fs::read_dir(self.dir.join("wal"))
            .map(|es| es.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    fn optimizer_worker(&self, metrics: &Metrics) {
        loop {
            {
                let mut dirty = self.dirty.lock();
                while !*dirty && !self.stop.load(Ordering::SeqCst) {
                    self.wake.wait_for(&mut dirty, Duration::from_secs(1));
                }
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                *dirty = false;
            }
            let shard = self.shard.clone();
            self.optimizing.store(true, Ordering::SeqCst);
            let started = Instant::now();
            let res = shard.optimize();
            drop(shard);
            self.optimizing.store(false, Ordering::SeqCst);
            match res {
                Ok(true) => {
                    metrics.optimizer_runs.inc();
                    metrics.optimizer_seconds.inc_by(started.elapsed().as_secs_f64());
                    *self.optimizer_error.lock() = None;
                }
                Ok(false) => {}
                Err(e) => {
                    metrics.optimizer_errors.inc();
                    log::error!("collection {}: optimize: {e}", self.name);
                    *self.optimizer_error.lock() = Some(e.to_string());
                }
            }
        }
    }

    /// Stops the workers (the optimizer finishes the pass it is in) and
    /// returns once the shard is flushed.
    fn shutdown(&self) {
        self.queue.lock().take();
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_all();
        for w in self.workers.lock().drain(..) {
            let _ = w.join();
        }
    }
}

/// How many segments Qdrant gives a new collection (lib/shard's
/// `get_number_segments`): default_segment_number, or when that is 0 one per
/// two CPUs, from 2 to 8.
fn number_segments(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    let cpus = std::env::var("QDRANT_NUM_CPUS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    (cpus / 2).clamp(2, 8)
}

/// Creates the engine shard of a new collection with as many empty
/// appendable segments as Qdrant's server would give it. `EdgeShard::new`
/// makes one; the others are copies of that empty segment under new ids,
/// loaded back with the shard, which is what Qdrant's shard builder creates
/// (same configuration, no points).
fn new_shard(dir: &Path, edge: EdgeConfig) -> Result<EdgeShard, String> {
    let want = number_segments(edge.optimizers.default_segment_number.unwrap_or(0));
    let shard = EdgeShard::new(dir, edge.clone()).map_err(|e| e.to_string())?;
    if want <= 1 {
        return Ok(shard);
    }
    drop(shard); // flushes
    let segments = dir.join("segments");
    let first = std::fs::read_dir(&segments)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .ok_or("no segment after creation")?;
    for _ in 1..want {
        copy_dir(&first, &segments.join(uuid::Uuid::new_v4().to_string())).map_err(|e| e.to_string())?;
    }
    EdgeShard::load(dir, Some(edge)).map_err(|e| e.to_string())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// All collections of the server, each in `root/<n>`.
pub struct Registry {
    root: PathBuf,
    collections: RwLock<HashMap<String, Arc<Collection>>>,
    next_dir: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Registry {
    /// Opens the registry at root, loading the collections a previous run
    /// left there.
    pub fn open(root: &Path, metrics: Arc<Metrics>) -> Result<Self, String> {
        std::fs::create_dir_all(root).map_err(|e| format!("create {}: {e}", root.display()))?;
        let reg = Registry {
            root: root.to_path_buf(),
            collections: RwLock::new(HashMap::new()),
            next_dir: AtomicU64::new(0),
            metrics,
        };
        let entries = std::fs::read_dir(root).map_err(|e| format!("read {}: {e}", root.display()))?;
        let mut max = 0;
        for entry in entries.flatten() {
            let dir = entry.path();
            let Ok(bytes) = std::fs::read(dir.join(CONFIG_FILE)) else { continue };
            let stored = proto::CreateCollection::decode(bytes.as_slice())
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            let shard = EdgeShard::load(&dir, None).map_err(|e| format!("load {}: {e}", dir.display()))?;
            if let Some(n) = dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<u64>().ok()) {
                max = max.max(n + 1);
            }
            let config = crate::collections::reported_config(&stored);
            let c = Collection::start(stored.collection_name.clone(), dir, shard, config, reg.metrics.clone());
            reg.collections.write().insert(stored.collection_name, c);
        }
        reg.next_dir.store(max, Ordering::SeqCst);
        Ok(reg)
    }

    pub fn get(&self, name: &str) -> Result<Arc<Collection>, Status> {
        self.collections.read().get(name).cloned().ok_or_else(|| not_found(name))
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.collections.read().keys().cloned().collect();
        names.sort();
        names
    }

    pub fn exists(&self, name: &str) -> bool {
        self.collections.read().contains_key(name)
    }

    /// Creates a collection; `req` is stored so that a restart reloads it.
    pub fn create(&self, req: &proto::CreateCollection, edge: EdgeConfig) -> Result<(), Status> {
        let mut cols = self.collections.write();
        if cols.contains_key(&req.collection_name) {
            return Err(Status::already_exists(format!(
                "Wrong input: Collection `{}` already exists!",
                req.collection_name
            )));
        }
        let dir = self.root.join(self.next_dir.fetch_add(1, Ordering::SeqCst).to_string());
        let internal = |e: String| Status::internal(format!("Service internal error: {e}"));
        std::fs::create_dir_all(&dir).map_err(|e| internal(e.to_string()))?;
        let shard = new_shard(&dir, edge).map_err(|e| internal(e))?;
        std::fs::write(dir.join(CONFIG_FILE), req.encode_to_vec()).map_err(|e| internal(e.to_string()))?;
        let config = crate::collections::reported_config(req);
        let c = Collection::start(req.collection_name.clone(), dir, shard, config, self.metrics.clone());
        cols.insert(req.collection_name.clone(), c);
        Ok(())
    }

    /// Removes a collection at once; its workers stop and its files go in
    /// the background. Returns false when there was none.
    pub fn delete(&self, name: &str) -> bool {
        let Some(c) = self.collections.write().remove(name) else { return false };
        thread::spawn(move || {
            c.shutdown();
            let dir = c.dir.clone();
            drop(c);
            let _ = std::fs::remove_dir_all(dir);
        });
        true
    }

    /// Stops every collection's workers and flushes them.
    pub fn shutdown(&self) {
        let cols: Vec<_> = self.collections.write().drain().map(|(_, c)| c).collect();
        for c in cols {
            c.shutdown();
        }
    }

    pub fn all(&self) -> Vec<Arc<Collection>> {
        self.collections.read().values().cloned().collect()
    }
}
