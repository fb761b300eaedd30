//! Properties: Quarry's vectors are the ones sentence-transformers computes
//! (cosine >= 0.999 for every reference sentence, including one longer than
//! the 256-piece window); pooling comes from the folder; a corrupt weights
//! file is a clear error naming the file.

use quarry_embed::bert::Pooling;
use quarry_embed::{Embedder, SentenceEncoder};
use serde::Deserialize;

use crate::support::{copy_model_files, embedder, model_dir, repo};

#[derive(Deserialize)]
struct Reference {
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    embedding: Vec<f32>,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn matches_sentence_transformers() {
    let bytes = std::fs::read(repo().join("tests/data/st_reference.json")).unwrap();
    let reference: Reference = serde_json::from_slice(&bytes).unwrap();
    assert!(reference.items.len() >= 10);
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    // All at once: exercises length-sorted batching and padding.
    let ours = embedder().embed(&texts).unwrap();
    for (item, v) in reference.items.iter().zip(&ours) {
        assert_eq!(v.len(), 384);
        let c = cosine(v, &item.embedding);
        assert!(
            c >= 0.999,
            "cosine {c} for {:?}",
            &item.text[..item.text.len().min(40)]
        );
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
    }
    // One at a time gives the same vectors as in a padded batch.
    let single = embedder().embed(&texts[..1]).unwrap();
    assert!(cosine(&single[0], &ours[0]) > 0.99999);
}

#[test]
fn identity_and_pooling_come_from_the_folder() {
    let e = embedder();
    assert_eq!(e.pooling(), Pooling::Mean);
    assert_eq!(e.max_tokens(), 256);
    let id = e.identity();
    assert_eq!(id.name, "all-MiniLM-L6-v2");
    assert_eq!(id.dimension, 384);
    assert_eq!(
        id.weights_sha256,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    );
}

#[test]
fn corrupt_weights_are_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let src = model_dir();
    copy_model_files(
        tmp.path(),
        &[
            "config.json",
            "tokenizer.json",
            "sentence_bert_config.json",
            "modules.json",
        ],
    );
    let weights = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(
        tmp.path().join("model.safetensors"),
        &weights[..weights.len() / 3],
    )
    .unwrap();
    let err = SentenceEncoder::load(tmp.path())
        .err()
        .expect("truncated weights must not load")
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("corrupt"),
        "{err}"
    );

    std::fs::write(tmp.path().join("model.safetensors"), b"not a model").unwrap();
    let err = SentenceEncoder::load(tmp.path()).err().unwrap().to_string();
    assert!(err.contains("corrupt"), "{err}");
}
