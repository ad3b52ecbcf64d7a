//! Small building blocks with no OAuth knowledge: strict JSON, the clock
//! type, callout URIs, hex and form encoding, header-name spellings. Depends on nothing in `core`.

pub mod cidr;
pub mod fast_hash;
pub mod form;
pub mod header;
pub mod hex;
pub mod json;
pub mod sorted;
pub mod text;
pub mod time;
pub mod uri;
