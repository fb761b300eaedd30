//! Mail: a saved message (EML) or a mailbox (MBOX), parsed by `mail-parser`.
//! Each message is a unit ("message N"), titled by its subject; its text
//! starts with who sent it and when, then the body, then the text of each
//! attachment in a format Quarry reads.

use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders};

use super::{ExtractError, Extracted, Format, Units};

/// Attachments larger than this are not read (the message still is).
const MAX_ATTACHMENT_BYTES: usize = 32 * 1024 * 1024;

/// A file that begins with the headers every message carries.
pub(crate) fn looks_like_message(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
    let header_block = head.split("\n\n").next().unwrap_or("");
    let has = |name: &str| header_block.starts_with(name) || header_block.contains(&format!("\n{name}"));
    has("from:") && (has("subject:") || has("date:")) && (has("to:") || has("message-id:"))
}

/// A file that begins with an mbox "From " line followed by a message.
pub(crate) fn looks_like_mbox(bytes: &[u8]) -> bool {
    bytes.starts_with(b"From ")
        && bytes
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|end| looks_like_message(&bytes[end + 1..]))
}

pub(super) fn extract(format: Format, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut units = Units::default();
    let parser = MessageParser::default();
    let mut add = |number: u32, raw: &[u8]| -> bool {
        let Some(message) = parser.parse(raw) else {
            return false;
        };
        let subject = message.subject().unwrap_or("(no subject)").trim().to_string();
        let mut text = format!("Subject: {subject}\n");
        if let Some(from) = message.from().and_then(|f| f.first()) {
            let who = match (from.name(), from.address()) {
                (Some(name), Some(address)) => format!("{name} <{address}>"),
                (Some(name), None) => name.to_string(),
                (None, Some(address)) => address.to_string(),
                (None, None) => String::new(),
            };
            text.push_str(&format!("From: {who}\n"));
        }
        if let Some(date) = message.date() {
            text.push_str(&format!("Date: {}\n", date.to_rfc3339()));
        }
        text.push('\n');
        let bodies = message.text_body_count().max(1);
        for i in 0..bodies {
            if let Some(body) = message.body_text(i) {
                text.push_str(body.trim());
                text.push('\n');
            }
        }
        for attachment in message.attachments() {
            let name = attachment.attachment_name().unwrap_or("attachment");
            let contents = attachment.contents();
            if attachment.is_message() || contents.is_empty() || contents.len() > MAX_ATTACHMENT_BYTES {
                continue;
            }
            // Attachments are read with the same parsers as files, one
            // level deep (a message attached to a message is not opened).
            let read = super::detect(Path::new(name), contents).and_then(|f| match f {
                Format::Eml | Format::Mbox => Err(ExtractError::Unsupported("nested mail".into())),
                f => super::extract_as(f, contents),
            });
            match read {
                Ok(extracted) if text.len() + extracted.text.len() > super::MAX_TEXT_BYTES => {
                    tracing::debug!(
                        attachment = name,
                        "attachment left out: the message is already as long as a document may be"
                    );
                }
                Ok(extracted) => text.push_str(&format!("\nAttachment: {name}\n{}\n", extracted.text.trim())),
                Err(e) => tracing::debug!(attachment = name, "attachment not read: {e}"),
            }
        }
        units.push(number, Some(&subject), &text, false);
        true
    };
    match format {
        Format::Mbox => {
            let mut number = 0;
            for message in mail_parser::mailbox::mbox::MessageIterator::new(bytes) {
                let message = message.map_err(|e| ExtractError::Corrupt {
                    format: "MBOX",
                    detail: e.to_string(),
                })?;
                number += 1;
                add(number, message.contents());
            }
        }
        _ => {
            if !add(1, bytes) {
                return Err(ExtractError::Corrupt {
                    format: "EML",
                    detail: "not a mail message".into(),
                });
            }
        }
    }
    Ok(units.finish(format, None))
}
