//! The Collections service, and the configuration a collection reports.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use qdrant_edge::{EdgeConfig, EdgeOptimizersConfig, EdgeVectorParams};
use serde_json::json;
use tonic::{Request, Response, Status};

use crate::convert::{distance_in, payload_schema_type_out, validation};
use crate::proto;
use crate::proto::collections_server::Collections;
use crate::proto::vectors_config::Config as VC;
use crate::store::{validate_name, Registry};

/// Qdrant's limits on a dense vector's size (lib/collection's VectorParams).
const MAX_VECTOR_SIZE: u64 = 65536;

fn hnsw_defaults() -> proto::HnswConfigDiff {
    proto::HnswConfigDiff {
        m: Some(16),
        ef_construct: Some(100),
        full_scan_threshold: Some(10_000),
        max_indexing_threads: Some(0),
        on_disk: Some(false),
        payload_m: None,
        inline_storage: None,
    }
}

fn optimizer_defaults() -> proto::OptimizersConfigDiff {
    proto::OptimizersConfigDiff {
        deleted_threshold: Some(0.2),
        vacuum_min_vector_number: Some(1000),
        default_segment_number: Some(0),
        max_segment_size: None,
        memmap_threshold: None,
        indexing_threshold: Some(10_000),
        flush_interval_sec: Some(5),
        deprecated_max_optimization_threads: None,
        max_optimization_threads: None,
        prevent_unoptimized: None,
    }
}

macro_rules! merge_fields {
    ($base:expr, $diff:expr, $($f:ident),+) => {
        $( if $diff.$f.is_some() { $base.$f = $diff.$f.clone(); } )+
    };
}

fn merge_hnsw(base: &mut proto::HnswConfigDiff, diff: &proto::HnswConfigDiff) {
    merge_fields!(base, diff, m, ef_construct, full_scan_threshold, max_indexing_threads, on_disk, payload_m, inline_storage);
}

fn merge_optimizers(base: &mut proto::OptimizersConfigDiff, diff: &proto::OptimizersConfigDiff) {
    merge_fields!(
        base, diff, deleted_threshold, vacuum_min_vector_number, default_segment_number, max_segment_size,
        memmap_threshold, indexing_threshold, flush_interval_sec, max_optimization_threads, prevent_unoptimized
    );
}

/// The configuration a collection created by `req` reports: Qdrant's
/// defaults with the request's settings over them.
pub fn reported_config(req: &proto::CreateCollection) -> proto::CollectionConfig {
    let mut hnsw = hnsw_defaults();
    if let Some(d) = &req.hnsw_config {
        merge_hnsw(&mut hnsw, d);
    }
    let mut opt = optimizer_defaults();
    if let Some(d) = &req.optimizers_config {
        merge_optimizers(&mut opt, d);
    }
    proto::CollectionConfig {
        params: Some(proto::CollectionParams {
            shard_number: 1,
            on_disk_payload: req.on_disk_payload.unwrap_or(true),
            vectors_config: req.vectors_config.clone(),
            replication_factor: Some(1),
            write_consistency_factor: Some(1),
            ..Default::default()
        }),
        hnsw_config: Some(hnsw),
        optimizer_config: Some(opt),
        wal_config: Some(proto::WalConfigDiff {
            wal_capacity_mb: Some(req.wal_config.as_ref().and_then(|w| w.wal_capacity_mb).unwrap_or(32)),
            wal_segments_ahead: Some(req.wal_config.as_ref().and_then(|w| w.wal_segments_ahead).unwrap_or(0)),
            ..Default::default()
        }),
        quantization_config: None,
        strict_mode_config: None,
        metadata: req.metadata.clone(),
    }
}

fn hnsw_engine(d: &proto::HnswConfigDiff) -> Result<qdrant_edge::HnswIndexConfig, Status> {
    serde_json::from_value(json!({
        "m": d.m.unwrap_or(16),
        "ef_construct": d.ef_construct.unwrap_or(100),
        "full_scan_threshold": d.full_scan_threshold.unwrap_or(10_000),
        "max_indexing_threads": d.max_indexing_threads.unwrap_or(0),
        "on_disk": d.on_disk,
        "payload_m": d.payload_m,
        "inline_storage": d.inline_storage,
    }))
    .map_err(|e| validation(format!("hnsw_config: {e}")))
}

fn optimizers_engine(o: &proto::OptimizersConfigDiff) -> EdgeOptimizersConfig {
    EdgeOptimizersConfig {
        deleted_threshold: o.deleted_threshold,
        vacuum_min_vector_number: o.vacuum_min_vector_number.map(|v| v as usize),
        default_segment_number: o.default_segment_number.map(|v| v as usize),
        max_segment_size: o.max_segment_size.map(|v| v as usize),
        indexing_threshold: o.indexing_threshold.map(|v| v as usize),
        prevent_unoptimized: o.prevent_unoptimized,
    }
}

