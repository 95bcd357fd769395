//! The Points service: the methods the pipeline, the harness and users'
//! search code need, on the collection's engine shard. Reads run on tokio's
//! blocking pool; writes go through the collection's update queue.

use std::sync::Arc;
use std::time::Instant;

use qdrant_edge::{
    CountRequest, CreateIndex, FieldIndexOperations, NamedQuery, PointInsertOperations, PointOperations,
    PointStructPersisted, QueryEnum, ScrollRequest, SearchRequest, UpdateOperation, VectorInternal,
    VectorStructPersisted,
};
use tonic::{Request, Response, Status};

use crate::convert::*;
use crate::metrics::Metrics;
use crate::proto;
use crate::proto::points_server::Points;
use crate::store::{Collection, Registry};

/// Limits Qdrant applies when a request leaves them out.
const DEFAULT_SCROLL_LIMIT: usize = 10;
const DEFAULT_QUERY_LIMIT: usize = 10;

/// The Points service.
pub struct PointsService {
    pub reg: Arc<Registry>,
    pub metrics: Arc<Metrics>,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Status> + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("Service internal error: {e}")))?
}

fn update_response(t: Instant, op_id: u64, wait: bool) -> Response<proto::PointsOperationResponse> {
    let status = if wait { proto::UpdateStatus::Completed } else { proto::UpdateStatus::Acknowledged };
    Response::new(proto::PointsOperationResponse {
        result: Some(proto::UpdateResult { operation_id: Some(op_id), status: status as i32 }),
        time: t.elapsed().as_secs_f64(),
        usage: None,
    })
}

fn using(name: Option<&str>) -> Option<String> {
    name.filter(|n| !n.is_empty()).map(str::to_string)
}

fn nearest(collection: &Collection, vector: Vec<f32>, name: Option<&str>) -> Result<QueryEnum, Status> {
    let name = name.unwrap_or("");
    let shard = collection.shard();
    let cfg = shard.config();
    let Some(params) = cfg.vectors.get(name) else {
        return Err(wrong_input(format!("Not existing vector name error: {name}")));
    };
    if params.size != vector.len() {
        return Err(wrong_input(format!(
            "Vector dimension error: expected dim: {}, got {}",
            params.size,
            vector.len()
        )));
    }
    Ok(QueryEnum::Nearest(NamedQuery { query: VectorInternal::Dense(vector), using: using(Some(name)) }))
}

impl PointsService {
    async fn search_on(
        &self,
        c: Arc<Collection>,
        query: QueryEnum,
        filter: Option<&proto::Filter>,
        params: Option<&proto::SearchParams>,
        limit: usize,
        offset: usize,
        with_payload: Option<&proto::WithPayloadSelector>,
        with_vectors: Option<&proto::WithVectorsSelector>,
        score_threshold: Option<f32>,
    ) -> Result<Vec<proto::ScoredPoint>, Status> {
        let req = SearchRequest {
            query,
            filter: filter_in(filter)?,
            params: search_params_in(params)?,
            limit,
            offset,
            with_payload: Some(with_payload_in(with_payload, false)?),
            with_vector: Some(with_vector_in(with_vectors)),
            score_threshold,
        };
        let points = blocking(move || c.shard().search(req).map_err(engine_error)).await?;
        Ok(points.into_iter().map(scored_out).collect())
    }
}

