//! Ranking metrics as BEIR reports them (pytrec_eval, i.e. trec_eval, for
//! nDCG and recall; BEIR's own MRR), written here because no maintained
//! Rust crate computes trec_eval's definitions exactly.
//!
//! - A run is sorted by score, descending; ties are broken by document id,
//!   descending, as trec_eval's `comp_sim_docno` does.
//! - nDCG@k: gain is the graded relevance itself (not 2^rel − 1), discount
//!   log2(rank + 1); the ideal ranking takes every judged document of the
//!   query sorted by relevance. Relevance ≤ 0 gains nothing.
//! - Recall@k: relevant (relevance ≥ 1) documents in the top k over all
//!   relevant documents of the query.
//! - MRR@k: 1 / rank of the first relevant document in the top k, else 0.
//! - Means are over every evaluated query; a query with no results scores
//!   0 (pytrec_eval would drop it, which flatters a run that returns nothing).

use std::collections::HashMap;

use serde::Serialize;

/// Relevance judgements of one query: document id → graded relevance.
pub type Judgements = HashMap<String, i32>;

/// One query's (or the mean of many queries') scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@10")]
    pub recall_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
}

/// Sort a run the way trec_eval does: score descending, then id descending.
pub fn trec_order(run: &mut [(String, f32)]) {
    run.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
}

fn ndcg_at(ranked: &[(String, f32)], judged: &Judgements, k: usize) -> f64 {
    let gain = |rel: i32| rel.max(0) as f64;
    let discount = |i: usize| (i as f64 + 2.0).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, (id, _))| gain(judged.get(id).copied().unwrap_or(0)) / discount(i))
        .sum();
    let mut ideal: Vec<i32> = judged.values().copied().filter(|&r| r > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &rel)| gain(rel) / discount(i))
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

fn recall_at(ranked: &[(String, f32)], judged: &Judgements, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&r| r >= 1).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|(id, _)| judged.get(id).is_some_and(|&r| r >= 1))
        .count();
    found as f64 / relevant as f64
}

fn mrr_at(ranked: &[(String, f32)], judged: &Judgements, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|(id, _)| judged.get(id).is_some_and(|&r| r >= 1))
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

/// Score one query's run (any order; it is sorted here) against its judgements.
pub fn score_query(mut run: Vec<(String, f32)>, judged: &Judgements) -> Metrics {
    trec_order(&mut run);
    Metrics {
        ndcg_at_10: ndcg_at(&run, judged, 10),
        recall_at_10: recall_at(&run, judged, 10),
        recall_at_100: recall_at(&run, judged, 100),
        mrr_at_10: mrr_at(&run, judged, 10),
    }
}

/// The mean of per-query metrics (0 for none).
pub fn mean(per_query: &[Metrics]) -> Metrics {
    let n = per_query.len().max(1) as f64;
    let sum = |f: fn(&Metrics) -> f64| per_query.iter().map(f).sum::<f64>() / n;
    Metrics {
        ndcg_at_10: sum(|m| m.ndcg_at_10),
        recall_at_10: sum(|m| m.recall_at_10),
        recall_at_100: sum(|m| m.recall_at_100),
        mrr_at_10: sum(|m| m.mrr_at_10),
    }
}

#[cfg(test)]
mod tests {
    //! A hand-checked toy run. Judgements: a=2, b=1, c=0 (judged, not
    //! relevant), d=1. The run (already in score order except for a tie):
    //!   x 0.9, a 0.8, c 0.7, [b 0.5, y 0.5], d 0.1
    //! The tie between b and y breaks by id descending: y before b.
    //! So the ranking is x, a, c, y, b, d (ranks 1..6), with gains
    //! 0, 2, 0, 0, 1, 1.
    //!   DCG@10  = 2/log2(3) + 1/log2(6) + 1/log2(7)
    //!           = 1.261860 + 0.386853 + 0.356207 = 2.004920
    //!   IDCG@10 = 2/log2(2) + 1/log2(3) + 1/log2(4)
    //!           = 2 + 0.630930 + 0.5 = 3.130930
    //!   nDCG@10 = 0.640359
    //!   Recall@10 = 3 relevant of 3 = 1; MRR@10 = 1/2 (a at rank 2).
    //! With the top 3 only (x, a, c): recall 1/3.
    use super::*;

    fn judged() -> Judgements {
        [("a", 2), ("b", 1), ("c", 0), ("d", 1)]
            .into_iter()
            .map(|(id, r)| (id.to_string(), r))
            .collect()
    }

    fn run(items: &[(&str, f32)]) -> Vec<(String, f32)> {
        items.iter().map(|(id, s)| (id.to_string(), *s)).collect()
    }

    #[test]
    fn toy_run_matches_hand_computation() {
        let m = score_query(
            run(&[
                ("d", 0.1),
                ("x", 0.9),
                ("b", 0.5),
                ("a", 0.8),
                ("y", 0.5),
                ("c", 0.7),
            ]),
            &judged(),
        );
        assert!((m.ndcg_at_10 - 0.640359).abs() < 1e-5, "{m:?}");
        assert_eq!(m.recall_at_10, 1.0);
        assert_eq!(m.recall_at_100, 1.0);
        assert_eq!(m.mrr_at_10, 0.5);
        let top3 = score_query(run(&[("x", 0.9), ("a", 0.8), ("c", 0.7)]), &judged());
        assert!((top3.recall_at_10 - 1.0 / 3.0).abs() < 1e-12);
        // DCG 2/log2(3) = 1.261860 over the same IDCG.
        assert!((top3.ndcg_at_10 - 1.261860 / 3.130930).abs() < 1e-5);
    }

    #[test]
    fn ties_break_by_id_descending() {
        let mut r = run(&[("b", 1.0), ("c", 1.0), ("a", 2.0)]);
        trec_order(&mut r);
        let ids: Vec<&str> = r.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        // The tie decides MRR: c (not relevant) before b (relevant).
        let m = score_query(run(&[("b", 1.0), ("c", 1.0)]), &judged());
        assert_eq!(m.mrr_at_10, 0.5);
    }

    #[test]
    fn perfect_empty_and_mean() {
        let perfect = score_query(run(&[("a", 3.0), ("b", 2.0), ("d", 1.5)]), &judged());
        assert!((perfect.ndcg_at_10 - 1.0).abs() < 1e-12);
        assert_eq!(perfect.mrr_at_10, 1.0);
        let empty = score_query(Vec::new(), &judged());
        assert_eq!(empty, Metrics::default());
        let m = mean(&[perfect, empty]);
        assert!((m.ndcg_at_10 - 0.5).abs() < 1e-12);
        assert_eq!(m.recall_at_100, 0.5);
        // Ranks beyond 10 count for recall@100 only.
        let mut deep: Vec<(String, f32)> = (0..20).map(|i| (format!("z{i:02}"), 100.0 - i as f32)).collect();
        deep.push(("a".into(), 1.0));
        let m = score_query(deep, &judged());
        assert_eq!((m.recall_at_10, m.mrr_at_10, m.ndcg_at_10), (0.0, 0.0, 0.0));
        assert!((m.recall_at_100 - 1.0 / 3.0).abs() < 1e-12);
    }
}
