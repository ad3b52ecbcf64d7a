//! The proxies, the cases driven at saturation (wrk) and the cases driven at
//! a fixed rate (oha).

/// Which proxy a case drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Upstream,
    HostPlain,
    HostNoop,
    /// The no-op module reading the header map and the clock.
    HostReads,
    HostJwt,
    HostJwtAuditOff,
    HostIntrospection,
    EnvoyPlain,
    EnvoyNoop,
    /// The no-op module reading the header map and the clock.
    EnvoyReads,
    EnvoyJwt,
    EnvoyJwtAuditOff,
    EnvoyIntrospection,
    EnvoyIntrospectionAuditOff,
    EnvoyJwtAuthn,
    /// oauth-host + filter: 1 provider, 1 key, 1 route rule (audit off).
    ScaleBase,
    /// 50 providers (the token's issuer is the last).
    ScaleProviders,
    /// 100 keys in the set (the tokens' key is the last).
    ScaleKeys,
    /// 1 000 route rules (the request matches the last).
    ScaleRules,
}

impl Target {
    /// Whether it refuses a request without a token (a filter, jwt_authn).
    pub fn protects(self) -> bool {
        use Target::*;
        !matches!(
            self,
            Upstream | HostPlain | HostNoop | HostReads | EnvoyPlain | EnvoyNoop | EnvoyReads
        )
    }

    /// Envoy or oauth-host (or neither: the upstream).
    pub fn proxy(self) -> Proxy {
        use Target::*;
        match self {
            Upstream => Proxy::None,
            HostPlain | HostNoop | HostReads | HostJwt | HostJwtAuditOff | HostIntrospection
            | ScaleBase | ScaleProviders | ScaleKeys | ScaleRules => Proxy::Host,
            EnvoyPlain
            | EnvoyNoop
            | EnvoyReads
            | EnvoyJwt
            | EnvoyJwtAuditOff
            | EnvoyIntrospection
            | EnvoyIntrospectionAuditOff
            | EnvoyJwtAuthn => Proxy::Envoy,
        }
    }
}

/// The proxy family of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    None,
    Host,
    Envoy,
}

/// What each request carries.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    None,
    Rs256,
    Es256,
    Opaque,
    Rotating,
}

/// One case at saturation.
pub struct Case {
    pub id: &'static str,
    pub label: &'static str,
    pub target: Target,
    pub load: Load,
}

const fn case(id: &'static str, label: &'static str, target: Target, load: Load) -> Case {
    Case {
        id,
        label,
        target,
        load,
    }
}

use Load as L;
use Target as T;

/// Every saturation case, in the order of the first round.
pub const CASES: &[Case] = &[
    case("1", "upstream direct", T::Upstream, L::None),
    case("2", "oauth-host, no module", T::HostPlain, L::None),
    case(
        "2n",
        "oauth-host + no-op module (floor)",
        T::HostNoop,
        L::None,
    ),
    case(
        "2r",
        "oauth-host + no-op module reading headers and clock (read floor)",
        T::HostReads,
        L::Rs256,
    ),
    case(
        "3",
        "oauth-host + filter, RS256 cached",
        T::HostJwt,
        L::Rs256,
    ),
    case(
        "3off",
        "oauth-host + filter, RS256 cached, audit off",
        T::HostJwtAuditOff,
        L::Rs256,
    ),
    case(
        "4",
        "oauth-host + filter, ES256 cached",
        T::HostJwt,
        L::Es256,
    ),
    case(
        "5",
        "oauth-host + filter, RS256 10k tokens (verify)",
        T::HostJwt,
        L::Rotating,
    ),
    case(
        "6",
        "oauth-host + filter, introspection cached",
        T::HostIntrospection,
        L::Opaque,
    ),
    case("7", "Envoy, no filter", T::EnvoyPlain, L::None),
    case("7n", "Envoy + no-op module (floor)", T::EnvoyNoop, L::None),
    case(
        "7r",
        "Envoy + no-op module reading headers and clock (read floor)",
        T::EnvoyReads,
        L::Rs256,
    ),
    case("8.3", "Envoy + filter, RS256 cached", T::EnvoyJwt, L::Rs256),
    case(
        "8.3off",
        "Envoy + filter, RS256 cached, audit off",
        T::EnvoyJwtAuditOff,
        L::Rs256,
    ),
    case("8.4", "Envoy + filter, ES256 cached", T::EnvoyJwt, L::Es256),
    case(
        "8.4off",
        "Envoy + filter, ES256 cached, audit off",
        T::EnvoyJwtAuditOff,
        L::Es256,
    ),
    case(
        "8.5",
        "Envoy + filter, RS256 10k tokens (verify)",
        T::EnvoyJwt,
        L::Rotating,
    ),
    case(
        "8.6",
        "Envoy + filter, introspection cached",
        T::EnvoyIntrospection,
        L::Opaque,
    ),
    case(
        "8.6off",
        "Envoy + filter, introspection cached, audit off",
        T::EnvoyIntrospectionAuditOff,
        L::Opaque,
    ),
    case(
        "9.3",
        "Envoy + jwt_authn, RS256 cached",
        T::EnvoyJwtAuthn,
        L::Rs256,
    ),
    case(
        "9.4",
        "Envoy + jwt_authn, ES256 cached",
        T::EnvoyJwtAuthn,
        L::Es256,
    ),
    case(
        "9.5",
        "Envoy + jwt_authn, RS256 10k tokens (verify)",
        T::EnvoyJwtAuthn,
        L::Rotating,
    ),
    case(
        "s1",
        "scale: oauth-host + filter, 1 provider/key/rule, RS256 cached",
        T::ScaleBase,
        L::Rs256,
    ),
    case(
        "s1v",
        "scale: oauth-host + filter, 1 provider/key/rule, 10k tokens",
        T::ScaleBase,
        L::Rotating,
    ),
    case(
        "sp50",
        "scale: 50 providers, RS256 cached",
        T::ScaleProviders,
        L::Rs256,
    ),
    case(
        "sk100",
        "scale: 100 keys in the set, 10k tokens",
        T::ScaleKeys,
        L::Rotating,
    ),
    case(
        "sr1000",
        "scale: 1 000 route rules, RS256 cached",
        T::ScaleRules,
        L::Rs256,
    ),
];

/// One case at a fixed rate: half the saturation rate of `rate_of` (a
/// saturation case), the same rate for the filter and its floor.
pub struct FixedCase {
    pub id: &'static str,
    pub label: &'static str,
    pub target: Target,
    pub load: Load,
    pub rate_of: &'static str,
}

/// The fixed-rate cases: the filter (cached token, audit off) and the no-op
/// module in each proxy.
pub const FIXED: &[FixedCase] = &[
    FixedCase {
        id: "f2n",
        label: "oauth-host + no-op module",
        target: T::HostNoop,
        load: L::None,
        rate_of: "3off",
    },
    FixedCase {
        id: "f3off",
        label: "oauth-host + filter, RS256 cached, audit off",
        target: T::HostJwtAuditOff,
        load: L::Rs256,
        rate_of: "3off",
    },
    FixedCase {
        id: "f7n",
        label: "Envoy + no-op module",
        target: T::EnvoyNoop,
        load: L::None,
        rate_of: "8.3off",
    },
    FixedCase {
        id: "f8.3off",
        label: "Envoy + filter, RS256 cached, audit off",
        target: T::EnvoyJwtAuditOff,
        load: L::Rs256,
        rate_of: "8.3off",
    },
];
