//! Properties of the citation check with the real embedder: a citation
//! under the wrong number moves to the passage holding the fact; numbers
//! that name no passage are dropped and counted; unsupported claims lose
//! their citation and are reported; a closing citation covers the uncited
//! sentences before it; an uncited answer gets inferred sources.
//!
//! `support_signals_on_labelled_sentences` is also the measurement behind
//! the choice of signals: run it with `--nocapture` for the table.

use quarry_core::answer::cite::{check, CitationStatus, Evidence, Scorer, Signals, SUPPORT_THRESHOLD};

use crate::support::embedder;

const TROUBLE: &str =
    "Troubleshooting If the pump hums but does not turn, check the start capacitor. Cavitation \
    sounds like gravel passing through the casing and means the suction pressure is too low.";
const MAINTENANCE: &str = "Maintenance Replace the impeller seal, part number ZX-4417-B, every 2000 operating \
    hours. Lubricate the motor bearings with lithium grease each spring. A worn seal causes a slow drip beneath \
    the pump housing.";
const INSTALL: &str =
    "QP-7731 Pump Installation Guide The QP-7731 centrifugal pump must be mounted on a level \
    concrete base at least 15 centimetres thick. Anchor bolts are tightened to 45 newton metres. Connect the \
    suction line before the discharge line.";
const REPORT: &str = "Annual Sustainability Report In 2025 the Lisbon office moved entirely to renewable \
    electricity supplied by offshore wind farms, cutting its emissions by 61 percent. Travel Staff flights were \
    replaced by overnight trains wherever the journey took less than nine hours. Site Emissions Lisbon 61% lower";
const FAQ: &str =
    "Does anything leave my machine? No. Quarry reads your files, embeds them with a model stored \
    on your disk, and keeps its index in a folder on your disk. It opens no network connection.";
const PASSAGES: [&str; 5] = [TROUBLE, MAINTENANCE, INSTALL, REPORT, FAQ];

/// Passages labelled the way the prompt labels them.
fn evidence<'a>(passages: &[&'a str]) -> Vec<Evidence<'a>> {
    passages
        .iter()
        .map(|&text| Evidence {
            label: match text {
                TROUBLE => "manual.pdf, page 3",
                MAINTENANCE => "manual.pdf, page 2",
                INSTALL => "manual.pdf, page 1",
                REPORT => "Annual Sustainability Report",
                _ => "Quarry FAQ",
            },
            text,
        })
        .collect()
}

/// Answer sentences as the models wrote them (or nearly), with the passage
/// that supports each (1-based) or None for an invented claim.
const LABELLED: [(&str, Option<usize>); 15] = [
    (
        "It should be replaced every 2000 operating hours as per the manual.pdf, page 2.",
        Some(2),
    ),
    (
        "To troubleshoot if the pump hums but does not turn, check the start capacitor.",
        Some(1),
    ),
    (
        "If the pump makes a gravel-like noise, the suction pressure is too low.",
        Some(1),
    ),
    ("The part number of the impeller seal is ZX-4417-B.", Some(2)),
    ("It should be replaced every 2000 operating hours.", Some(2)),
    (
        "The concrete base must be at least 15 centimetres thick.",
        Some(3),
    ),
    ("The company reduced its emissions by 61%.", Some(4)),
    (
        "Staff now take overnight trains instead of flying for short journeys.",
        Some(4),
    ),
    (
        "Quarry does not send your files anywhere; it makes no network connections.",
        Some(5),
    ),
    (
        "The warranty period of the QP-7731 pump is 2000 operating hours.",
        None,
    ),
    ("The warranty period of the QP-7731 pump is 2 years.", None),
    ("The Lisbon office cut its emissions by 75 percent.", None),
    ("Anchor bolts are tightened to 60 newton metres.", None),
    (
        "Switch off the power and wait ten minutes before opening the casing.",
        None,
    ),
    ("The pump should be lubricated with olive oil every week.", None),
];

