//! Properties of grounded answers over a real library: every citation names
//! a passage that was given to the model, with the document, page and span
//! the library holds; questions the library cannot answer are refused
//! without the model; follow-ups are searched with the earlier turn; the
//! prompt is fitted to the context with whole passages; conversations
//! persist, reopen and delete.

use std::sync::atomic::AtomicBool;

use quarry_core::answer::{self, prompt, Abstention, AnswerOptions, Conversation, PastTurn};
use quarry_core::Library;
use quarry_generate::{Decoding, Generation, Generator, LlmResult, LoadOptions, Message};

use crate::support::{answering_now, gguf, indexed_corpus, llm_lock, load_llm, open, repo, QWEN, SMOLLM2};

/// A real generator that counts how often it is asked to generate.
struct Counting<'a> {
    inner: &'a mut dyn Generator,
    calls: usize,
}

impl Generator for Counting<'_> {
    fn model_name(&self) -> String {
        self.inner.model_name()
    }
    fn context_size(&self) -> usize {
        self.inner.context_size()
    }
    fn tokenize(&self, text: &str) -> Vec<u32> {
        self.inner.tokenize(text)
    }
    fn detokenize(&self, tokens: &[u32]) -> String {
        self.inner.detokenize(tokens)
    }
    fn apply_chat_template(&self, messages: &[Message]) -> LlmResult<Option<String>> {
        self.inner.apply_chat_template(messages)
    }
    fn generate(
        &mut self,
        prompt: &str,
        decoding: &Decoding,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> LlmResult<Generation> {
        self.calls += 1;
        self.inner.generate(prompt, decoding, cancel, on_text)
    }
}

fn ask(
    library: &Library,
    generator: &mut dyn Generator,
    question: &str,
    history: &[PastTurn],
) -> answer::Answer {
    let mut streamed = String::new();
    let answer = answer::ask(
        library,
        generator,
        question,
        history,
        &AnswerOptions::default(),
        &AtomicBool::new(false),
        &mut |t| streamed.push_str(t),
    )
    .unwrap();
    assert_eq!(streamed, answer.raw_answer, "the stream is the model's text");
    answer
}

/// Every citation is a passage that was given, and says where it lives.
fn assert_citations_hold(library: &Library, answer: &answer::Answer) {
    assert!(!answer.retrieved.is_empty());
    for c in &answer.citations {
        let given = answer
            .retrieved
            .iter()
            .find(|p| p.number == c.number)
            .unwrap_or_else(|| panic!("[{}] was not given: {answer:#?}", c.number));
        assert_eq!((&c.path, c.page, c.span), (&given.path, given.page, given.span));
        let document = library
            .read()
            .document_text(given.document_id)
            .unwrap()
            .unwrap()
            .text;
        assert_eq!(
            &document[c.span.start..c.span.end],
            c.text,
            "span points at the passage"
        );
    }
    for n in quarry_core::answer::cite::find_marks(&answer.answer)
        .iter()
        .flat_map(|m| m.numbers.clone())
    {
        assert!(
            answer.citations.iter().any(|c| c.number == n),
            "[{n}] in the text but not cited"
        );
    }
}

#[test]
fn the_default_model_answers_with_the_right_source() {
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let mut qwen = load_llm(QWEN);
    let answer = ask(
        &corpus.library,
        &mut qwen,
        "What is the part number of the conveyor drive belt?",
        &[],
    );
    assert!(!answer.not_found, "{answer:#?}");
    assert!(answer.answer.contains("ZX-4471-C"), "{answer:#?}");
    assert_citations_hold(&corpus.library, &answer);
    let belt = answer
        .citations
        .iter()
        .find(|c| c.text.contains("ZX-4471-C"))
        .unwrap_or_else(|| panic!("the passage with the part number is cited: {answer:#?}"));
    assert!(belt.path.ends_with("parts.txt"));
    assert!(answer.timing.prompt_tokens > 0 && answer.timing.time_to_first_token_ms > 0.0);
}

#[test]
fn the_fast_model_cites_only_passages_it_was_given() {
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let mut smol = load_llm(SMOLLM2);
    for question in [
        "When do tomato seedlings go outside?",
        "What did the Rover of 1885 introduce?",
        "How hot should the oven be for the sourdough loaf?",
    ] {
        let answer = ask(&corpus.library, &mut smol, question, &[]);
        assert!(answer.relevance.relevant, "{question}: {:?}", answer.relevance);
        assert_citations_hold(&corpus.library, &answer);
        let check = &answer.citation_check;
        assert_eq!(
            check.written,
            check.kept + check.moved + check.dropped_unsupported + check.dropped_invalid,
            "every written citation is accounted for: {check:?}"
        );
    }
}

