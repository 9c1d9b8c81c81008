"""The maths of theme extraction, written so that every machine gets the same answer.

Plain data in, plain data out (numpy and scipy.sparse; no nltk, no Flask).

Why this module exists: OpenBLAS picks its kernel by CPU (Prescott, Haswell, SkylakeX,
...) and by thread count, and each kernel sums in its own order. A truncated SVD and
sklearn's k-means both go through BLAS, and on short answers (many equal singular
values, many near-equal distances) a last-bit difference changed which answers shared
a theme. So nothing here calls BLAS:

* vectors are sparse rows (scipy.sparse), and every product is sparse x sparse or
  sparse x dense, which scipy computes in its own C++ loops in a fixed order;
* logarithms of document frequencies go through ``math.log`` once per distinct value,
  and the TF-IDF weights are rounded to 12 decimals, so a last-bit difference in a
  libm cannot reach a decision;
* similarities are rounded to 9 decimals before every comparison, and every tie is
  broken by the lowest index (answer, theme or run);
* random choices come from ``numpy.random.default_rng(seed)`` (PCG64, the same stream
  on every platform).

``spherical_kmeans`` clusters unit-length rows by cosine similarity; ``silhouette``
scores a clustering by cosine distance, exactly (no sampling), in O(non-zeros x k).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy import sparse

_DECIMALS = 9          # similarities are compared at this precision
_WEIGHT_DECIMALS = 12  # TF-IDF weights are stored at this precision
_MAX_ITERATIONS = 100


def tfidf(terms: list[list[str]], min_df: int) -> tuple[sparse.csr_matrix, list[str], np.ndarray]:
    """Unit-length sublinear TF-IDF rows (one per document, in order), the vocabulary
    (sorted) and a mask of the documents that kept at least one term.

    Weights are sklearn's (smooth idf: ln((1 + n) / (1 + df)) + 1; tf: 1 + ln(count)),
    computed with ``math.log`` and rounded, so they are the same on every machine.
    """
    n = len(terms)
    df = Counter(t for doc in terms for t in set(doc))
    vocabulary = sorted(t for t, f in df.items() if f >= min_df)
    column = {t: j for j, t in enumerate(vocabulary)}
    indptr, indices, data = [0], [], []
    for doc in terms:
        counts = Counter(t for t in doc if t in column)
        row = sorted((column[t], c) for t, c in counts.items())
        for j, c in row:
            indices.append(j)
            data.append(1.0 + math.log(c) if c > 1 else 1.0)
        indptr.append(len(indices))
    idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in vocabulary], dtype=np.float64)
    matrix = sparse.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                                np.asarray(indptr, dtype=np.int64)), shape=(n, len(vocabulary)))
    if matrix.nnz:
        matrix.data *= idf[matrix.indices]
    matrix = normalise_rows(matrix)
    matrix.data = np.round(matrix.data, _WEIGHT_DECIMALS)
    present = np.diff(matrix.indptr) > 0
    return matrix, vocabulary, present


def normalise_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Rows scaled to unit length (zero rows stay zero); sums in a fixed order."""
    matrix = sparse.csr_matrix(matrix, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    squares = matrix.multiply(matrix)
    norms = np.sqrt(np.asarray(squares.sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    lengths = np.diff(matrix.indptr)
    matrix.data /= np.repeat(norms, lengths)
    return matrix


def smooth(matrix: sparse.csr_matrix, neighbours: int = 20, weight: float = 0.5,
           min_similarity: float = 0.1) -> sparse.csr_matrix:
    """Unit rows of ``matrix + weight * matrix @ S``, where S links each term to its
    ``neighbours`` most similar terms (cosine of their answer columns, at least
    ``min_similarity``; ties to the lower column).

    Short answers share few words: "street lights" and "lamps out at night" have none in
    common. Each answer also leans a little towards the words that answers like it use,
    which does what an SVD (LSA) did for the old engine, but with sparse products only,
    so it is the same on every machine (an SVD cut through equal singular values
    differently per BLAS kernel).
    """
    terms = matrix.shape[1]
    if terms == 0 or matrix.nnz == 0:
        return matrix
    cooccurrence = (matrix.T @ matrix).tocsr()
    norms = np.sqrt(cooccurrence.diagonal())
    norms[norms == 0] = 1.0
    scale = sparse.diags(1.0 / norms)
    cosine = (scale @ cooccurrence @ scale).tocsr()
    cosine.setdiag(0.0)
    cosine.eliminate_zeros()
    cosine.data = np.round(cosine.data, _DECIMALS)
    rows = np.repeat(np.arange(terms), np.diff(cosine.indptr))
    order = np.lexsort((cosine.indices, -cosine.data, rows))      # by row, best first
    rank = np.arange(len(order)) - cosine.indptr[rows[order]]
    keep = order[(rank < neighbours) & (cosine.data[order] >= min_similarity)]
    links = sparse.csr_matrix((cosine.data[keep], (rows[keep], cosine.indices[keep])),
                              shape=(terms, terms))
    smoothed = normalise_rows(matrix + weight * (matrix @ links))
    smoothed.data = np.round(smoothed.data, _WEIGHT_DECIMALS)
    return smoothed


def _normalise_dense(centroids: np.ndarray) -> np.ndarray:
    norms = np.sqrt((centroids * centroids).sum(axis=1))
    norms[norms == 0] = 1.0
    return centroids / norms[:, None]


def distinct_rows(matrix: sparse.csr_matrix) -> int:
    """How many different rows ``matrix`` holds (rows equal to 9 decimals are one)."""
    seen = set()
    data = np.round(matrix.data, _DECIMALS)
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        seen.add((matrix.indices[start:end].tobytes(), data[start:end].tobytes()))
    return len(seen)


def similarities(matrix: sparse.csr_matrix, centroids: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row to every centroid, rounded (sparse x dense: scipy's
    own loops, no BLAS)."""
    product = matrix @ np.ascontiguousarray(np.asarray(centroids, dtype=np.float64).T)
    return np.round(np.asarray(product), _DECIMALS)


def cluster_centroids(matrix: sparse.csr_matrix, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit-length mean direction of each cluster's rows (zero for an empty cluster)."""
    n = matrix.shape[0]
    membership = sparse.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    return _normalise_dense((membership @ matrix).toarray())


def _seed_centroids(matrix: sparse.csr_matrix, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ on cosine distance: each next seed drawn with probability proportional
    to its distance from the nearest seed so far."""
    n = matrix.shape[0]
    first = int(rng.integers(n))
    chosen = [first]
    nearest = 1.0 - similarities(matrix, matrix[first].toarray()).ravel()
    nearest = np.maximum(nearest, 0.0)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:
            # Every row equals a seed already: take the first row not chosen.
            remaining = np.setdiff1d(np.arange(n), chosen)
            pick = int(remaining[0])
        else:
            cumulative = np.cumsum(nearest)
            pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
            pick = min(pick, n - 1)
        chosen.append(pick)
        distance = np.maximum(1.0 - similarities(matrix, matrix[pick].toarray()).ravel(), 0.0)
        nearest = np.minimum(nearest, distance)
    return matrix[chosen].toarray()


def _fit(matrix: sparse.csr_matrix, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd iterations on cosine similarity from ``centroids``: (labels, centroids,
    objective = summed similarity of each row to its centroid, rounded)."""
    k = centroids.shape[0]
    labels = None
    for _ in range(_MAX_ITERATIONS):
        scores = similarities(matrix, centroids)
        new = np.argmax(scores, axis=1)          # ties: the lowest theme index
        # An emptied cluster takes the row that fits its own cluster worst (lowest index
        # on ties), so k clusters stay k.
        counts = np.bincount(new, minlength=k)
        if (counts == 0).any():
            fit = scores[np.arange(len(new)), new]
            taken = set()
            for c in np.flatnonzero(counts == 0):
                order = np.lexsort((np.arange(len(fit)), fit))
                for row in order:
                    if row not in taken and counts[new[row]] > 1:
                        counts[new[row]] -= 1
                        new[row] = c
                        counts[c] += 1
                        taken.add(int(row))
                        break
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        centroids = cluster_centroids(matrix, labels, k)
    scores = similarities(matrix, centroids)
    objective = round(float(scores[np.arange(len(labels)), labels].sum()), 6)
    return labels, centroids, objective


def spherical_kmeans(matrix: sparse.csr_matrix, k: int, seed: int, n_init: int = 10,
                     init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, unit centroids) of the best of ``n_init`` k-means++ starts (highest summed
    cosine similarity; the earliest start on a tie), or of one fit from ``init``."""
    n = matrix.shape[0]
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64), cluster_centroids(matrix, np.zeros(n, dtype=np.int64), 1)
    if init is not None:
        labels, centroids, _ = _fit(matrix, np.asarray(init, dtype=np.float64))
        return labels, centroids
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
        labels, centroids, objective = _fit(matrix, _seed_centroids(matrix, k, rng))
        if best is None or objective > best[2]:
            best = (labels, centroids, objective)
    return best[0], best[1]


def silhouette(matrix: sparse.csr_matrix, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance, exactly as sklearn defines it (a row alone
    in its cluster scores 0), from per-cluster sums: O(non-zeros x k), no n x n matrix."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    n = matrix.shape[0]
    membership = sparse.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    sums = (membership @ matrix).toarray()                 # k x terms
    to_cluster = similarities(matrix, sums)                # row . sum of each cluster
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    self_similarity = np.round(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel(), _DECIMALS)
    rows = np.arange(n)
    own = sizes[labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_distance = 1.0 - to_cluster / sizes[None, :]
        a = 1.0 - (to_cluster[rows, labels] - self_similarity) / (own - 1)
    mean_distance[rows, labels] = np.inf
    mean_distance[:, sizes == 0] = np.inf
    b = mean_distance.min(axis=1)
    a = np.round(a, _DECIMALS)
    b = np.round(b, _DECIMALS)
    denominator = np.maximum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where((own > 1) & (denominator > 0), (b - a) / denominator, 0.0)
    return float(score.mean())
