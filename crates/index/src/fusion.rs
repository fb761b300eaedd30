//! One explicit merge of the dense and lexical rankings.
//!
//! Two families, both chosen between by `quarry eval` (see BENCHMARKS.md):
//! - **Weighted reciprocal rank fusion**: a chunk at 1-based rank r in a
//!   list gets `weight / (k + r)` from it. Needs no calibration between
//!   cosine and BM25, but throws away how far apart the scores are.
//! - **Convex combination of normalised scores** (Bruch et al., "An
//!   Analysis of Fusion Functions for Hybrid Retrieval", 2023): each list's
//!   raw scores are scaled to [0, 1], and a chunk scores
//!   `dense_weight · d + lexical_weight · l`, with 0 for a list that did not
//!   retrieve it. The scale's top is the query's best score; its bottom is
//!   either the worst candidate retrieved (min-max) or the score function's
//!   own floor (−1 for cosine, 0 for BM25: "theoretical min-max"), which
//!   does not move with how many candidates were taken.

use serde::{Deserialize, Serialize};

/// How the two lists are merged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum FusionMethod {
    /// Weighted reciprocal rank fusion with constant `k`.
    Rrf { k: f32 },
    /// Convex combination of per-query normalised scores.
    Convex { normalization: Normalization },
}

/// How a convex combination scales each list's raw scores to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// From the worst to the best candidate retrieved for this query.
    MinMax,
    /// From the score function's floor (cosine −1, BM25 0) to the best
    /// candidate: the same whatever the candidate depth.
    TheoreticalMin,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionConfig {
    #[serde(flatten)]
    pub method: FusionMethod,
    pub dense_weight: f32,
    pub lexical_weight: f32,
}

impl FusionConfig {
    pub const fn rrf(k: f32, dense_weight: f32, lexical_weight: f32) -> Self {
        FusionConfig {
            method: FusionMethod::Rrf { k },
            dense_weight,
            lexical_weight,
        }
    }

    /// Convex combination with `alpha` on the dense side, `1 − alpha` on
    /// the lexical side.
    pub const fn convex(alpha: f32, normalization: Normalization) -> Self {
        FusionConfig {
            method: FusionMethod::Convex { normalization },
            dense_weight: alpha,
            lexical_weight: 1.0 - alpha,
        }
    }

    /// The dense ranking alone (for evaluation).
    pub const fn dense_only() -> Self {
        FusionConfig::rrf(60.0, 1.0, 0.0)
    }

    /// The lexical ranking alone (for evaluation).
    pub const fn lexical_only() -> Self {
        FusionConfig::rrf(60.0, 0.0, 1.0)
    }

    /// A short human label, e.g. `rrf(k=60, dense 1, lexical 1)`.
    pub fn label(&self) -> String {
        // Two decimals at most: weights such as 1 − 0.35 are not exact in f32.
        let weight = |w: f32| (w * 100.0).round() / 100.0;
        let (dense, lexical) = (weight(self.dense_weight), weight(self.lexical_weight));
        match self.method {
            FusionMethod::Rrf { k } => format!("rrf(k={k}, dense {dense}, lexical {lexical})"),
            FusionMethod::Convex { normalization } => format!(
                "convex({}, dense {dense}, lexical {lexical})",
                match normalization {
                    Normalization::MinMax => "min-max",
                    Normalization::TheoreticalMin => "theoretical min-max",
                }
            ),
        }
    }
}

/// Chosen with `quarry eval --tune` on SciFact (BENCHMARKS.md): of 93
/// fusions, the convex combination of min-max scores with equal weights was
/// best on the tuning half of the queries at 50, 100 and 300 candidates,
/// and on the held-out half it scored nDCG@10 0.769 against dense 0.724,
/// BM25 0.728 and RRF (k 60) 0.764 (300 candidates). Before BM25 scored
/// chunks in their neighbourhood, 0.55 on the dense side had won.
impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig::convex(0.5, Normalization::MinMax)
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

/// One list's scaling of raw scores to [0, 1]. A list whose scores span
/// nothing maps them all to 1: each is as good as the best.
struct Scale {
    min: f32,
    span: f32,
}

