//! A conversation: its id in the library and its answers so far, stored as
//! [`AnswerRecord`]s in the catalog's `turns` (with the question and the
//! answer text beside them, for listings). The rule for a conversation's
//! title lives here and nowhere else.

use super::record::AnswerRecord;
use super::{Answer, AnswerError, AnswerResult, PastTurn};
use crate::library::explain_storage;
use crate::Library;

/// A new conversation's title: its first question, cut to 80 characters.
const TITLE_CHARS: usize = 80;

#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub id: Option<i64>,
    pub turns: Vec<Answer>,
}

/// Where a recorded answer was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub conversation_id: i64,
    pub turn_id: i64,
}

/// A conversation's write, failed, said as the library's own writes say
/// it: "the disk holding the library is full" rather than SQLite's words.
fn written<T>(library: &Library, result: Result<T, quarry_store::StoreError>) -> AnswerResult<T> {
    Ok(explain_storage(library.dir(), result.map_err(Into::into))?)
}

impl Conversation {
    /// A conversation that is stored when [`Conversation::store`] or its
    /// first [`Conversation::record`] runs.
    pub fn new() -> Self {
        Conversation::default()
    }

    /// Reopen a stored conversation with its answers.
    pub fn open(library: &Library, id: i64) -> AnswerResult<Self> {
        let rows = {
            let catalog = library.read();
            if catalog.conversation(id)?.is_none() {
                return Err(AnswerError::NoConversation(id));
            }
            catalog.turns(id)?
        };
        let turns = rows
            .iter()
            .map(|t| Ok(serde_json::from_str::<AnswerRecord>(&t.record)?.into_answer()))
            .collect::<AnswerResult<Vec<Answer>>>()?;
        Ok(Conversation { id: Some(id), turns })
    }

    /// Delete a stored conversation and its turns; false when there was none.
    pub fn delete(library: &Library, id: i64) -> AnswerResult<bool> {
        written(library, library.catalog_writer().delete_conversation(id))
    }

    /// Earlier questions and answers, for the next question. Abstentions are
    /// left out: "not found" carries nothing to follow up on.
    pub fn history(&self) -> Vec<PastTurn> {
        self.turns
            .iter()
            .filter(|a| !a.not_found)
            .map(|a| PastTurn {
                question: a.question.clone(),
                answer: a.answer.clone(),
            })
            .collect()
    }

    /// The conversation's id, storing it first (titled by `question`) if it
    /// is new.
    pub fn store(&mut self, library: &Library, question: &str) -> AnswerResult<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        let title: String = question.trim().chars().take(TITLE_CHARS).collect();
        let id = written(library, library.catalog_writer().create_conversation(&title))?;
        self.id = Some(id);
        Ok(id)
    }

    /// Store an answer as the next turn (storing the conversation first if
    /// it is new).
    pub fn record(&mut self, library: &Library, answer: &Answer) -> AnswerResult<Recorded> {
        let conversation_id = self.store(library, &answer.question)?;
        let record = serde_json::to_string(&AnswerRecord::from(answer))?;
        let turn_id = written(
            library,
            library
                .catalog_writer()
                .append_turn(conversation_id, &answer.question, &answer.answer, &record),
        )?;
        self.turns.push(answer.clone());
        Ok(Recorded {
            conversation_id,
            turn_id,
        })
    }
}
