//! Conversions between Qdrant's gRPC types (generated from the Go client's
//! .proto files) and qdrant-edge's types.
//!
//! Filters, search parameters and HNSW settings go through Qdrant's REST JSON
//! form: the engine's types deserialize it with Qdrant's own serde rules and
//! validation, so a condition means here what it means on a Qdrant server.

use std::collections::HashMap;

use qdrant_edge::{
    Filter, Payload, PayloadSchemaType, PointId, ScoredPoint, VectorInternal,
    VectorStructInternal, WithPayloadInterface, WithVector,
};
use serde_json::{json, Map, Value as Json};
use tonic::Status;

use crate::proto;
use crate::proto::{condition, point_id, r#match, value, vector, vector_output, vectors};

/// A gRPC `InvalidArgument` with Qdrant's "Wrong input" prefix.
pub fn wrong_input(msg: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Wrong input: {msg}"))
}

/// A gRPC `InvalidArgument` with Qdrant's request-validation wording.
pub fn validation(msg: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Validation error in body: [{msg}]"))
}

/// The engine's error as Qdrant's server would send it.
pub fn engine_error(e: qdrant_edge::OperationError) -> Status {
    use qdrant_edge::OperationError as E;
    match e {
        E::WrongVectorDimension { expected_dim, received_dim } => wrong_input(format!(
            "Vector dimension error: expected dim: {expected_dim}, got {received_dim}"
        )),
        E::VectorNameNotExists { received_name } => {
            wrong_input(format!("Not existing vector name error: {received_name}"))
        }
        E::ValidationError { description } => validation(description),
        E::PointIdError { missed_point_id } => Status::not_found(format!(
            "Not found: No point with id {missed_point_id} found"
        )),
        other => Status::internal(format!("Service internal error: {other}")),
    }
}

pub fn point_id_in(id: Option<&proto::PointId>) -> Result<PointId, Status> {
    match id.and_then(|p| p.point_id_options.as_ref()) {
        Some(point_id::PointIdOptions::Num(n)) => Ok(PointId::NumId(*n)),
        Some(point_id::PointIdOptions::Uuid(s)) => uuid::Uuid::parse_str(s)
            .map(PointId::Uuid)
            .map_err(|e| wrong_input(format!("Unable to parse UUID: {s}: {e}"))),
        None => Err(validation("id: point id is required")),
    }
}

pub fn point_id_out(id: PointId) -> proto::PointId {
    proto::PointId {
        point_id_options: Some(match id {
            PointId::NumId(n) => point_id::PointIdOptions::Num(n),
            PointId::Uuid(u) => point_id::PointIdOptions::Uuid(u.to_string()),
        }),
    }
}

fn point_id_json(id: &proto::PointId) -> Result<Json, Status> {
    Ok(match point_id_in(Some(id))? {
        PointId::NumId(n) => json!(n),
        PointId::Uuid(u) => json!(u.to_string()),
    })
}

pub fn value_to_json(v: &proto::Value) -> Json {
    match &v.kind {
        None | Some(value::Kind::NullValue(_)) => Json::Null,
        Some(value::Kind::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number)
        }
        Some(value::Kind::IntegerValue(i)) => json!(i),
        Some(value::Kind::StringValue(s)) => Json::String(s.clone()),
        Some(value::Kind::BoolValue(b)) => Json::Bool(*b),
        Some(value::Kind::StructValue(s)) => Json::Object(map_to_json(&s.fields)),
        Some(value::Kind::ListValue(l)) => Json::Array(l.values.iter().map(value_to_json).collect()),
    }
}

fn map_to_json(m: &HashMap<String, proto::Value>) -> Map<String, Json> {
    m.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect()
}

