//! The introspection request: `POST <endpoint>` with the form
//! `token=…&token_type_hint=access_token` plus the client authentication
//! members of [`crate::core::client::auth`].

use crate::core::callout::{Callout, CalloutId};
use crate::core::config::Introspection;
use crate::core::util::time::UnixMillis;

impl Introspection {
    /// The introspection callout for `token`; `jti` is a fresh unique id for
    /// a client assertion.
    pub fn request(&self, id: CalloutId, token: &str, now: UnixMillis, jti: &str) -> Callout {
        let parts = self.auth.parts(&self.uri, now, jti);
        let mut form = vec![
            ("token".to_owned(), token.to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned()),
        ];
        form.extend(parts.form);
        Callout::form_post(
            id,
            self.cluster.clone(),
            self.endpoint.clone(),
            self.timeout_ms,
            &form,
            parts.headers,
        )
    }
}
