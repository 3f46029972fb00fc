//! PROTOCOL.md is checked against the shared types: a request type, an
//! error code or a reply shape that the document gets wrong fails here.

use std::collections::BTreeSet;

use serde::de::{Deserializer, Error as _, Visitor};
use shared::native::{HostMessage, Reply, RequestFrame};
use shared::replies::one_of_each;
use shared::web_sync::{ExternalReply, ExternalRequest};
use shared::ErrorCode;

/// Errors every request may give without its section listing them.
const COMMON_ERRORS: &[&str] = &[
    "api_unreachable",
    "rate_limited",
    "timeout",
    "payload_too_large",
    "internal",
    "invalid_request",
];

#[derive(Debug, Default)]
struct Section {
    part: String,
    name: String,
    reply_type: Option<String>,
    errors: Vec<String>,
    blocks: Vec<(String, String)>,
}

fn document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md");
    std::fs::read_to_string(path).expect("PROTOCOL.md at the repository root")
}

/// The `### ` sections, with the `## ` part each is in, its fields and its
/// fenced `json <tag>` blocks.
fn sections(doc: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut part = String::new();
    let mut block: Option<(String, String)> = None;
    for line in doc.lines() {
        if let Some((tag, text)) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let done = (tag.clone(), text.clone());
                out.last_mut()
                    .unwrap_or_else(|| panic!("a block outside any section: {}", done.1))
                    .blocks
                    .push(done);
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if let Some(tag) = line.strip_prefix("```json ") {
            block = Some((tag.trim().to_string(), String::new()));
        } else if let Some(title) = line.strip_prefix("### ") {
            out.push(Section {
                part: part.clone(),
                name: title.trim().trim_matches('`').to_string(),
                ..Section::default()
            });
        } else if let Some(title) = line.strip_prefix("## ") {
            part = title.trim().to_string();
            out.push(Section {
                part: part.clone(),
                name: String::new(),
                ..Section::default()
            });
        } else if let Some(name) = line.strip_prefix("Reply type: ") {
            let section = out.last_mut().expect("Reply type inside a section");
            section.reply_type = Some(name.trim().trim_matches('`').to_string());
        } else if let Some(list) = line.strip_prefix("Errors: ") {
            let section = out.last_mut().expect("Errors inside a section");
            section.errors = list
                .split(',')
                .map(|e| e.trim().trim_matches('`').to_string())
                .collect();
        }
    }
    assert!(block.is_none(), "an unclosed code block");
    out
}

fn wire(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn parse<T: serde::de::DeserializeOwned>(section: &str, text: &str) -> T {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("an example in {} does not decode: {}\n{}", section, e, text))
}

#[test]
fn the_request_types_are_exactly_the_shared_ones() {
    let doc = document();
    let documented: Vec<String> = sections(&doc)
        .into_iter()
        .filter(|s| s.part == "Requests" && !s.name.is_empty())
        .map(|s| s.name)
        .collect();
    let unique: BTreeSet<&str> = documented.iter().map(String::as_str).collect();
    assert_eq!(unique.len(), documented.len(), "a type is documented twice");
    let shared: BTreeSet<&str> = one_of_each().iter().map(|r| r.kind()).collect();
    assert_eq!(unique, shared);
}