pub fn json_to_value(j: &Json) -> proto::Value {
    let kind = match j {
        Json::Null => value::Kind::NullValue(0),
        Json::Bool(b) => value::Kind::BoolValue(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => value::Kind::IntegerValue(i),
            None => value::Kind::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => value::Kind::StringValue(s.clone()),
        Json::Array(a) => value::Kind::ListValue(proto::ListValue { values: a.iter().map(json_to_value).collect() }),
        Json::Object(o) => value::Kind::StructValue(proto::Struct {
            fields: o.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect(),
        }),
    };
    proto::Value { kind: Some(kind) }
}

pub fn payload_in(m: &HashMap<String, proto::Value>) -> Payload {
    Payload(map_to_json(m))
}

pub fn payload_out(p: Option<Payload>) -> HashMap<String, proto::Value> {
    p.map(|p| p.0.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect())
        .unwrap_or_default()
}

/// One input vector: dense only (the engine's sparse and multi-vector
/// collections are not served).
// The deprecated `data` is how clients before 1.13 sent a dense vector; the
// Go client still does for NewVectorsDense.
#[allow(deprecated)]
fn vector_in(v: &proto::Vector) -> Result<Vec<f32>, Status> {
    match &v.vector {
        Some(vector::Vector::Dense(d)) => Ok(d.data.clone()),
        None if v.indices.is_none() => Ok(v.data.clone()),
        _ => Err(Status::unimplemented(
            "only dense vectors are served by VectorStream's engine server",
        )),
    }
}

pub fn vectors_in(v: Option<&proto::Vectors>) -> Result<VectorStructInternal, Status> {
    match v.and_then(|v| v.vectors_options.as_ref()) {
        Some(vectors::VectorsOptions::Vector(v)) => Ok(VectorStructInternal::Single(vector_in(v)?)),
        Some(vectors::VectorsOptions::Vectors(named)) => {
            let mut out = HashMap::with_capacity(named.vectors.len());
            for (name, v) in &named.vectors {
                out.insert(name.clone(), VectorInternal::Dense(vector_in(v)?));
            }
            Ok(VectorStructInternal::Named(out))
        }
        None => Err(validation("vectors: vectors are required")),
    }
}

fn vector_out(v: VectorInternal) -> proto::VectorOutput {
    let vector = match v {
        VectorInternal::Dense(d) => vector_output::Vector::Dense(proto::DenseVector { data: d }),
        VectorInternal::Sparse(s) => vector_output::Vector::Sparse(proto::SparseVector {
            values: s.values,
            indices: s.indices,
        }),
        VectorInternal::MultiDense(m) => vector_output::Vector::MultiDense(proto::MultiDenseVector {
            vectors: m
                .multi_vectors()
                .map(|v| proto::DenseVector { data: v.to_vec() })
                .collect(),
        }),
    };
    proto::VectorOutput { vector: Some(vector), ..Default::default() }
}

/// Vectors as Qdrant 1.17+ sends them: in `VectorOutput`'s typed field, the
/// deprecated `data` left empty.
pub fn vectors_out(v: Option<VectorStructInternal>) -> Option<proto::VectorsOutput> {
    use proto::vectors_output::VectorsOptions;
    let opts = match v? {
        VectorStructInternal::Single(d) => VectorsOptions::Vector(vector_out(VectorInternal::Dense(d))),
        VectorStructInternal::MultiDense(m) => VectorsOptions::Vector(vector_out(VectorInternal::MultiDense(m))),
        VectorStructInternal::Named(named) => VectorsOptions::Vectors(proto::NamedVectorsOutput {
            vectors: named.into_iter().map(|(k, v)| (k, vector_out(v))).collect(),
        }),
    };
    Some(proto::VectorsOutput { vectors_options: Some(opts) })
}

pub fn with_payload_in(w: Option<&proto::WithPayloadSelector>, default: bool) -> Result<WithPayloadInterface, Status> {
    use proto::with_payload_selector::SelectorOptions;
    let j = match w.and_then(|w| w.selector_options.as_ref()) {
        None => json!(default),
        Some(SelectorOptions::Enable(b)) => json!(b),
        Some(SelectorOptions::Include(i)) => json!({ "include": i.fields }),
        Some(SelectorOptions::Exclude(e)) => json!({ "exclude": e.fields }),
    };
    serde_json::from_value(j).map_err(|e| validation(format!("with_payload: {e}")))
}

pub fn with_vector_in(w: Option<&proto::WithVectorsSelector>) -> WithVector {
    use proto::with_vectors_selector::SelectorOptions;
    match w.and_then(|w| w.selector_options.as_ref()) {
        None => WithVector::Bool(false),
        Some(SelectorOptions::Enable(b)) => WithVector::Bool(*b),
        Some(SelectorOptions::Include(s)) => WithVector::Selector(s.names.clone()),
    }
}

pub fn filter_in(f: Option<&proto::Filter>) -> Result<Option<Filter>, Status> {
    let Some(f) = f else { return Ok(None) };
    let j = filter_json(f)?;
    serde_json::from_value(j)
        .map(Some)
        .map_err(|e| validation(format!("filter: {e}")))
}

fn filter_json(f: &proto::Filter) -> Result<Json, Status> {
    let conds = |cs: &[proto::Condition]| -> Result<Json, Status> {
        Ok(Json::Array(cs.iter().map(condition_json).collect::<Result<_, _>>()?))
    };
    let mut m = Map::new();
    if !f.must.is_empty() {
        m.insert("must".into(), conds(&f.must)?);
    }
    if !f.should.is_empty() {
        m.insert("should".into(), conds(&f.should)?);
    }
    if !f.must_not.is_empty() {
        m.insert("must_not".into(), conds(&f.must_not)?);
    }
    if let Some(ms) = &f.min_should {
        m.insert(
            "min_should".into(),
            json!({ "conditions": conds(&ms.conditions)?, "min_count": ms.min_count }),
        );
    }
    Ok(Json::Object(m))
}

fn condition_json(c: &proto::Condition) -> Result<Json, Status> {
    use condition::ConditionOneOf as C;
    match &c.condition_one_of {
        Some(C::Field(fc)) => field_json(fc),
        Some(C::IsEmpty(e)) => Ok(json!({ "is_empty": { "key": e.key } })),
        Some(C::IsNull(n)) => Ok(json!({ "is_null": { "key": n.key } })),
        Some(C::HasId(h)) => Ok(json!({
            "has_id": h.has_id.iter().map(point_id_json).collect::<Result<Vec<_>, _>>()?
        })),
        Some(C::Filter(f)) => filter_json(f),
        Some(C::Nested(n)) => Ok(json!({ "nested": {
            "key": n.key,
            "filter": filter_json(n.filter.as_ref().unwrap_or(&proto::Filter::default()))?,
        } })),
        Some(C::HasVector(v)) => Ok(json!({ "has_vector": v.has_vector })),
        None => Err(validation("filter: empty condition")),
    }
}

fn field_json(fc: &proto::FieldCondition) -> Result<Json, Status> {
    use r#match::MatchValue as M;
    let mut m = Map::new();
    m.insert("key".into(), json!(fc.key));
    if let Some(mv) = fc.r#match.as_ref().and_then(|m| m.match_value.as_ref()) {
        let j = match mv {
            M::Keyword(s) => json!({ "value": s }),
            M::Integer(i) => json!({ "value": i }),
            M::Boolean(b) => json!({ "value": b }),
            M::Text(t) => json!({ "text": t }),
            M::Phrase(t) => json!({ "phrase": t }),
            M::TextAny(t) => json!({ "text_any": t }),
            M::Keywords(k) => json!({ "any": k.strings }),
            M::Integers(i) => json!({ "any": i.integers }),
            M::ExceptKeywords(k) => json!({ "except": k.strings }),
            M::ExceptIntegers(i) => json!({ "except": i.integers }),
        };
        m.insert("match".into(), j);
    }
    if let Some(r) = &fc.range {
        m.insert("range".into(), json!({ "lt": r.lt, "gt": r.gt, "gte": r.gte, "lte": r.lte }));
    }
    if let Some(r) = &fc.datetime_range {
        // RFC 3339 bounds: Qdrant's datetime range (prost's Timestamp prints RFC 3339).
        let b = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.to_string());
        m.insert("range".into(), json!({ "lt": b(&r.lt), "gt": b(&r.gt), "gte": b(&r.gte), "lte": b(&r.lte) }));
    }
    if let Some(v) = &fc.values_count {
        m.insert("values_count".into(), json!({ "lt": v.lt, "gt": v.gt, "gte": v.gte, "lte": v.lte }));
    }
    if let Some(b) = fc.is_empty {
        m.insert("is_empty".into(), json!(b));
    }
    if let Some(b) = fc.is_null {
        m.insert("is_null".into(), json!(b));
    }
    if fc.geo_bounding_box.is_some() || fc.geo_radius.is_some() || fc.geo_polygon.is_some() {
        return Err(Status::unimplemented(
            "geo conditions are not served by VectorStream's engine server",
        ));
    }
    Ok(Json::Object(m))
}