#[test]
fn questions_the_library_cannot_answer_are_refused_without_the_model() {
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let mut smol = load_llm(SMOLLM2);
    let mut counting = Counting {
        inner: &mut smol,
        calls: 0,
    };
    for question in [
        "What is the capital of Australia?",
        "Who won the 1998 football World Cup?",
        "How many moons does Jupiter have?",
        "What is a good recipe for lasagne?",
    ] {
        let answer = ask(&corpus.library, &mut counting, question, &[]);
        println!("out of library: {question:<45} {:?}", answer.relevance);
        assert!(answer.not_found, "{question}: {:?}", answer.relevance);
        assert_eq!(answer.abstention, Some(Abstention::Retrieval));
        assert_eq!(answer.answer, answer::NOT_FOUND_TEXT);
        assert!(answer.citations.is_empty() && answer.retrieved.is_empty());
    }
    assert_eq!(counting.calls, 0, "the model was never called");
    for question in [
        "What is the part number of the conveyor drive belt?",
        "ZX-4471-C",
        "when should I plant tomatoes outside",
        "What replaced the penny-farthing?",
        "How do I split a CSV line into fields?",
    ] {
        let retrieval = answer::retrieve(&corpus.library, question, &[], &AnswerOptions::default()).unwrap();
        println!("in library:     {question:<45} {:?}", retrieval.relevance);
        assert!(
            retrieval.relevance.relevant,
            "{question}: {:?}",
            retrieval.relevance
        );
    }
}

#[test]
fn a_follow_up_is_searched_with_the_earlier_turn() {
    let corpus = indexed_corpus();
    let history = vec![PastTurn {
        question: "Which drive belt does the conveyor use?".into(),
        answer: "The conveyor uses drive belt ZX-4471-C [1].".into(),
    }];
    let follow_up = "And which filter cartridge goes with it?";
    let retrieval =
        answer::retrieve(&corpus.library, follow_up, &history, &AnswerOptions::default()).unwrap();
    assert!(retrieval
        .search_query
        .contains("Which drive belt does the conveyor use?"));
    assert!(retrieval.search_query.ends_with(follow_up));
    assert!(
        retrieval.hits[0].passage.path.ends_with("parts.txt"),
        "{:#?}",
        retrieval.hits[0]
    );
    assert!(retrieval.relevance.relevant);

    // A new subject in the same conversation must stand on its own.
    let history = vec![PastTurn {
        question: "When do tomato seedlings go outside?".into(),
        answer: "After the last frost, usually in mid May [1].".into(),
    }];
    let switched = answer::retrieve(
        &corpus.library,
        "What is the capital of Australia?",
        &history,
        &AnswerOptions::default(),
    )
    .unwrap();
    assert!(!switched.relevance.relevant, "{:?}", switched.relevance);
    assert!(answer::refers_back("What is its part number?"));
    assert!(answer::refers_back("And the filter?"));
    assert!(!answer::refers_back("What is the capital of Australia?"));
}

#[test]
fn the_prompt_keeps_whole_passages_within_the_context() {
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let options = LoadOptions {
        context: 512,
        ..LoadOptions::default()
    };
    let small = quarry_generate::LlamaCppGenerator::load(&gguf(SMOLLM2), &options).unwrap();
    let hits = corpus
        .library
        .search(
            "tomato seedlings frost drive belt bicycle",
            &quarry_core::SearchOptions::default(),
        )
        .unwrap();
    assert!(hits.len() >= 6);
    let answer_tokens = 100;
    let options = AnswerOptions {
        passages: 10,
        answer_tokens,
        // Whole passages: what is tested is how many fit.
        passage_sentences: 0,
        ..AnswerOptions::default()
    };
    let built = prompt::build(&small, "When do seedlings go out?", &[], &hits, &options).unwrap();
    assert!(built.tokens + answer_tokens <= 512, "{} tokens", built.tokens);
    assert!(!built.included.is_empty() && built.included.len() < hits.len());
    for (n, &i) in built.included.iter().enumerate() {
        let block = format!("[{}] ", n + 1);
        assert!(built.text.contains(&block));
        let flat = hits[i]
            .passage
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(built.text.contains(&flat), "passage {i} is whole");
    }
}

#[test]
fn the_prompt_is_the_versioned_template() {
    // The prompt as data: the exact text the fast model gets for a fixed
    // library and question. Changing the wording means a new PROMPT_VERSION
    // and a new golden file (written by running this test with QUARRY_BLESS=1).
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let smol = load_llm(SMOLLM2);
    let hits = corpus
        .library
        .search(
            "When do tomato seedlings go outside?",
            &quarry_core::SearchOptions::default(),
        )
        .unwrap();
    let history = [PastTurn {
        question: "What is the drive belt part?".into(),
        answer: "It is ZX-4471-C [1].".into(),
    }];
    let built = prompt::build(
        &smol,
        "When do tomato seedlings go outside?",
        &history,
        &hits[..2],
        &AnswerOptions::default(),
    )
    .unwrap();
    let golden_path = repo().join(format!(
        "tests/data/prompts/{}.smollm2.txt",
        prompt::PROMPT_VERSION
    ));
    let docs = corpus.docs.to_string_lossy().to_string();
    let text = built.text.replace(&docs, "DOCS");
    if std::env::var_os("QUARRY_BLESS").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap_or_default();
    assert_eq!(text, golden, "prompt differs from {}", golden_path.display());
}

