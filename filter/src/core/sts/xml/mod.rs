//! XML the STS writes: a small element tree ([`tree`]) built by the minters
//! and builders, serialised in exclusive canonical form ([`c14n`]), and the
//! namespaces they use ([`ns`]).
//!
//! The STS only signs XML it generates itself, so there is no general
//! canonicaliser here: the tree is written directly in the form Exclusive
//! XML Canonicalization 1.0 (without comments, no InclusiveNamespaces)
//! gives for it. A verifier that parses the document and canonicalises the
//! signed element gets the same bytes we hashed. That holds because the tree
//! model rules out everything c14n would change: no default namespace, no
//! whitespace-only text, no comments or processing instructions, no empty
//! element tags, attribute values and text escaped as c14n escapes them,
//! characters XML 1.0 forbids refused before anything is written.
//! Requests are read by [`read`] (quick-xml) into a flat element list.

pub mod c14n;
pub mod ns;
pub mod read;
pub mod tree;

pub use tree::{Element, Node, XmlError};