pub fn search_params_in(p: Option<&proto::SearchParams>) -> Result<Option<qdrant_edge::SearchParams>, Status> {
    let Some(p) = p else { return Ok(None) };
    let mut j = Map::new();
    if let Some(ef) = p.hnsw_ef {
        j.insert("hnsw_ef".into(), json!(ef));
    }
    j.insert("exact".into(), json!(p.exact.unwrap_or(false)));
    j.insert("indexed_only".into(), json!(p.indexed_only.unwrap_or(false)));
    if let Some(q) = &p.quantization {
        j.insert("quantization".into(), json!({ "ignore": q.ignore, "rescore": q.rescore, "oversampling": q.oversampling }));
    }
    serde_json::from_value(Json::Object(j))
        .map(Some)
        .map_err(|e| validation(format!("params: {e}")))
}

pub fn scored_out(p: ScoredPoint) -> proto::ScoredPoint {
    proto::ScoredPoint {
        id: Some(point_id_out(p.id)),
        payload: payload_out(p.payload),
        score: p.score,
        version: p.version,
        vectors: vectors_out(p.vector),
        shard_key: None,
        order_value: None,
    }
}

pub fn record_out(r: qdrant_edge::Record) -> proto::RetrievedPoint {
    proto::RetrievedPoint {
        id: Some(point_id_out(r.id)),
        payload: payload_out(r.payload),
        vectors: vectors_out(r.vector),
        shard_key: None,
        order_value: None,
    }
}