impl Scale {
    /// `floor`: the score function's lowest value, or `None` for the list's own minimum.
    fn of(list: &[(u64, f32)], floor: Option<f32>) -> Self {
        let (min, max) = list
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &(_, s)| {
                (lo.min(s), hi.max(s))
            });
        let min = floor.unwrap_or(min);
        Scale { min, span: max - min }
    }

    fn apply(&self, score: f32) -> f32 {
        if self.span > 0.0 {
            ((score - self.min) / self.span).max(0.0)
        } else {
            1.0
        }
    }
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
        let floor = match config.method {
            FusionMethod::Convex {
                normalization: Normalization::TheoreticalMin,
            } => Some(if is_dense { -1.0 } else { 0.0 }),
            _ => None,
        };
        let scale = Scale::of(list, floor);
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
                hit.score += weight
                    * match config.method {
                        FusionMethod::Rrf { k } => 1.0 / (k + (i + 1) as f32),
                        FusionMethod::Convex { .. } => scale.apply(score),
                    };
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
        let plain = FusionConfig::rrf(60.0, 1.0, 1.0);
        assert_eq!(order(&dense, &lexical, plain), vec![3, 2, 1, 4]);
        let lexical_heavy = FusionConfig::rrf(60.0, 1.0, 3.0);
        // 2: 1/62 + 3/63 = 0.0638 > 4: 3/62 = 0.0484 > 1: 1/61; the weight lifts 4 over 1.
        assert_eq!(order(&dense, &lexical, lexical_heavy), vec![3, 2, 4, 1]);
        assert_eq!(
            order(&dense, &lexical, FusionConfig::dense_only())[..3],
            [1, 2, 3]
        );
        assert_eq!(
            order(&dense, &lexical, FusionConfig::lexical_only())[..3],
            [3, 4, 2]
        );
    }

    #[test]
    fn convex_combination_uses_score_gaps() {
        // Dense: 1 is far ahead of 2 and 3 (normalised 1, 0.5, 0); lexical:
        // 3 barely leads 4 (1, 0.95), and 2 trails at 0.
        let dense = [(1, 0.9), (2, 0.6), (3, 0.3)];
        let lexical = [(3, 10.0), (4, 9.8), (2, 6.0)];
        // alpha 0.5: 1 -> 0.5, 2 -> 0.25, 3 -> 0.5, 4 -> 0.475; 1 and 3 tie
        // at 0.5 and break by best single rank (both 1), then id.
        let fused = fuse(
            &dense,
            &lexical,
            &FusionConfig::convex(0.5, Normalization::MinMax),
        );
        let ids: Vec<u64> = fused.iter().map(|f| f.chunk_id).collect();
        assert_eq!(ids, vec![1, 3, 4, 2]);
        assert!((fused[2].scores.score - 0.475).abs() < 1e-6);
        // Under RRF the same lists put 3 (in both) first and 4 (in one) last.
        assert_eq!(
            order(&dense, &lexical, FusionConfig::rrf(60.0, 1.0, 1.0)),
            vec![3, 2, 1, 4]
        );
        // Equal scores in a list all normalise to 1.
        let flat = fuse(
            &[(5, 0.4), (6, 0.4)],
            &[],
            &FusionConfig::convex(1.0, Normalization::MinMax),
        );
        assert_eq!(
            flat.iter().map(|f| f.scores.score).collect::<Vec<_>>(),
            vec![1.0, 1.0]
        );
        // Theoretical min-max: cosine from -1, BM25 from 0, so 2's dense 0.6
        // is (0.6 + 1) / 1.9 and 4's BM25 9.8 is 9.8 / 10.
        let tmm = fuse(
            &dense,
            &lexical,
            &FusionConfig::convex(0.5, Normalization::TheoreticalMin),
        );
        let score_of = |id| tmm.iter().find(|f| f.chunk_id == id).unwrap().scores.score;
        assert!((score_of(2) - 0.5 * (1.6 / 1.9 + 0.6)).abs() < 1e-6);
        assert!((score_of(4) - 0.5 * 0.98).abs() < 1e-6);
        // Taking fewer candidates does not change the scores of those kept.
        let shallow = fuse(
            &dense[..2],
            &lexical[..2],
            &FusionConfig::convex(0.5, Normalization::TheoreticalMin),
        );
        let one = shallow.iter().find(|f| f.chunk_id == 1).unwrap().scores.score;
        assert_eq!(one, score_of(1));
    }

    #[test]
    fn provenance() {
        let fused = fuse(
            &[(7, 0.5)],
            &[(8, 3.0), (7, 2.0)],
            &FusionConfig::rrf(60.0, 1.0, 1.0),
        );
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
