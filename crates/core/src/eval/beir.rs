//! Reading a dataset in BEIR's layout: `corpus.jsonl` (`_id`, `title`,
//! `text`), `queries.jsonl` (`_id`, `text`) and `qrels/<split>.tsv`
//! (`query-id`, `corpus-id`, `score`, with a header line).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::metrics::Judgements;
use super::EvalError;

/// One corpus record.
#[derive(Debug, Clone, Deserialize)]
pub struct CorpusRecord {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Deserialize)]
struct QueryRecord {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// A query that has judgements in the chosen split.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub text: String,
    pub judged: Judgements,
}

#[derive(Debug, Clone)]
pub struct BeirDataset {
    pub dir: PathBuf,
    pub corpus: Vec<CorpusRecord>,
    /// The split's queries, ordered by id.
    pub queries: Vec<Query>,
}

impl BeirDataset {
    /// Load `dir`, evaluating the queries judged in `qrels/<split>.tsv`.
    pub fn load(dir: &Path, split: &str) -> Result<Self, EvalError> {
        let corpus: Vec<CorpusRecord> = read_jsonl(&dir.join("corpus.jsonl"))?;
        if corpus.is_empty() {
            return Err(EvalError::Dataset {
                path: dir.join("corpus.jsonl"),
                detail: "the corpus is empty".into(),
            });
        }
        let texts: HashMap<String, String> = read_jsonl::<QueryRecord>(&dir.join("queries.jsonl"))?
            .into_iter()
            .map(|q| (q.id, q.text))
            .collect();
        let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
        let qrels = read_qrels(&qrels_path)?;
        let mut queries = Vec::with_capacity(qrels.len());
        for (id, judged) in qrels {
            let text = texts.get(&id).ok_or_else(|| EvalError::Dataset {
                path: qrels_path.clone(),
                detail: format!("query {id} is judged but not in queries.jsonl"),
            })?;
            queries.push(Query {
                id,
                text: text.clone(),
                judged,
            });
        }
        if queries.is_empty() {
            return Err(EvalError::Dataset {
                path: qrels_path,
                detail: "no judged queries".into(),
            });
        }
        Ok(BeirDataset {
            dir: dir.to_path_buf(),
            corpus,
            queries,
        })
    }
}

fn open_lines(path: &Path) -> Result<std::io::Lines<std::io::BufReader<std::fs::File>>, EvalError> {
    let file = std::fs::File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(std::io::BufReader::new(file).lines())
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in open_lines(path)?.enumerate() {
        let line = line.map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| EvalError::Dataset {
            path: path.to_path_buf(),
            detail: format!("line {}: {e}", i + 1),
        })?);
    }
    Ok(out)
}

/// query id → judgements, ordered by query id.
fn read_qrels(path: &Path) -> Result<BTreeMap<String, Judgements>, EvalError> {
    let mut qrels: BTreeMap<String, Judgements> = BTreeMap::new();
    for (i, line) in open_lines(path)?.enumerate() {
        let line = line.map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        if line.trim().is_empty() || (i == 0 && fields.first() == Some(&"query-id")) {
            continue;
        }
        let bad = |detail: String| EvalError::Dataset {
            path: path.to_path_buf(),
            detail: format!("line {}: {detail}", i + 1),
        };
        let [query, doc, score] = fields[..] else {
            return Err(bad(format!(
                "expected 3 tab-separated fields, found {}",
                fields.len()
            )));
        };
        let score: i32 = score
            .parse()
            .map_err(|_| bad(format!("score {score:?} is not an integer")))?;
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), score);
    }
    Ok(qrels)
}
