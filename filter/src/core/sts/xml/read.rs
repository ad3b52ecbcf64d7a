//! Reading a request: quick-xml's namespace-aware reader over the body,
//! into a small flat element list the RST reader looks things up in.
//!
//! Refused: a DTD (`<!DOCTYPE`: no entity is ever declared, so none is
//! expanded; an unknown entity reference is an error), more than the given
//! number of events, anything not well-formed (unclosed or mismatched tags,
//! several roots, text outside the root, bad UTF-8). Kept of each element:
//! its namespace URI and local name, its unqualified attributes, its
//! character data (text and CDATA, unescaped and concatenated).

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Why a body is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Not well-formed, not UTF-8, or too large.
    NotXml,
    /// A document type declaration.
    Dtd,
}

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct El {
    /// Index of the parent element (None for the root).
    pub parent: Option<usize>,
    /// Namespace URI ("" when none).
    pub ns: String,
    /// Local name.
    pub local: String,
    /// Unqualified attributes, unescaped.
    pub attrs: Vec<(String, String)>,
    /// Character data directly inside, unescaped.
    pub text: String,
}

/// The elements of a document, in document order (the root first).
#[derive(Debug, Clone, Default)]
pub struct Doc {
    els: Vec<El>,
}

impl Doc {
    /// Element `i`.
    pub fn el(&self, i: usize) -> Option<&El> {
        self.els.get(i)
    }

    /// The root element's index (0), if any.
    pub fn root(&self) -> Option<usize> {
        (!self.els.is_empty()).then_some(0)
    }

    /// The child elements of `i`, in order.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.els
            .iter()
            .enumerate()
            .skip(i + 1)
            .filter(move |(_, e)| e.parent == Some(i))
            .map(|(j, _)| j)
    }
}

fn element(
    decoder: Decoder,
    ns: ResolveResult<'_>,
    e: &BytesStart<'_>,
    parent: Option<usize>,
) -> Result<El, ReadError> {
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| ReadError::NotXml)
    };
    let ns = match ns {
        ResolveResult::Bound(n) => utf8(n.as_ref())?,
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(_) => return Err(ReadError::NotXml),
    };
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|_| ReadError::NotXml)?;
        if a.key.prefix().is_none() && a.key.as_ref() != b"xmlns" {
            let v = a
                .decode_and_unescape_value(decoder)
                .map_err(|_| ReadError::NotXml)?;
            attrs.push((utf8(a.key.as_ref())?, v.into_owned()));
        }
    }
    Ok(El {
        parent,
        ns,
        local: utf8(e.local_name().as_ref())?,
        attrs,
        text: String::new(),
    })
}

/// Reads `body` (at most `max_events` XML events).
pub fn read(body: &[u8], max_events: usize) -> Result<Doc, ReadError> {
    std::str::from_utf8(body).map_err(|_| ReadError::NotXml)?;
    let mut r = NsReader::from_reader(body);
    let decoder = r.decoder();
    let mut doc = Doc::default();
    let mut open: Vec<usize> = Vec::new();
    for _ in 0..max_events {
        let (ns, ev) = r.read_resolved_event().map_err(|_| ReadError::NotXml)?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if open.is_empty() && !doc.els.is_empty() {
                    return Err(ReadError::NotXml);
                }
                let el = element(decoder, ns, e, open.last().copied())?;
                doc.els.push(el);
                if matches!(ev, Event::Start(_)) {
                    open.push(doc.els.len() - 1);
                }
            }
            Event::End(_) => {
                open.pop().ok_or(ReadError::NotXml)?;
            }
            Event::Text(t) => {
                let t = t.unescape().map_err(|_| ReadError::NotXml)?;
                match open.last().and_then(|&i| doc.els.get_mut(i)) {
                    Some(el) => el.text.push_str(&t),
                    None if t.trim().is_empty() => {}
                    None => return Err(ReadError::NotXml),
                }
            }
            Event::CData(c) => {
                let t = std::str::from_utf8(&c).map_err(|_| ReadError::NotXml)?;
                match open.last().and_then(|&i| doc.els.get_mut(i)) {
                    Some(el) => el.text.push_str(t),
                    None => return Err(ReadError::NotXml),
                }
            }
            Event::DocType(_) => return Err(ReadError::Dtd),
            Event::Eof if open.is_empty() && !doc.els.is_empty() => return Ok(doc),
            Event::Eof => return Err(ReadError::NotXml),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    Err(ReadError::NotXml)
}
