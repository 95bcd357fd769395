// Package embed owns VectorStream's text embedder: the locale-aware
// tokenizer, the vocabulary (minimum document frequency, size cap,
// deterministic order), TF-IDF weighting (sublinear tf, smoothed idf), the
// randomized SVD fit of the catalog's TF-IDF matrix, the versioned and
// checksummed model file, and the batch Encoder that turns documents into
// L2-normalised float32 vectors with one kernels.Backend call per batch.
//
// embed does the text work only; matrices are multiplied by kernels. It must
// not import the pipeline, the workloads generator or any I/O client, must
// not log, and must not cache embeddings per product: every Encode call
// tokenizes and projects its documents afresh.
//
// # Model choice
//
// The projection stored in a Model is V_k, the top Dim right singular
// vectors of the catalog's row-normalised TF-IDF matrix A (vocabulary ×
// Dim, unscaled). A document's embedding is normalize(x·V_k) where x is its
// TF-IDF row. For a catalog document x·V_k = u·Σ_k, the row of U_k·Σ_k, so
// embeddings are what scikit-learn's TruncatedSVD.transform gives, L2
// normalised. Because the projection is linear and the result is normalised,
// the Encoder does not L2-normalise TF-IDF rows before projecting (the fit
// does, so that long documents do not dominate the SVD). If the vocabulary
// or catalog is smaller than Dim, the missing directions are zero columns:
// the vector length is always Dim.
package embed