fn vector_params(field: &str, p: &proto::VectorParams, global: &proto::HnswConfigDiff) -> Result<EdgeVectorParams, Status> {
    if p.size < 1 || p.size > MAX_VECTOR_SIZE {
        return Err(validation(format!(
            "{field}.size: value {} invalid, must be from 1 to {MAX_VECTOR_SIZE}",
            p.size
        )));
    }
    if p.quantization_config.is_some() || p.multivector_config.is_some() {
        return Err(Status::unimplemented(
            "quantization and multi-vectors are not served by VectorStream's engine server",
        ));
    }
    if p.datatype.is_some_and(|d| d != proto::Datatype::Default as i32 && d != proto::Datatype::Float32 as i32) {
        return Err(Status::unimplemented("only float32 vectors are served by VectorStream's engine server"));
    }
    let hnsw = match &p.hnsw_config {
        Some(d) => {
            let mut h = global.clone();
            merge_hnsw(&mut h, d);
            Some(hnsw_engine(&h)?)
        }
        None => None,
    };
    Ok(EdgeVectorParams {
        size: p.size as usize,
        distance: distance_in(p.distance)?,
        on_disk: p.on_disk,
        multivector_config: None,
        datatype: None,
        quantization_config: None,
        hnsw_config: hnsw,
    })
}

/// The engine configuration of a collection created by `req`, validated as
/// Qdrant validates the request.
pub fn engine_config(req: &proto::CreateCollection) -> Result<EdgeConfig, Status> {
    let reported = reported_config(req);
    let hnsw = reported.hnsw_config.clone().unwrap_or_default();
    if req.sparse_vectors_config.is_some() || req.quantization_config.is_some() {
        return Err(Status::unimplemented(
            "sparse vectors and quantization are not served by VectorStream's engine server",
        ));
    }
    let mut vectors = HashMap::new();
    match req.vectors_config.as_ref().and_then(|v| v.config.as_ref()) {
        Some(VC::Params(p)) => {
            vectors.insert(String::new(), vector_params("vectors_config.params", p, &hnsw)?);
        }
        Some(VC::ParamsMap(m)) => {
            for (name, p) in &m.map {
                vectors.insert(name.clone(), vector_params(&format!("vectors_config.params_map.{name}"), p, &hnsw)?);
            }
        }
        None => {}
    }
    let mut cfg = EdgeConfig::default();
    cfg.on_disk_payload = req.on_disk_payload.unwrap_or(true);
    cfg.vectors = vectors;
    cfg.hnsw_config = hnsw_engine(&hnsw)?;
    cfg.optimizers = optimizers_engine(reported.optimizer_config.as_ref().unwrap_or(&optimizer_defaults()));
    if let Some(w) = &req.wal_config {
        let mut o = qdrant_edge::WalOptions::default();
        if let Some(mb) = w.wal_capacity_mb {
            if mb < 1 {
                return Err(validation(format!("wal_config.wal_capacity_mb: value {mb} invalid, must be 1 or larger")));
            }
            o.segment_capacity = (mb as usize) << 20;
        }
        if let Some(n) = w.wal_segments_ahead {
            o.segment_queue_len = n as usize;
        }
        cfg.wal_options = Some(o);
    }
    Ok(cfg)
}

/// The Collections service.
pub struct CollectionsService {
    pub reg: Arc<Registry>,
}