#[test]
fn conversations_persist_reopen_and_delete() {
    let corpus = indexed_corpus();
    let _lock = llm_lock();
    let mut smol = load_llm(SMOLLM2);
    let mut conversation = Conversation::new();
    let first = ask(
        &corpus.library,
        &mut smol,
        "When do tomato seedlings go outside?",
        &conversation.history(),
    );
    let id = conversation
        .record(&corpus.library, &first)
        .unwrap()
        .conversation_id;
    let second = ask(
        &corpus.library,
        &mut smol,
        "What is the capital of Australia?",
        &conversation.history(),
    );
    conversation.record(&corpus.library, &second).unwrap();

    // Another process later: a fresh library handle on the same folder.
    let reopened_library = open(&corpus.lib_dir);
    let listed = reopened_library.read().conversations().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].turns), (id, 2));
    assert_eq!(listed[0].title, "When do tomato seedlings go outside?");
    let reopened = Conversation::open(&reopened_library, id).unwrap();
    assert_eq!(reopened.turns, vec![first.clone(), second.clone()]);
    // The refused turn carries nothing to follow up on.
    assert_eq!(reopened.history().len(), 1);

    assert!(Conversation::delete(&reopened_library, id).unwrap());
    assert!(reopened_library.read().conversations().unwrap().is_empty());
    assert!(reopened_library.read().turns(id).unwrap().is_empty());
    assert!(Conversation::open(&reopened_library, id).is_err());
    assert!(!Conversation::delete(&reopened_library, id).unwrap());
}

/// `Session::prepare` chooses the model as a question would (here not the
/// default, which this search cannot find), loads it before any question,
/// and the first question then goes straight from retrieval to tokens.
#[test]
fn a_prepared_session_answers_without_loading_the_model() {
    use quarry_core::models::{ModelError, ModelSearch};
    use quarry_core::session::{AnswerEngine, AnswerEvent, ConversationRef, Question, Session};

    let corpus = indexed_corpus();
    let models = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(gguf(SMOLLM2), models.path().join(SMOLLM2)).unwrap();
    let session = Session::start_with_prompt_cache(
        ModelSearch {
            quarry_models: Some(models.path().to_path_buf()),
            ..ModelSearch::default()
        },
        None,
    );
    let missing = models.path().join("gone.gguf");
    assert!(matches!(
        session.prepare(&AnswerEngine::File(missing.clone())),
        Err(ModelError::GeneratorMissing { path }) if path == missing
    ));
    let _lock = llm_lock();
    let choice = session
        .prepare(&AnswerEngine::Default)
        .unwrap()
        .expect("a GGUF, not a server");
    assert_eq!(choice.path, models.path().join(SMOLLM2));
    assert!(!choice.preferred, "SmolLM2 is a fallback, not the default");
    // The weights are read beside the session's thread; a question asked
    // meanwhile would say it waits for them (`LoadingModel`). Here the
    // reading is over first.
    session.wait_until_idle();

    let library = std::sync::Arc::new(corpus.library);
    let mut kinds = Vec::new();
    let mut preview = None;
    // Whether ingests of the library were told to give way, seen when the
    // first token arrives (the model is still generating then).
    let mut given_way = None;
    let turn = session
        .ask(Question {
            library,
            text: "When do tomato seedlings go outside?".into(),
            conversation: ConversationRef::New,
            options: AnswerOptions::default(),
            model: AnswerEngine::Default,
        })
        .finish(|event| {
            if matches!(event, AnswerEvent::Token(_)) && given_way.is_none() {
                given_way = Some(answering_now(&corpus.lib_dir));
            }
            if let AnswerEvent::Retrieved {
                preview: p, passages, ..
            } = event
            {
                preview = p.clone().map(|p| (p, passages.clone()));
            }
            kinds.push(match event {
                AnswerEvent::Retrieved { .. } => "retrieved",
                AnswerEvent::LoadingModel { .. } => "loading",
                AnswerEvent::Token(_) => "token",
                AnswerEvent::Done(_) => "done",
                AnswerEvent::Failed(_) => "failed",
            })
        })
        .unwrap();
    kinds.dedup();
    assert_eq!(kinds, ["retrieved", "token", "done"]);
    // Before any token: the sentence of the best passage that matches the
    // question, exactly as that passage has it.
    let (preview, passages) = preview.expect("a preview with the passages");
    let passage = passages.iter().find(|p| p.number == preview.number).unwrap();
    assert!(passage.text.contains(&preview.sentence), "{preview:?}");
    assert!(
        preview.sentence.to_lowercase().contains("seedling"),
        "{preview:?}"
    );
    assert!(turn.conversation_id.is_some() && turn.turn_id.is_some());
    assert!(!turn.answer.answer.trim().is_empty());
    // A local model answered: ingests gave way while it generated, and may
    // go on once the turn is done.
    assert_eq!(given_way, Some(true));
    assert!(!answering_now(&corpus.lib_dir));
}
