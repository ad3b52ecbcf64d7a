//! Secrets in the configuration, resolved against an explicit [`Secrets`]
//! input (the adapter builds it from the VM's environment and the VM
//! configuration; native callers and tests pass their own). Nothing here
//! reads the process environment.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::check::err;
use super::ConfigError;

/// Where `{"env": NAME}` and `{"vm_config": NAME}` references are looked up.
#[derive(Clone, Default)]
pub struct Secrets {
    env: HashMap<String, String>,
    vm_config: HashMap<String, String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("vm_config", &self.vm_config.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets {
    /// No environment, no VM-configuration secrets.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// With these environment variables (the adapter: `std::env::vars()`,
    /// WASI `environ_get`).
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Secrets {
        self.env = vars.into_iter().collect();
        self
    }

    /// With these VM-configuration secrets (see [`parse_vm_secrets`]).
    pub fn with_vm_config(mut self, secrets: HashMap<String, String>) -> Secrets {
        self.vm_config = secrets;
        self
    }

    /// The value of `r`; errors at `path` name the reference, never a value.
    pub fn resolve(&self, r: &SecretRef, path: &str) -> Result<Secret, ConfigError> {
        match r {
            SecretRef::Inline(s) => Ok(Secret(s.clone())),
            SecretRef::Env(name) => match self.env.get(name) {
                Some(s) if !s.is_empty() => Ok(Secret(s.clone())),
                _ => Err(err(
                    path,
                    format!("environment variable {name} is not set (or empty)"),
                )),
            },
            SecretRef::VmConfig(name) => match self.vm_config.get(name) {
                Some(s) if !s.is_empty() => Ok(Secret(s.clone())),
                _ => Err(err(
                    path,
                    format!("the VM configuration has no secret {name} (or it is empty)"),
                )),
            },
        }
    }
}

/// Parse the VM configuration's secrets: empty, or a JSON object
/// `{"secrets": {"NAME": "value", ...}}` (other members are ignored).
pub fn parse_vm_secrets(bytes: &[u8]) -> Result<HashMap<String, String>, ConfigError> {
    let e = |m: &str| err("vm_configuration", m);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|_| e("not JSON"))?;
    let Some(obj) = v.as_object() else {
        return Err(e("not a JSON object"));
    };
    let mut out = HashMap::new();
    match obj.get("secrets") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let Some(s) = v.as_str() else {
                    return Err(err(
                        format!("vm_configuration.secrets.{k}"),
                        "must be a string",
                    ));
                };
                out.insert(k.clone(), s.to_owned());
            }
        }
        Some(_) => return Err(e("secrets must be an object")),
    }
    Ok(out)
}

/// A secret as written in the configuration: inline (`"s3cret"`),
/// `{"env": "NAME"}` (environment variable `NAME` of the VM: WASI
/// `environ_get`; Envoy's `vm_config.environment_variables`, oauth-host's
/// `environment:`), or `{"vm_config": "NAME"}` (member `NAME` of `secrets`
/// in the VM configuration). Resolved by [`Secrets::resolve`] when the
/// configuration is parsed; a missing or empty value is a configuration
/// error naming the field and the reference. `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Written in the configuration.
    Inline(String),
    /// An environment variable's name.
    Env(String),
    /// A VM-configuration secret's name.
    VmConfig(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Inline(_) => f.write_str("<redacted>"),
            SecretRef::Env(n) => write!(f, "env({n})"),
            SecretRef::VmConfig(n) => write!(f, "vm_config({n})"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SecretRef, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        enum Reference {
            Env(String),
            VmConfig(String),
        }
        const EXPECTED: &str =
            "expected a string, {\"env\": \"NAME\"} or {\"vm_config\": \"NAME\"}";
        match Value::deserialize(d)? {
            Value::String(s) => Ok(SecretRef::Inline(s)),
            v @ Value::Object(_) => {
                let r: Reference =
                    serde_json::from_value(v).map_err(|_| serde::de::Error::custom(EXPECTED))?;
                Ok(match r {
                    Reference::Env(n) => SecretRef::Env(n),
                    Reference::VmConfig(n) => SecretRef::VmConfig(n),
                })
            }
            _ => Err(serde::de::Error::custom(EXPECTED)),
        }
    }
}

/// A resolved secret; `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from a string.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself: only for building the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