pub fn distance_in(d: i32) -> Result<qdrant_edge::Distance, Status> {
    use qdrant_edge::Distance as D;
    match proto::Distance::try_from(d) {
        Ok(proto::Distance::Cosine) => Ok(D::Cosine),
        Ok(proto::Distance::Euclid) => Ok(D::Euclid),
        Ok(proto::Distance::Dot) => Ok(D::Dot),
        Ok(proto::Distance::Manhattan) => Ok(D::Manhattan),
        _ => Err(wrong_input(format!("Unknown distance: {d}"))),
    }
}

pub fn payload_schema_in(t: Option<i32>) -> Result<Option<qdrant_edge::PayloadFieldSchema>, Status> {
    let Some(t) = t else { return Ok(None) };
    let name = match proto::FieldType::try_from(t) {
        Ok(proto::FieldType::Keyword) => "keyword",
        Ok(proto::FieldType::Integer) => "integer",
        Ok(proto::FieldType::Float) => "float",
        Ok(proto::FieldType::Geo) => "geo",
        Ok(proto::FieldType::Text) => "text",
        Ok(proto::FieldType::Bool) => "bool",
        Ok(proto::FieldType::Datetime) => "datetime",
        Ok(proto::FieldType::Uuid) => "uuid",
        Err(_) => return Err(wrong_input(format!("Unknown field type: {t}"))),
    };
    serde_json::from_value(json!(name))
        .map(Some)
        .map_err(|e| validation(format!("field_type: {e}")))
}

pub fn payload_schema_type_out(t: PayloadSchemaType) -> proto::PayloadSchemaType {
    use proto::PayloadSchemaType as P;
    match t {
        PayloadSchemaType::Keyword => P::Keyword,
        PayloadSchemaType::Integer => P::Integer,
        PayloadSchemaType::Float => P::Float,
        PayloadSchemaType::Geo => P::Geo,
        PayloadSchemaType::Text => P::Text,
        PayloadSchemaType::Bool => P::Bool,
        PayloadSchemaType::Datetime => P::Datetime,
        PayloadSchemaType::Uuid => P::Uuid,
    }
}
