//! Exclusive XML Canonicalization 1.0 (without comments) of an
//! [`Element`] tree, written directly (see [`super`] for why that is
//! enough for the documents the STS signs).
//!
//! The rules applied, from the W3C recommendation (xml-exc-c14n) and the
//! Canonical XML 1.0 text it builds on:
//!
//! - a namespace declaration is written on an element that visibly uses its
//!   prefix (the element's own or one of its attributes') unless the nearest
//!   output ancestor that declared that prefix declared the same URI;
//!   declarations are sorted by prefix;
//! - attributes follow, sorted by namespace URI (none first) then local name;
//! - every element has a start and an end tag;
//! - text escapes `&`, `<`, `>` and CR; attribute values escape `&`, `<`,
//!   `"`, TAB, LF and CR.
//!
//! [`canonical`] is the form of an element on its own (what a signature over
//! it hashes); [`write_in`] writes it inside a document whose ancestors
//! already declared some prefixes (the declarations it repeats or omits then
//! do not change its canonical form, which is always the stand-alone one).
//!
//! Two things outside exclusive c14n, for unsigned documents (SOAP faults)
//! only: elements in no namespace ([`NONE`], written unprefixed: no default
//! namespace is ever declared), and [`Element::declaring`], a declaration
//! written although no name uses it (a QName in text, such as a SOAP 1.1
//! `faultcode`). The `xml` prefix is never declared.

use super::ns::{Ns, NONE, XML};
use super::tree::{Element, Node};

/// Prefixes declared by output ancestors: (prefix, URI), innermost last.
pub type Scope = Vec<(&'static str, &'static str)>;

/// The canonical form of `el` as the apex of a document subset.
pub fn canonical(el: &Element) -> String {
    let mut out = String::new();
    write_in(el, &mut Vec::new(), &mut out);
    out
}

/// Writes `el` with `scope` already declared by the ancestors written.
pub fn write_in(el: &Element, scope: &mut Scope, out: &mut String) {
    let mark = scope.len();
    out.push('<');
    qname(el.ns, el.local, out);
    for ns in declarations(el, scope) {
        out.push_str(" xmlns:");
        out.push_str(ns.prefix);
        out.push_str("=\"");
        escape_attr(ns.uri, out);
        out.push('"');
        scope.push((ns.prefix, ns.uri));
    }
    let mut attrs: Vec<_> = el.attrs.iter().collect();
    attrs.sort_by(|a, b| {
        let key = |x: &super::tree::Attr| (x.ns.map_or("", |n| n.uri), x.local);
        key(a).cmp(&key(b))
    });
    for a in attrs {
        out.push(' ');
        match a.ns {
            Some(ns) => qname(ns, a.local, out),
            None => out.push_str(a.local),
        }
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Element(e) => write_in(e, scope, out),
            Node::Text(t) => escape_text(t, out),
        }
    }
    out.push_str("</");
    qname(el.ns, el.local, out);
    out.push('>');
    scope.truncate(mark);
}

/// The namespaces `el` visibly uses and must declare, sorted by prefix.
fn declarations(el: &Element, scope: &Scope) -> Vec<Ns> {
    let mut used: Vec<Ns> = std::iter::once(el.ns)
        .chain(el.attrs.iter().filter_map(|a| a.ns))
        .chain(el.declare.iter().copied())
        .collect();
    used.sort_by_key(|n| n.prefix);
    used.dedup_by_key(|n| n.prefix);
    used.retain(|n| n.prefix != NONE.prefix && n.prefix != XML.prefix);
    used.retain(|n| {
        let inherited = scope.iter().rev().find(|(p, _)| *p == n.prefix);
        inherited.map(|(_, uri)| *uri) != Some(n.uri)
    });
    used
}

fn qname(ns: Ns, local: &str, out: &mut String) {
    if !ns.prefix.is_empty() {
        out.push_str(ns.prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text(t: &str, out: &mut String) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(t: &str, out: &mut String) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sts::xml::ns::{DS, SAML, WSU};

    #[test]
    fn declarations_where_used_attributes_sorted() {
        let el = Element::new(SAML, "Assertion")
            .attr("Version", "2.0")
            .unwrap()
            .ns_attr(WSU, "Id", "x")
            .unwrap()
            .attr("ID", "_1")
            .unwrap()
            .child(Element::new(SAML, "Issuer").text("a&b<c>\r\"'").unwrap())
            .child(Element::new(DS, "Signature").attr("X", "\t\n\"<&").unwrap());
        assert_eq!(
            canonical(&el),
            concat!(
                "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
                "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\" ",
                "ID=\"_1\" Version=\"2.0\" wsu:Id=\"x\">",
                "<saml:Issuer>a&amp;b&lt;c&gt;&#xD;\"'</saml:Issuer>",
                "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" X=\"&#x9;&#xA;&quot;&lt;&amp;\"></ds:Signature>",
                "</saml:Assertion>"
            )
        );
    }

    #[test]
    fn inherited_declaration_is_not_repeated_and_sibling_scopes_are_separate() {
        let el = Element::new(SAML, "A")
            .child(Element::new(DS, "B").child(Element::new(DS, "C")))
            .child(Element::new(DS, "D"));
        let ds = "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"";
        let s = canonical(&el);
        assert_eq!(s.matches(ds).count(), 2, "{s}");
        assert!(s.contains(&format!("<ds:B {ds}><ds:C></ds:C></ds:B><ds:D {ds}>")));
    }

    #[test]
    fn inside_a_document_known_prefixes_are_not_declared() {
        let mut scope = vec![(DS.prefix, DS.uri)];
        let mut out = String::new();
        write_in(&Element::new(DS, "SignedInfo"), &mut scope, &mut out);
        assert_eq!(out, "<ds:SignedInfo></ds:SignedInfo>");
        assert_eq!(scope.len(), 1);
    }
}