#[test]
fn every_request_section_is_complete_and_its_examples_decode() {
    let doc = document();
    for section in sections(&doc)
        .iter()
        .filter(|s| s.part == "Requests" && !s.name.is_empty())
    {
        let name = &section.name;
        let requests: Vec<&String> = section
            .blocks
            .iter()
            .filter(|(tag, _)| tag == "request")
            .map(|(_, text)| text)
            .collect();
        assert_eq!(requests.len(), 1, "{} needs one request example", name);
        let frame: RequestFrame = parse(name, requests[0]);
        assert_eq!(
            frame.request.kind(),
            name,
            "{}'s example is another type",
            name
        );
        let reply_type = frame.request.reply_type();
        assert_eq!(
            section.reply_type.as_deref(),
            Some(reply_type.name()),
            "{} names the wrong reply type",
            name
        );
        assert!(!section.errors.is_empty(), "{} lists no errors", name);
        for code in &section.errors {
            let parsed: ErrorCode = parse(name, &format!("\"{}\"", code));
            assert_ne!(parsed, ErrorCode::Unknown, "{} lists `{}`", name, code);
        }
        let (mut oks, mut errors) = (0, 0);
        for (tag, text) in &section.blocks {
            match tag.as_str() {
                "request" => {}
                "ok" => {
                    oks += 1;
                    let reply: Reply = parse(name, text);
                    assert_eq!(reply.id, Some(frame.id), "{}: the reply's id", name);
                    let result = reply.result.clone();
                    let body = reply
                        .into_typed(&frame.request)
                        .unwrap_or_else(|e| panic!("{}'s ok reply: {}", name, e.message));
                    // Encoding it again gives the example back: no field in
                    // the example is misspelt or unknown to the type.
                    assert_eq!(
                        Some(serde_json::to_value(&body).unwrap()),
                        result,
                        "{}'s ok reply has fields the type does not",
                        name
                    );
                }
                "error" => {
                    errors += 1;
                    let reply: Reply = parse(name, text);
                    assert!(!reply.ok);
                    assert_eq!(reply.id, Some(frame.id), "{}: the error's id", name);
                    let code = wire(reply.error.expect("an error body").code);
                    assert!(
                        section.errors.contains(&code) || COMMON_ERRORS.contains(&code.as_str()),
                        "{}'s error example uses `{}`, which it does not list",
                        name,
                        code
                    );
                }
                other => panic!("{}: unknown block tag {}", name, other),
            }
        }
        assert!(
            oks >= 1 && errors >= 1,
            "{} needs an ok and an error reply",
            name
        );
    }
}

#[test]
fn the_other_examples_decode() {
    let doc = document();
    let mut pages = BTreeSet::new();
    for section in sections(&doc).iter().filter(|s| s.part != "Requests") {
        for (tag, text) in &section.blocks {
            match tag.as_str() {
                "event" => {
                    let message: HostMessage = parse(&section.name, text);
                    assert!(matches!(message, HostMessage::Event(_)), "{}", text);
                }
                "error" => {
                    let reply: Reply = parse(&section.name, text);
                    assert!(!reply.ok && reply.error.is_some(), "{}", text);
                }
                "page-request" => {
                    let _: ExternalRequest = parse(&section.name, text);
                    pages.insert(section.name.clone());
                }
                "page-reply" => {
                    let _: ExternalReply = parse(&section.name, text);
                }
                other => panic!("{}: unknown block tag {}", section.name, other),
            }
        }
    }
    // serde lists every tag of the web app's messages in its error for an
    // unknown one: the document has a section with an example for each.
    let e = serde_json::from_str::<ExternalRequest>(r#"{"type":"no_such_message"}"#)
        .unwrap_err()
        .to_string();
    // The message reads "unknown variant `x`, expected one of `a`, `b`":
    // the tags are every other back-quoted piece after the unknown one.
    let pieces: Vec<&str> = e.split('`').collect();
    let tags: BTreeSet<String> = pieces
        .get(3..)
        .unwrap_or(&[])
        .iter()
        .step_by(2)
        .map(|t| t.to_string())
        .collect();
    assert!(!tags.is_empty(), "{}", e);
    assert_eq!(pages, tags);
}

/// A deserializer that only records the variant names serde's derive
/// hands it: the complete list of an enum's wire spellings.
struct VariantNames<'a>(&'a std::cell::Cell<&'static [&'static str]>);

impl<'de, 'a> Deserializer<'de> for VariantNames<'a> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("only an enum is read here"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(variants);
        Err(Self::Error::custom("names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[test]
fn every_error_code_is_documented_with_its_wire_spelling() {
    let names = std::cell::Cell::new(&[][..]);
    let _ = <ErrorCode as serde::Deserialize>::deserialize(VariantNames(&names));
    let names = names.get();
    assert!(names.len() > 30, "serde listed {:?}", names);
    let doc = document();
    for name in names {
        let code: ErrorCode = serde_json::from_str(&format!("\"{}\"", name)).unwrap();
        assert_eq!(&wire(code), name);
        assert!(
            doc.contains(&format!("| `{}` |", name)),
            "PROTOCOL.md's error table lacks `{}`",
            name
        );
    }
}