#[tonic::async_trait]
impl Points for PointsService {
    async fn upsert(&self, req: Request<proto::UpsertPoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if req.update_filter.is_some() || req.update_mode.is_some() {
            return Err(Status::unimplemented(
                "conditional upserts are not served by VectorStream's engine server",
            ));
        }
        if req.points.is_empty() {
            return Err(Status::invalid_argument("Bad request: Empty update request"));
        }
        let mut points = Vec::with_capacity(req.points.len());
        for p in &req.points {
            points.push(PointStructPersisted {
                id: point_id_in(p.id.as_ref())?,
                vector: VectorStructPersisted::from(vectors_in(p.vectors.as_ref())?),
                payload: Some(payload_in(&p.payload)),
            });
        }
        let n = points.len() as u64;
        let wait = req.wait.unwrap_or(false);
        let op = UpdateOperation::PointOperation(PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)));
        let id = c.update(op, wait).await?;
        self.metrics.points_upserted.inc_by(n);
        Ok(update_response(t, id, wait))
    }

    async fn delete(&self, req: Request<proto::DeletePoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        use proto::points_selector::PointsSelectorOneOf as S;
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        let op = match req.points.and_then(|p| p.points_selector_one_of) {
            Some(S::Points(ids)) => PointOperations::DeletePoints {
                ids: ids.ids.iter().map(|id| point_id_in(Some(id))).collect::<Result<_, _>>()?,
            },
            Some(S::Filter(f)) => PointOperations::DeletePointsByFilter(filter_in(Some(&f))?.unwrap_or_default()),
            None => return Err(validation("points: points selector is required")),
        };
        let wait = req.wait.unwrap_or(false);
        let id = c.update(UpdateOperation::PointOperation(op), wait).await?;
        Ok(update_response(t, id, wait))
    }

    async fn get(&self, req: Request<proto::GetPoints>) -> Result<Response<proto::GetResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        let ids = req.ids.iter().map(|id| point_id_in(Some(id))).collect::<Result<Vec<_>, _>>()?;
        let wp = with_payload_in(req.with_payload.as_ref(), true)?;
        let wv = with_vector_in(req.with_vectors.as_ref());
        let records = blocking(move || c.shard().retrieve(&ids, Some(wp), Some(wv)).map_err(engine_error)).await?;
        Ok(Response::new(proto::GetResponse {
            result: records.into_iter().map(record_out).collect(),
            time: t.elapsed().as_secs_f64(),
            usage: None,
        }))
    }

    async fn create_field_index(&self, req: Request<proto::CreateFieldIndexCollection>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if req.field_index_params.is_some() {
            return Err(Status::unimplemented(
                "payload index parameters are not served by VectorStream's engine server; give field_type only",
            ));
        }
        let field_name = serde_json::from_value(serde_json::Value::String(req.field_name.clone()))
            .map_err(|e| validation(format!("field_name: {e}")))?;
        let op = FieldIndexOperations::CreateIndex(CreateIndex { field_name, field_schema: payload_schema_in(req.field_type)? });
        let wait = req.wait.unwrap_or(false);
        let id = c.update(UpdateOperation::FieldIndexOperation(op), wait).await?;
        Ok(update_response(t, id, wait))
    }

    async fn search(&self, req: Request<proto::SearchPoints>) -> Result<Response<proto::SearchResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if req.sparse_indices.is_some() {
            return Err(Status::unimplemented("sparse vectors are not served by VectorStream's engine server"));
        }
        if req.limit < 1 {
            return Err(validation("limit: value 0 invalid, must be 1 or larger"));
        }
        let q = nearest(&c, req.vector.clone(), req.vector_name.as_deref())?;
        let result = self
            .search_on(c, q, req.filter.as_ref(), req.params.as_ref(), req.limit as usize, req.offset.unwrap_or(0) as usize,
                req.with_payload.as_ref(), req.with_vectors.as_ref(), req.score_threshold)
            .await?;
        Ok(Response::new(proto::SearchResponse { result, time: t.elapsed().as_secs_f64(), usage: None }))
    }

    async fn query(&self, req: Request<proto::QueryPoints>) -> Result<Response<proto::QueryResponse>, Status> {
        use proto::query::Variant;
        use proto::vector_input::Variant as VI;
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if !req.prefetch.is_empty() || req.lookup_from.is_some() {
            return Err(Status::unimplemented("prefetch and lookup_from are not served by VectorStream's engine server"));
        }
        let vector = match req.query.as_ref().and_then(|q| q.variant.as_ref()) {
            Some(Variant::Nearest(proto::VectorInput { variant: Some(VI::Dense(d)) })) => d.data.clone(),
            _ => {
                return Err(Status::unimplemented(
                    "VectorStream's engine server answers nearest-neighbour queries with a dense vector only",
                ))
            }
        };
        let limit = req.limit.map_or(DEFAULT_QUERY_LIMIT, |l| l as usize);
        if limit < 1 {
            return Err(validation("limit: value 0 invalid, must be 1 or larger"));
        }
        let q = nearest(&c, vector, req.using.as_deref())?;
        let result = self
            .search_on(c, q, req.filter.as_ref(), req.params.as_ref(), limit, req.offset.unwrap_or(0) as usize,
                req.with_payload.as_ref(), req.with_vectors.as_ref(), req.score_threshold)
            .await?;
        Ok(Response::new(proto::QueryResponse { result, time: t.elapsed().as_secs_f64(), usage: None }))
    }

    async fn scroll(&self, req: Request<proto::ScrollPoints>) -> Result<Response<proto::ScrollResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        if req.order_by.is_some() {
            return Err(Status::unimplemented("order_by is not served by VectorStream's engine server"));
        }
        let limit = req.limit.map_or(DEFAULT_SCROLL_LIMIT, |l| l as usize);
        if limit < 1 {
            return Err(validation("limit: value 0 invalid, must be 1 or larger"));
        }
        let sr = ScrollRequest {
            offset: req.offset.as_ref().map(|o| point_id_in(Some(o))).transpose()?,
            limit: Some(limit),
            filter: filter_in(req.filter.as_ref())?,
            with_payload: Some(with_payload_in(req.with_payload.as_ref(), true)?),
            with_vector: with_vector_in(req.with_vectors.as_ref()),
            order_by: None,
        };
        let (records, next) = blocking(move || c.shard().scroll(sr).map_err(engine_error)).await?;
        Ok(Response::new(proto::ScrollResponse {
            next_page_offset: next.map(point_id_out),
            result: records.into_iter().map(record_out).collect(),
            time: t.elapsed().as_secs_f64(),
            usage: None,
        }))
    }

    async fn count(&self, req: Request<proto::CountPoints>) -> Result<Response<proto::CountResponse>, Status> {
        let t = Instant::now();
        let req = req.into_inner();
        let c = self.reg.get(&req.collection_name)?;
        let cr = CountRequest { filter: filter_in(req.filter.as_ref())?, exact: req.exact.unwrap_or(true) };
        let count = blocking(move || c.shard().count(cr).map_err(engine_error)).await?;
        Ok(Response::new(proto::CountResponse {
            result: Some(proto::CountResult { count: count as u64 }),
            time: t.elapsed().as_secs_f64(),
            usage: None,
        }))
    }

    async fn update_vectors(&self, _: Request<proto::UpdatePointVectors>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/UpdateVectors"))
    }
    async fn delete_vectors(&self, _: Request<proto::DeletePointVectors>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/DeleteVectors"))
    }
    async fn set_payload(&self, _: Request<proto::SetPayloadPoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/SetPayload"))
    }
    async fn overwrite_payload(&self, _: Request<proto::SetPayloadPoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/OverwritePayload"))
    }
    async fn delete_payload(&self, _: Request<proto::DeletePayloadPoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/DeletePayload"))
    }
    async fn clear_payload(&self, _: Request<proto::ClearPayloadPoints>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/ClearPayload"))
    }
    async fn delete_field_index(&self, _: Request<proto::DeleteFieldIndexCollection>) -> Result<Response<proto::PointsOperationResponse>, Status> {
        Err(crate::unimplemented("Points/DeleteFieldIndex"))
    }
    async fn search_batch(&self, _: Request<proto::SearchBatchPoints>) -> Result<Response<proto::SearchBatchResponse>, Status> {
        Err(crate::unimplemented("Points/SearchBatch"))
    }
    async fn search_groups(&self, _: Request<proto::SearchPointGroups>) -> Result<Response<proto::SearchGroupsResponse>, Status> {
        Err(crate::unimplemented("Points/SearchGroups"))
    }
    async fn recommend(&self, _: Request<proto::RecommendPoints>) -> Result<Response<proto::RecommendResponse>, Status> {
        Err(crate::unimplemented("Points/Recommend"))
    }
    async fn recommend_batch(&self, _: Request<proto::RecommendBatchPoints>) -> Result<Response<proto::RecommendBatchResponse>, Status> {
        Err(crate::unimplemented("Points/RecommendBatch"))
    }
    async fn recommend_groups(&self, _: Request<proto::RecommendPointGroups>) -> Result<Response<proto::RecommendGroupsResponse>, Status> {
        Err(crate::unimplemented("Points/RecommendGroups"))
    }
    async fn discover(&self, _: Request<proto::DiscoverPoints>) -> Result<Response<proto::DiscoverResponse>, Status> {
        Err(crate::unimplemented("Points/Discover"))
    }
    async fn discover_batch(&self, _: Request<proto::DiscoverBatchPoints>) -> Result<Response<proto::DiscoverBatchResponse>, Status> {
        Err(crate::unimplemented("Points/DiscoverBatch"))
    }
    async fn update_batch(&self, _: Request<proto::UpdateBatchPoints>) -> Result<Response<proto::UpdateBatchResponse>, Status> {
        Err(crate::unimplemented("Points/UpdateBatch"))
    }
    async fn query_batch(&self, _: Request<proto::QueryBatchPoints>) -> Result<Response<proto::QueryBatchResponse>, Status> {
        Err(crate::unimplemented("Points/QueryBatch"))
    }
    async fn query_groups(&self, _: Request<proto::QueryPointGroups>) -> Result<Response<proto::QueryGroupsResponse>, Status> {
        Err(crate::unimplemented("Points/QueryGroups"))
    }
    async fn facet(&self, _: Request<proto::FacetCounts>) -> Result<Response<proto::FacetResponse>, Status> {
        Err(crate::unimplemented("Points/Facet"))
    }
    async fn search_matrix_pairs(&self, _: Request<proto::SearchMatrixPoints>) -> Result<Response<proto::SearchMatrixPairsResponse>, Status> {
        Err(crate::unimplemented("Points/SearchMatrixPairs"))
    }
    async fn search_matrix_offsets(&self, _: Request<proto::SearchMatrixPoints>) -> Result<Response<proto::SearchMatrixOffsetsResponse>, Status> {
        Err(crate::unimplemented("Points/SearchMatrixOffsets"))
    }
}