fn elapsed(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

#[tonic::async_trait]
impl Collections for CollectionsService {
    async fn get(&self, req: Request<proto::GetCollectionInfoRequest>) -> Result<Response<proto::GetCollectionInfoResponse>, Status> {
        let t = Instant::now();
        let c = self.reg.get(&req.get_ref().collection_name)?;
        let shard = c.shard();
        let info = tokio::task::spawn_blocking(move || shard.info())
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        let queued = c.queued.load(Ordering::Relaxed);
        let optimizing = c.optimizing.load(Ordering::Relaxed);
        let err = c.optimizer_error.lock().clone();
        let status = match (&err, optimizing || queued > 0) {
            (Some(_), _) => proto::CollectionStatus::Red,
            (None, true) => proto::CollectionStatus::Yellow,
            (None, false) => proto::CollectionStatus::Green,
        };
        let payload_schema = info
            .payload_schema
            .into_iter()
            .map(|(k, v)| {
                (k.to_string(), proto::PayloadSchemaInfo {
                    data_type: payload_schema_type_out(v.data_type) as i32,
                    params: None,
                    points: Some(v.points as u64),
                })
            })
            .collect();
        let config = c.config.read().clone();
        Ok(Response::new(proto::GetCollectionInfoResponse {
            result: Some(proto::CollectionInfo {
                status: status as i32,
                optimizer_status: Some(proto::OptimizerStatus { ok: err.is_none(), error: err.unwrap_or_default() }),
                segments_count: info.segments_count as u64,
                config: Some(config),
                payload_schema,
                points_count: Some(info.points_count as u64),
                indexed_vectors_count: Some(info.indexed_vectors_count as u64),
                warnings: vec![],
                update_queue: Some(proto::UpdateQueueInfo { length: queued }),
            }),
            time: elapsed(t),
        }))
    }

    async fn list(&self, _: Request<proto::ListCollectionsRequest>) -> Result<Response<proto::ListCollectionsResponse>, Status> {
        let t = Instant::now();
        let collections = self.reg.names().into_iter().map(|name| proto::CollectionDescription { name }).collect();
        Ok(Response::new(proto::ListCollectionsResponse { collections, time: elapsed(t) }))
    }

    async fn create(&self, req: Request<proto::CreateCollection>) -> Result<Response<proto::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        validate_name(&req.collection_name)?;
        if req.shard_number.is_some_and(|n| n > 1) || req.replication_factor.is_some_and(|n| n > 1) {
            return Err(Status::unimplemented(
                "one shard, one replica: VectorStream's engine server is a single node",
            ));
        }
        let edge = engine_config(&req)?;
        let reg = self.reg.clone();
        tokio::task::spawn_blocking(move || reg.create(&req, edge))
            .await
            .map_err(|e| Status::internal(e.to_string()))??;
        Ok(Response::new(proto::CollectionOperationResponse { result: true, time: elapsed(t) }))
    }

    async fn update(&self, req: Request<proto::UpdateCollection>) -> Result<Response<proto::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if req.vectors_config.is_some() || req.quantization_config.is_some() || req.sparse_vectors_config.is_some() || req.params.is_some() {
            return Err(Status::unimplemented(
                "VectorStream's engine server updates a collection's hnsw_config and optimizers_config only",
            ));
        }
        let mut cfg = c.config.write();
        if let Some(d) = &req.hnsw_config {
            let mut h = cfg.hnsw_config.clone().unwrap_or_else(hnsw_defaults);
            merge_hnsw(&mut h, d);
            c.shard().set_hnsw_config(hnsw_engine(&h)?).map_err(crate::convert::engine_error)?;
            cfg.hnsw_config = Some(h);
        }
        if let Some(d) = &req.optimizers_config {
            let mut o = cfg.optimizer_config.clone().unwrap_or_else(optimizer_defaults);
            merge_optimizers(&mut o, d);
            c.shard().set_optimizers_config(optimizers_engine(&o)).map_err(crate::convert::engine_error)?;
            cfg.optimizer_config = Some(o);
        }
        cfg.metadata.extend(req.metadata);
        Ok(Response::new(proto::CollectionOperationResponse { result: true, time: elapsed(t) }))
    }

    async fn delete(&self, req: Request<proto::DeleteCollection>) -> Result<Response<proto::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let result = self.reg.delete(&req.get_ref().collection_name);
        Ok(Response::new(proto::CollectionOperationResponse { result, time: elapsed(t) }))
    }

    async fn collection_exists(&self, req: Request<proto::CollectionExistsRequest>) -> Result<Response<proto::CollectionExistsResponse>, Status> {
        let t = Instant::now();
        let exists = self.reg.exists(&req.get_ref().collection_name);
        Ok(Response::new(proto::CollectionExistsResponse {
            result: Some(proto::CollectionExists { exists }),
            time: elapsed(t),
        }))
    }

    async fn update_aliases(&self, _: Request<proto::ChangeAliases>) -> Result<Response<proto::CollectionOperationResponse>, Status> {
        Err(crate::unimplemented("Collections/UpdateAliases"))
    }
    async fn list_collection_aliases(&self, _: Request<proto::ListCollectionAliasesRequest>) -> Result<Response<proto::ListAliasesResponse>, Status> {
        Err(crate::unimplemented("Collections/ListCollectionAliases"))
    }
    async fn list_aliases(&self, _: Request<proto::ListAliasesRequest>) -> Result<Response<proto::ListAliasesResponse>, Status> {
        Err(crate::unimplemented("Collections/ListAliases"))
    }
    async fn collection_cluster_info(&self, _: Request<proto::CollectionClusterInfoRequest>) -> Result<Response<proto::CollectionClusterInfoResponse>, Status> {
        Err(crate::unimplemented("Collections/CollectionClusterInfo"))
    }
    async fn update_collection_cluster_setup(&self, _: Request<proto::UpdateCollectionClusterSetupRequest>) -> Result<Response<proto::UpdateCollectionClusterSetupResponse>, Status> {
        Err(crate::unimplemented("Collections/UpdateCollectionClusterSetup"))
    }
    async fn create_shard_key(&self, _: Request<proto::CreateShardKeyRequest>) -> Result<Response<proto::CreateShardKeyResponse>, Status> {
        Err(crate::unimplemented("Collections/CreateShardKey"))
    }
    async fn delete_shard_key(&self, _: Request<proto::DeleteShardKeyRequest>) -> Result<Response<proto::DeleteShardKeyResponse>, Status> {
        Err(crate::unimplemented("Collections/DeleteShardKey"))
    }
    async fn list_shard_keys(&self, _: Request<proto::ListShardKeysRequest>) -> Result<Response<proto::ListShardKeysResponse>, Status> {
        Err(crate::unimplemented("Collections/ListShardKeys"))
    }
}
