//! The element tree the STS builds before writing it: qualified element
//! names from [`super::ns`], attributes, text. Only characters XML 1.0
//! allows get in ([`XmlError`] otherwise), checked when text or an
//! attribute value is added.

use super::ns::Ns;

/// A value the STS was asked to put into XML that XML 1.0 cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a value for {0} has a character XML 1.0 does not allow")]
pub struct XmlError(pub &'static str);

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (never empty).
    Text(String),
}

/// An attribute: unqualified, or in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace, if qualified.
    pub ns: Option<Ns>,
    /// Local name.
    pub local: &'static str,
    /// Value (unescaped).
    pub value: String,
}

/// An element, always in a namespace with a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace.
    pub ns: Ns,
    /// Local name.
    pub local: &'static str,
    /// Attributes, in any order (written sorted).
    pub attrs: Vec<Attr>,
    /// Children, in order.
    pub children: Vec<Node>,
    /// Namespaces declared here though no name uses them (unsigned
    /// documents only: exclusive c14n would drop them).
    pub declare: Vec<Ns>,
}

/// Whether `c` is a `Char` of XML 1.0 (§2.2).
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `value` if XML can carry it; `what` names it in the error.
pub fn checked<'a>(value: &'a str, what: &'static str) -> Result<&'a str, XmlError> {
    if value.chars().all(xml_char) {
        Ok(value)
    } else {
        Err(XmlError(what))
    }
}

impl Element {
    /// An empty element `ns:local`.
    pub fn new(ns: Ns, local: &'static str) -> Element {
        Element {
            ns,
            local,
            attrs: Vec::new(),
            children: Vec::new(),
            declare: Vec::new(),
        }
    }

    /// With an unqualified attribute (`value` checked, `local` names it in
    /// the error).
    pub fn attr(mut self, local: &'static str, value: &str) -> Result<Element, XmlError> {
        let value = checked(value, local)?.to_owned();
        self.attrs.push(Attr {
            ns: None,
            local,
            value,
        });
        Ok(self)
    }

    /// With a namespace-qualified attribute.
    pub fn ns_attr(
        mut self,
        ns: Ns,
        local: &'static str,
        value: &str,
    ) -> Result<Element, XmlError> {
        let value = checked(value, local)?.to_owned();
        self.attrs.push(Attr {
            ns: Some(ns),
            local,
            value,
        });
        Ok(self)
    }

    /// With `ns` declared here (for a QName in text).
    pub fn declaring(mut self, ns: Ns) -> Element {
        self.declare.push(ns);
        self
    }

    /// With a child element.
    pub fn child(mut self, child: Element) -> Element {
        self.children.push(Node::Element(child));
        self
    }

    /// With character data (checked; empty text adds nothing, as a parser
    /// would see none).
    pub fn text(mut self, text: &str) -> Result<Element, XmlError> {
        let t = checked(text, self.local)?;
        if !t.is_empty() {
            self.children.push(Node::Text(t.to_owned()));
        }
        Ok(self)
    }

    /// Inserts `child` at position `index` among the children (at the end
    /// if past it).
    pub fn insert_child(&mut self, index: usize, child: Element) {
        let i = index.min(self.children.len());
        self.children.insert(i, Node::Element(child));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sts::xml::ns::SAML;

    #[test]
    fn forbidden_characters_are_refused() {
        assert!(Element::new(SAML, "Issuer").text("a\u{0}b").is_err());
        assert!(Element::new(SAML, "Issuer").attr("ID", "\u{1b}").is_err());
        assert!(Element::new(SAML, "Issuer").text("\u{FFFE}").is_err());
        let ok = Element::new(SAML, "Issuer").text("tab\tcr\r é 𝄞").unwrap();
        assert_eq!(ok.children.len(), 1);
    }

    #[test]
    fn empty_text_adds_no_node() {
        assert!(Element::new(SAML, "Issuer")
            .text("")
            .unwrap()
            .children
            .is_empty());
    }
}
