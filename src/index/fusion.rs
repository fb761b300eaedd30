//! One explicit merge of the dense and lexical rankings.
//!
//! Weighted reciprocal rank fusion: a chunk at 1-based rank r in a list gets
//! `weight / (k + r)` from it; the sums rank the fused list. RRF needs no
//! score calibration between cosine and BM25, which live on unrelated scales.
//! k = 60 is the value of Cormack et al. (2009); the weights are exposed so an
//! evaluation can choose them (see the eval issue).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionConfig {
    pub rrf_k: f32,
    pub dense_weight: f32,
    pub lexical_weight: f32,
}

impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig {
            rrf_k: 60.0,
            dense_weight: 1.0,
            lexical_weight: 1.0,
        }
    }
}

/// Why a hit ranks where it does: its fused score and its rank and raw score
/// in each retriever (ranks are 1-based; `None` where it was not retrieved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HitScores {
    /// The fused score.
    pub score: f32,
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
}

/// A fused hit: a chunk id and its scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fused {
    pub chunk_id: u64,
    #[serde(flatten)]
    pub scores: HitScores,
}

/// Fuse two best-first lists of (chunk id, score). Ties break by the better
/// single rank, then by chunk id, so the order is deterministic.
pub fn fuse(dense: &[(u64, f32)], lexical: &[(u64, f32)], config: &FusionConfig) -> Vec<Fused> {
    let mut by_id: std::collections::HashMap<u64, Fused> = std::collections::HashMap::new();
    let lists = [
        (dense, config.dense_weight, true),
        (lexical, config.lexical_weight, false),
    ];
    for (list, weight, is_dense) in lists {
        for (i, &(id, score)) in list.iter().enumerate() {
            let hit = &mut by_id
                .entry(id)
                .or_insert_with(|| Fused {
                    chunk_id: id,
                    scores: HitScores::default(),
                })
                .scores;
            let (rank, raw) = if is_dense {
                (&mut hit.dense_rank, &mut hit.dense_score)
            } else {
                (&mut hit.lexical_rank, &mut hit.lexical_score)
            };
            // A list should not repeat an id; if it does, its best rank counts.
            if rank.is_none() {
                *rank = Some(i + 1);
                *raw = Some(score);
                hit.score += weight / (config.rrf_k + (i + 1) as f32);
            }
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    let best_rank = |f: &Fused| {
        f.scores
            .dense_rank
            .unwrap_or(usize::MAX)
            .min(f.scores.lexical_rank.unwrap_or(usize::MAX))
    };
    out.sort_by(|a, b| {
        b.scores
            .score
            .total_cmp(&a.scores.score)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
            .then_with(|| a.chunk_id.cmp(&b.chunk_id))
    });
    out
}

#[cfg(test)]
mod tests {
    //! Properties: agreement beats a single high rank; weights shift the
    //! order; provenance survives; order is deterministic.
    use super::*;

    fn order(dense: &[(u64, f32)], lexical: &[(u64, f32)], config: FusionConfig) -> Vec<u64> {
        fuse(dense, lexical, &config).iter().map(|f| f.chunk_id).collect()
    }

    #[test]
    fn known_orders() {
        let dense = [(1, 0.9), (2, 0.8), (3, 0.7)];
        let lexical = [(3, 12.0), (4, 9.0), (2, 5.0)];
        // 2: 1/62 + 1/63, 3: 1/63 + 1/61 -> 3 first, then 2, then 1 (1/61), then 4 (1/62).
        assert_eq!(order(&dense, &lexical, FusionConfig::default()), vec![3, 2, 1, 4]);
        let lexical_heavy = FusionConfig {
            lexical_weight: 3.0,
            ..Default::default()
        };
        // 2: 1/62 + 3/63 = 0.0638 > 4: 3/62 = 0.0484 > 1: 1/61; the weight lifts 4 over 1.
        assert_eq!(order(&dense, &lexical, lexical_heavy), vec![3, 2, 4, 1]);
        let dense_only = FusionConfig {
            lexical_weight: 0.0,
            ..Default::default()
        };
        assert_eq!(order(&dense, &lexical, dense_only)[..3], [1, 2, 3]);
    }

    #[test]
    fn provenance() {
        let fused = fuse(&[(7, 0.5)], &[(8, 3.0), (7, 2.0)], &FusionConfig::default());
        let seven = fused.iter().find(|f| f.chunk_id == 7).unwrap();
        assert_eq!(
            (seven.scores.dense_rank, seven.scores.lexical_rank),
            (Some(1), Some(2))
        );
        assert_eq!(
            (seven.scores.dense_score, seven.scores.lexical_score),
            (Some(0.5), Some(2.0))
        );
        let eight = fused.iter().find(|f| f.chunk_id == 8).unwrap();
        assert_eq!(
            (eight.scores.dense_rank, eight.scores.lexical_rank),
            (None, Some(1))
        );
    }
}