#[test]
fn support_signals_on_labelled_sentences() {
    let encoder = embedder();
    let mut scorer = Scorer::new(&evidence(&PASSAGES), encoder.as_ref()).unwrap();
    let pick = |scores: Vec<f32>, threshold: f32| {
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
        (scores[best] >= threshold).then_some(best + 1)
    };
    let (mut overlap_right, mut cosine_right, mut hybrid_right) = (0, 0, 0);
    println!(
        "{:<75} {:>5} {:>7} {:>7} {:>7}",
        "sentence", "truth", "overlap", "cosine", "hybrid"
    );
    for (sentence, truth) in LABELLED {
        let signals: Vec<Signals> = scorer.signals(sentence).unwrap();
        let by_overlap = pick(signals.iter().map(|s| s.overlap).collect(), SUPPORT_THRESHOLD);
        let by_cosine = pick(
            signals.iter().map(|s| s.cosine).collect(),
            quarry_core::answer::cite::PARAPHRASE_COSINE,
        );
        let hybrid = pick(signals.iter().map(Signals::support).collect(), SUPPORT_THRESHOLD);
        overlap_right += usize::from(by_overlap == truth);
        cosine_right += usize::from(by_cosine == truth);
        hybrid_right += usize::from(hybrid == truth);
        let show = |p: Option<usize>| p.map_or("-".to_string(), |n| n.to_string());
        let best = signals.iter().map(|s| s.cosine).fold(0.0f32, f32::max);
        println!(
            "{:<75} {:>5} {:>7} {:>7} {:>7}   (best cosine {best:.2})",
            sentence,
            show(truth),
            show(by_overlap),
            show(by_cosine),
            show(hybrid)
        );
    }
    println!(
        "right of {}: overlap {overlap_right}, cosine {cosine_right}, hybrid {hybrid_right}",
        LABELLED.len()
    );
    assert_eq!(
        hybrid_right,
        LABELLED.len(),
        "the chosen signal gets every labelled sentence right"
    );
    assert!(hybrid_right > overlap_right && hybrid_right > cosine_right);
}

#[test]
fn a_misnumbered_fact_moves_and_an_invalid_number_is_dropped() {
    let passages = [MAINTENANCE, TROUBLE, REPORT];
    let answer =
        "Replace the impeller seal every 2000 operating hours [2]. Check the start capacitor [2][7].";
    let checked = check(answer, &evidence(&passages), embedder().as_ref()).unwrap();
    assert_eq!(
        checked.text,
        "Replace the impeller seal every 2000 operating hours [1]. Check the start capacitor [2]."
    );
    let r = &checked.report;
    assert_eq!(
        (r.written, r.kept, r.moved, r.dropped_invalid),
        (3, 1, 1, 1),
        "{r:?}"
    );
    assert_eq!(checked.citations[0].status, CitationStatus::Moved { from: 2 });
    assert!(r.unsupported_sentences.is_empty());
}

#[test]
fn an_invented_claim_loses_its_citation_and_is_reported() {
    let passages = [MAINTENANCE, INSTALL];
    let answer = "The concrete base must be 15 centimetres thick [2]. The warranty period is 2 years [1].";
    let checked = check(answer, &evidence(&passages), embedder().as_ref()).unwrap();
    assert_eq!(
        checked.text,
        "The concrete base must be 15 centimetres thick [2]. The warranty period is 2 years."
    );
    assert_eq!(checked.report.dropped_unsupported, 1);
    assert_eq!(checked.report.unsupported_sentences, vec![1]);
}

#[test]
fn a_closing_citation_covers_the_sentences_before_it() {
    let passages = [TROUBLE, MAINTENANCE];
    let answer = "The impeller seal is part ZX-4417-B. It is replaced every 2000 operating hours. \
                  This information can be found in [2].";
    let checked = check(answer, &evidence(&passages), embedder().as_ref()).unwrap();
    assert_eq!(checked.text, answer);
    let covered: Vec<(usize, usize)> = checked.citations.iter().map(|c| (c.sentence, c.source)).collect();
    assert_eq!(covered, vec![(0, 2), (1, 2), (2, 2)]);
    assert!(checked.report.unsupported_sentences.is_empty());
}

#[test]
fn an_uncited_answer_gets_inferred_sources() {
    let passages = [TROUBLE, REPORT];
    let answer = "The Lisbon office cut its emissions by 61 percent with wind power.";
    let checked = check(answer, &evidence(&passages), embedder().as_ref()).unwrap();
    assert!(checked.report.inferred);
    assert_eq!(checked.citations.len(), 1);
    assert_eq!(
        (checked.citations[0].source, checked.citations[0].status),
        (2, CitationStatus::Inferred)
    );
    assert_eq!(
        checked.text, answer,
        "inferred sources are not written into the text"
    );
}
