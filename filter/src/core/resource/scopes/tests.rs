//! Scope rules: plain rules, computed scopes (each expression feature), the
//! configuration errors of bad expressions, scope claims per provider.

use super::*;
use crate::core::config::{self, ConfigError, ScopeRoute, Scopes};
use crate::core::route::Route;
use serde_json::json;

fn cfg() -> Scopes {
    Scopes::new(
        vec![crate::core::config::sections::scope_expr::ScopeTemplate::literal("api")],
        vec![
            ScopeRoute::required(
                Route::new(&["POST".into()], Some("/orders"), None).unwrap(),
                &["orders:write"],
            ),
            ScopeRoute::required(
                Route::new(&[], None, Some("/admin")).unwrap(),
                &["admin", "api"],
            ),
        ],
    )
}

fn doc(scopes: Value, extra: Value) -> Value {
    let mut d = json!({
        "require_https": false,
        "providers": [{"name": "p", "issuer": "https://as", "audiences": ["api"],
            "jwks": {"remote": {"uri": "https://as/jwks", "cluster": "as"}}}],
        "scopes": scopes,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        d[k] = v.clone();
    }
    d
}

fn parse(scopes: Value) -> Result<config::FilterConfig, ConfigError> {
    config::parse(doc(scopes, json!({})).to_string().as_bytes())
}

fn scopes_of(scopes: Value) -> Scopes {
    parse(scopes).unwrap().scopes
}

/// A request: method, raw path, headers, claims.
fn eval(s: &Scopes, method: &str, raw: &str, headers: &[(&str, &str)], claims: Value) -> Required {
    let normalized = normalize_path(raw);
    let hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let claims = claims.as_object().cloned().unwrap_or_default();
    evaluate(
        s,
        &ScopeInput {
            method,
            path: &normalized,
            raw_path: raw,
            headers: &hs,
            claims: &claims,
        },
    )
}

fn ok(r: Required) -> Vec<String> {
    assert!(!r.unresolved, "unresolved: {r:?}");
    r.scopes
}

fn refused(r: Required) -> Vec<String> {
    assert!(r.unresolved, "resolved: {r:?}");
    r.scopes
}

fn bad(scopes: Value, path: &str) -> String {
    let e = parse(scopes.clone()).expect_err(&scopes.to_string());
    assert_eq!(e.path, path, "{e} for {scopes}");
    e.message
}

#[test]
fn rules_match_method_and_path() {
    let c = cfg();
    assert_eq!(required(&c, "POST", "/orders/1?x"), ["api", "orders:write"]);
    assert_eq!(required(&c, "GET", "/orders/1"), ["api"]);
    assert_eq!(required(&c, "GET", "/admin?q"), ["api", "admin"]);
    assert_eq!(required(&c, "GET", "/admin/x"), ["api"]);
}

#[test]
fn rules_cannot_be_dodged_by_path_tricks() {
    let c = cfg();
    for p in [
        "/admin",
        "//admin",
        "/x/../admin",
        "/./admin",
        "/%61dmin",
        "/%61%64min?q",
        "/admin/",
    ] {
        assert_eq!(required(&c, "GET", p), ["api", "admin"], "{p}");
    }
    assert_eq!(normalize_path("/a%2Fb/%7e/../c"), "/a%2Fb/c");
    assert_eq!(normalize_path("/../.."), "/");
    assert_eq!(normalize_path("/%zz%4"), "/%zz%4");
}

#[test]
fn scope_and_scp_forms() {
    let c = json!({"scope": "a  b", "scp": ["c", 1]});
    let g = granted(c.as_object().unwrap());
    assert_eq!(g.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    let c = json!({"scp": "x y"});
    assert!(satisfied(&["y".into()], c.as_object().unwrap()));
    assert!(!satisfied(&["z".into()], c.as_object().unwrap()));
}

#[test]
fn pinggateway_employeenumber_example() {
    let s = scopes_of(json!({
        "required": ["mail"],
        "rules": [{"when": [{"path_ends_with": "/employee"}], "add": ["employeenumber"]}]
    }));
    assert_eq!(
        ok(eval(&s, "GET", "/people/employee", &[], json!({}))),
        ["mail", "employeenumber"]
    );
    assert_eq!(
        ok(eval(&s, "GET", "/people/employee/", &[], json!({}))),
        ["mail", "employeenumber"]
    );
    assert_eq!(
        ok(eval(&s, "GET", "/people/employees", &[], json!({}))),
        ["mail"]
    );
    assert_eq!(
        ok(eval(&s, "GET", "/people?x=/employee", &[], json!({}))),
        ["mail"]
    );
}

#[test]
fn path_template_captures_a_segment() {
    let s = scopes_of(json!({"rules": [
        {"methods": ["GET"], "path_template": "/accounts/{id}", "required": ["accounts:{path.id}:read"]},
        {"path_template": "/accounts/{id}", "required": ["accounts:{path.id}:write"]},
        {"path_template": "/files/{owner}/{rest*}", "required": ["files:{path.owner}:{path.rest}"]},
    ]}));
    assert_eq!(
        ok(eval(&s, "GET", "/accounts/42", &[], json!({}))),
        ["accounts:42:read"]
    );
    assert_eq!(
        ok(eval(&s, "HEAD", "/accounts/42/", &[], json!({}))),
        ["accounts:42:read"]
    );
    assert_eq!(
        ok(eval(&s, "POST", "/accounts/42", &[], json!({}))),
        ["accounts:42:write"]
    );
    // Unreserved escapes are decoded by the path check; others here.
    assert_eq!(
        ok(eval(&s, "GET", "/accounts/%34%32", &[], json!({}))),
        ["accounts:42:read"]
    );
    assert_eq!(
        ok(eval(&s, "GET", "/accounts/a%3Ab", &[], json!({}))),
        ["accounts:a:b:read"]
    );
    // Not the template: no rule.
    assert!(ok(eval(&s, "GET", "/accounts", &[], json!({}))).is_empty());
    assert!(ok(eval(&s, "GET", "/accounts/42/x", &[], json!({}))).is_empty());
    assert_eq!(
        ok(eval(&s, "GET", "/files/bob/a/b.txt", &[], json!({}))),
        ["files:bob:a/b.txt"]
    );
    assert!(ok(eval(&s, "GET", "/files/bob", &[], json!({}))).is_empty());
}

#[test]
fn values_that_are_not_scope_fragments_fail_closed() {
    let s = scopes_of(json!({"rules": [
        {"path_template": "/accounts/{id}", "required": ["accounts:{path.id}:read", "x"]},
    ]}));
    // A space, a quote, a non-ASCII character, a too long value, a decoded '/'.
    let long = format!("/accounts/{}", "a".repeat(129));
    for p in [
        "/accounts/a%20b",
        "/accounts/a%22b",
        "/accounts/%C3%A9",
        long.as_str(),
        "/accounts/%FF",
    ] {
        assert_eq!(
            refused(eval(&s, "GET", p, &[], json!({}))),
            ["accounts:{path.id}:read", "x"],
            "{p}"
        );
    }
    assert_eq!(
        ok(eval(
            &s,
            "GET",
            &format!("/accounts/{}", "a".repeat(128)),
            &[],
            json!({})
        ))[0]
            .len(),
        "accounts::read".len() + 128
    );
}

#[test]
fn method_query_header_and_claim_variables() {
    let s = scopes_of(json!({"rules": [{"add": [
        "m:{method}", "q:{query.org}", "h:{header.x-tenant}", "c:{claim.tenant}"
    ]}]}));
    let claims = json!({"tenant": "acme"});
    assert_eq!(
        ok(eval(
            &s,
            "PUT",
            "/x?org=o%3A1&y",
            &[("X-Tenant", "t1")],
            claims.clone()
        )),
        ["m:PUT", "q:o:1", "h:t1", "c:acme"]
    );
    // Repeated with the same value: fine; with different values: refused.
    assert!(
        !eval(
            &s,
            "GET",
            "/x?org=a&org=a",
            &[("x-tenant", "t"), ("x-tenant", "t")],
            claims.clone()
        )
        .unresolved
    );
    let r = eval(
        &s,
        "GET",
        "/x?org=a&org=b",
        &[("x-tenant", "t")],
        claims.clone(),
    );
    assert_eq!(refused(r), ["m:GET", "q:{query.org}", "h:t", "c:acme"]);
    let r = eval(
        &s,
        "GET",
        "/x?org=a",
        &[("x-tenant", "t"), ("x-tenant", "u")],
        claims.clone(),
    );
    assert_eq!(refused(r)[2], "h:{header.x-tenant}");
    // Absent, or not a string claim.
    let r = eval(
        &s,
        "GET",
        "/x?org=a",
        &[("x-tenant", "t")],
        json!({"tenant": 7}),
    );
    assert_eq!(refused(r)[3], "c:{claim.tenant}");
    let r = eval(&s, "GET", "/x", &[("x-tenant", "t")], claims.clone());
    assert_eq!(refused(r)[1], "q:{query.org}");
    // A query that does not decode.
    let r = eval(&s, "GET", "/x?org=a&b=%zz", &[("x-tenant", "t")], claims);
    assert_eq!(refused(r)[1], "q:{query.org}");
}

#[test]
fn conditions() {
    let s = scopes_of(json!({"rules": [
        {"when": [{"method": ["POST"]}], "add": ["post"]},
        {"when": [{"query": {"name": "debug", "present": true}}], "add": ["debug"]},
        {"when": [{"query": {"name": "view", "equals": "full"}}], "add": ["full"]},
        {"when": [{"header": {"name": "x-env", "one_of": ["prod", "live"]}}], "add": ["prod"]},
        {"when": [{"claim": {"name": "roles", "equals": "admin"}}], "add": ["is-admin"]},
        {"when": [{"claim": {"name": "lvl", "equals": 2}}], "add": ["lvl2"]},
        {"when": [{"not": {"claim": {"name": "tenant", "present": true}}}], "add": ["no-tenant"]},
        {"when": [{"any": [{"path_starts_with": "/a/"}, {"path_equals": "/b"}]}], "add": ["ab"]},
        {"when": [{"all": [{"method": ["GET"]}, {"path_starts_with": "/a/"}]}, {"path_ends_with": ".txt"}],
         "add": ["a-txt"]},
    ]}));
    let e = |m: &str, p: &str, h: &[(&str, &str)], c: Value| ok(eval(&s, m, p, h, c));
    assert_eq!(e("POST", "/z", &[], json!({"tenant": "t"})), ["post"]);
    assert_eq!(e("GET", "/z?debug", &[], json!({"tenant": "t"})), ["debug"]);
    assert_eq!(
        e("GET", "/z?view=full", &[], json!({"tenant": "t"})),
        ["full"]
    );
    assert!(e("GET", "/z?view=fullx", &[], json!({"tenant": "t"})).is_empty());
    assert_eq!(
        e("GET", "/z", &[("x-env", "live")], json!({"tenant": "t"})),
        ["prod"]
    );
    assert_eq!(
        e(
            "GET",
            "/z",
            &[],
            json!({"tenant": "t", "roles": ["r", "admin"]})
        ),
        ["is-admin"]
    );
    assert_eq!(
        e("GET", "/z", &[], json!({"tenant": "t", "roles": "admin"})),
        ["is-admin"]
    );
    assert_eq!(
        e("GET", "/z", &[], json!({"tenant": "t", "lvl": 2})),
        ["lvl2"]
    );
    assert_eq!(e("GET", "/z", &[], json!({"tenant": null})), ["no-tenant"]);
    assert_eq!(e("GET", "/b/", &[], json!({"tenant": "t"})), ["ab"]);
    assert_eq!(
        e("HEAD", "/a/x.txt", &[], json!({"tenant": "t"})),
        ["ab", "a-txt"]
    );
    assert_eq!(e("PUT", "/a/x.txt", &[], json!({"tenant": "t"})), ["ab"]);
}

#[test]
fn undecidable_conditions_fail_closed_kleene() {
    let s = scopes_of(json!({"rules": [
        {"path_prefix": "/p", "when": [{"header": {"name": "x-env", "equals": "prod"}}], "required": ["prod"]},
        {"path_prefix": "/p", "required": ["read"]},
        {"path_prefix": "/q", "when": [{"any": [{"method": ["GET"]}, {"header": {"name": "x-env", "equals": "prod"}}]}],
         "required": ["q"]},
    ]}));
    assert_eq!(
        ok(eval(&s, "GET", "/p", &[("x-env", "prod")], json!({}))),
        ["prod"]
    );
    assert_eq!(
        ok(eval(&s, "GET", "/p", &[("x-env", "dev")], json!({}))),
        ["read"]
    );
    // Two values: neither rule is picked; refused, naming the first.
    let two = [("x-env", "prod"), ("x-env", "dev")];
    assert_eq!(refused(eval(&s, "GET", "/p", &two, json!({}))), ["prod"]);
    // `any` with a true member is true whatever the other is.
    assert_eq!(ok(eval(&s, "GET", "/q", &two, json!({}))), ["q"]);
    assert_eq!(refused(eval(&s, "POST", "/q", &two, json!({}))), ["q"]);
    // Refused even when negated.
    let n = scopes_of(
        json!({"rules": [{"when": [{"not": {"query": {"name": "a", "equals": "1"}}}], "add": ["x"]}]}),
    );
    assert!(eval(&n, "GET", "/?a=1&a=2", &[], json!({})).unresolved);
    assert!(ok(eval(&n, "GET", "/?a=1", &[], json!({}))).is_empty());
}

#[test]
fn first_required_rule_and_every_add_rule() {
    let s = scopes_of(json!({
        "required": ["{claim.tenant}:api"],
        "rules": [
            {"add": ["audit"], "when": [{"method": ["DELETE"]}]},
            {"path_prefix": "/a", "required": ["a1"]},
            {"path_prefix": "/a", "required": ["a2"]},
            {"path_prefix": "/a", "add": ["a3"]},
        ]
    }));
    let c = json!({"tenant": "t"});
    assert_eq!(
        ok(eval(&s, "DELETE", "/a", &[], c.clone())),
        ["t:api", "audit", "a1", "a3"]
    );
    assert_eq!(ok(eval(&s, "GET", "/b", &[], c)), ["t:api"]);
    assert_eq!(
        refused(eval(&s, "GET", "/b", &[], json!({}))),
        ["{claim.tenant}:api"]
    );
}

/// The rule index (by first segment) keeps the rules' order and meaning:
/// the first matching `required` rule wins, whether it is indexed or
/// checked for every path, and exact, prefix and lowercased rules are found.
#[test]
fn indexed_rules_keep_order_with_many_rules() {
    let mut rules: Vec<Value> = (0..500)
        .map(|i| json!({"path_prefix": format!("/area-{i}/"), "required": [format!("w{i}")]}))
        .collect();
    rules.insert(100, json!({"path_prefix": "/are", "required": ["are"]}));
    rules.push(json!({"path": "/Exact/One", "required": ["exact"]}));
    rules.push(json!({"path_prefix": "/area-7/x/", "add": ["x7"]}));
    rules.push(json!({"path_prefix": "/", "required": ["read"]}));
    let d = doc(
        json!({ "rules": rules }),
        json!({"case_insensitive_paths": true}),
    );
    let s = config::parse(d.to_string().as_bytes()).unwrap().scopes;
    let req = |p: &str| ok(eval(&s, "GET", p, &[], json!({})));
    assert_eq!(req("/area-7/x/1"), ["w7", "x7"]);
    // Rule 100 (`/are`, checked for every path) comes before `/area-100/`.
    assert_eq!(req("/area-99/"), ["w99"]);
    assert_eq!(req("/area-100/"), ["are"]);
    assert_eq!(req("/area-499/y"), ["are"]);
    assert_eq!(req("/exact/one/"), ["exact"]);
    assert_eq!(req("/exact/two"), ["read"]);
    assert_eq!(req("/"), ["read"]);
    assert_eq!(req("/other"), ["read"]);
}

#[test]
fn case_insensitive_paths_fold_templates_and_conditions() {
    let d = doc(
        json!({"rules": [
            {"path_template": "/Accounts/{Id}", "required": ["acct:{path.Id}"]},
            {"when": [{"path_ends_with": "/Employee"}], "add": ["emp"]},
        ]}),
        json!({"case_insensitive_paths": true}),
    );
    let s = config::parse(d.to_string().as_bytes()).unwrap().scopes;
    // The pipeline lowercases the request path; captures are lowercase.
    let r = eval(&s, "GET", "/accounts/ab", &[], json!({}));
    assert_eq!(ok(r), ["acct:ab"]);
    assert_eq!(ok(eval(&s, "GET", "/x/employee", &[], json!({}))), ["emp"]);
}

#[test]
fn satisfied_needs_resolution_and_reads_scope_claims() {
    use crate::core::config::provider::{ScopeClaim, ScopeFormat};
    let claims = json!({"scope": "a b", "permissions": ["c"], "scp": "d"});
    let claims = claims.as_object().unwrap();
    let r = |s: &[&str], unresolved| Required {
        scopes: s.iter().map(|x| x.to_string()).collect(),
        unresolved,
    };
    let defaults = ScopeClaim::defaults();
    assert!(r(&["a", "d"], false).satisfied_by(&defaults, claims));
    assert!(!r(&["c"], false).satisfied_by(&defaults, claims));
    assert!(!r(&[], true).satisfied_by(&defaults, claims));
    let custom = [
        ScopeClaim {
            claim: "permissions".into(),
            format: ScopeFormat::Array,
        },
        ScopeClaim {
            claim: "scp".into(),
            format: ScopeFormat::Array,
        },
    ];
    assert!(r(&["c"], false).satisfied_by(&custom, claims));
    // `scope` is not listed; `scp` is a string where an array is expected.
    assert!(!r(&["a"], false).satisfied_by(&custom, claims));
    assert!(!r(&["d"], false).satisfied_by(&custom, claims));
    let strings = [ScopeClaim {
        claim: "permissions".into(),
        format: ScopeFormat::String,
    }];
    assert!(granted_by(&strings, claims).is_empty());
}

#[test]
fn scope_claims_config() {
    let with = |sc: Value| {
        let mut d = doc(json!({}), json!({}));
        d["providers"][0]["scope_claims"] = sc;
        config::parse(d.to_string().as_bytes())
    };
    let c = with(json!([{"claim": "permissions", "format": "array"}, {"claim": "scope", "format": "string"}]))
        .unwrap();
    assert_eq!(c.providers[0].scope_claims.len(), 2);
    let d = config::parse(doc(json!({}), json!({})).to_string().as_bytes()).unwrap();
    assert_eq!(
        d.providers[0].scope_claims,
        crate::core::config::provider::ScopeClaim::defaults()
    );
    for (sc, path) in [
        (json!([]), "providers[0].scope_claims"),
        (json!([{"claim": ""}]), "providers[0].scope_claims[0].claim"),
        (
            json!([{"claim": "a"}, {"claim": "a"}]),
            "providers[0].scope_claims[1].claim",
        ),
        (
            json!([{"claim": "a", "format": "csv"}]),
            "providers[0].scope_claims[0].format",
        ),
        (
            json!([{"claim": "a", "x": 1}]),
            "providers[0].scope_claims[0].x",
        ),
    ] {
        assert_eq!(with(sc.clone()).unwrap_err().path, path, "{sc}");
    }
}

#[test]
fn bad_expressions_name_the_field() {
    let r = "scopes.rules[0]";
    // Rule shape.
    bad(json!({"rules": [{"path": "/a"}]}), r);
    bad(
        json!({"rules": [{"path": "/a", "required": [], "add": ["x"]}]}),
        r,
    );
    bad(json!({"rules": [{"required": ["a"]}]}), r);
    bad(
        json!({"rules": [{"path": "/a", "path_template": "/b", "required": []}]}),
        r,
    );
    bad(json!({"rules": [{"add": []}]}), "scopes.rules[0].add");
    // Path templates.
    let pt = "scopes.rules[0].path_template";
    for t in [
        "a/{id}",
        "/a/{}",
        "/a/{id}/{id}",
        "/a/{r*}/b",
        "/a/x{id}",
        "/a//b",
        "/a/../b",
        "/a/{i-d}",
        "/a b",
    ] {
        bad(json!({"rules": [{"path_template": t, "required": []}]}), pt);
    }
    // Scopes with placeholders.
    let req = "scopes.rules[0].required[0]";
    for s in [
        "a:{id}",
        "a:{path.x}",
        "{nope.x}",
        "a{",
        "a}",
        "{a{b}}",
        "{}",
        "a b",
        "{header.X-Up}",
        "{query.}",
        "{claim.a b}",
        "{method}{method}{method}{method}{method}{method}{method}{method}{method}",
    ] {
        bad(
            json!({"rules": [{"path_template": "/a/{id}", "required": [s]}]}),
            req,
        );
    }
    assert!(bad(
        json!({"rules": [{"path_template": "/a/{id}", "required": ["a:{id}"]}]}),
        req
    )
    .contains("{path.id}"));
    bad(json!({"required": ["{path.id}"]}), "scopes.required[0]");
    bad(json!({"required": ["x".repeat(257)]}), "scopes.required[0]");
    // Conditions.
    let w = "scopes.rules[0].when[0]";
    let cond = |c: Value, path: &str| bad(json!({"rules": [{"when": [c], "add": ["x"]}]}), path);
    cond(
        json!({"path_starts_with": "a"}),
        &format!("{w}.path_starts_with"),
    );
    cond(
        json!({"path_ends_with": ""}),
        &format!("{w}.path_ends_with"),
    );
    cond(json!({"path_equals": "/a?b"}), &format!("{w}.path_equals"));
    cond(json!({"method": []}), &format!("{w}.method"));
    cond(json!({"method": ["GET", "get"]}), &format!("{w}.method[1]"));
    cond(
        json!({"query": {"name": "", "present": true}}),
        &format!("{w}.query.name"),
    );
    cond(json!({"query": {"name": "a"}}), &format!("{w}.query"));
    cond(
        json!({"query": {"name": "a", "present": true, "equals": "b"}}),
        &format!("{w}.query"),
    );
    cond(
        json!({"query": {"name": "a", "equals": 1}}),
        &format!("{w}.query.equals"),
    );
    cond(
        json!({"header": {"name": "X-A", "present": true}}),
        &format!("{w}.header.name"),
    );
    cond(
        json!({"header": {"name": "a", "one_of": []}}),
        &format!("{w}.header.one_of"),
    );
    cond(
        json!({"claim": {"name": "a", "equals": [1]}}),
        &format!("{w}.claim.equals"),
    );
    cond(
        json!({"claim": {"name": "a", "equals": null}}),
        &format!("{w}.claim"),
    );
    cond(json!({"any": []}), &format!("{w}.any"));
    cond(
        json!({"all": [{"method": ["get"]}]}),
        &format!("{w}.all[0].method[0]"),
    );
    cond(
        json!({"not": {"not": {"not": {"not": {"method": ["GET"]}}}}}),
        &format!("{w}.not.not.not.not"),
    );
    // Unknown or two operators: serde names the condition.
    let e = parse(json!({"rules": [{"when": [{"regex": "a.*"}], "add": ["x"]}]})).unwrap_err();
    assert!(e.path.starts_with(w), "{e}");
    let e = parse(
        json!({"rules": [{"when": [{"method": ["GET"], "path_equals": "/a"}], "add": ["x"]}]}),
    )
    .unwrap_err();
    assert!(e.path.starts_with("scopes.rules[0].when"), "{e}");
}

#[test]
fn limits() {
    let rules: Vec<Value> = (0..1025).map(|_| json!({"add": ["x"]})).collect();
    bad(json!({"rules": rules}), "scopes.rules");
    let rules: Vec<Value> = (0..1024).map(|_| json!({"add": ["x"]})).collect();
    assert!(crate::core::config::parse(
        json!({"providers": [{"name": "p", "issuer": "https://as", "audiences": ["a"],
                              "jwks": {"remote": {"uri": "https://as/jwks", "cluster": "as"}}}],
               "scopes": {"rules": rules}})
        .to_string()
        .as_bytes()
    )
    .is_ok());
    let when: Vec<Value> = (0..33).map(|_| json!({"method": ["GET"]})).collect();
    bad(
        json!({"rules": [{"when": when, "add": ["x"]}]}),
        "scopes.rules[0].when",
    );
    // 1024 conditions in all: the 1025th is refused, wherever it is.
    let when: Vec<Value> = (0..32).map(|_| json!({"method": ["GET"]})).collect();
    let rules: Vec<Value> = (0..33)
        .map(|_| json!({"when": when.clone(), "add": ["x"]}))
        .collect();
    bad(json!({"rules": rules}), "scopes.rules[32].when[0]");
    let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
    bad(json!({"rules": [{"add": many}]}), "scopes.rules[0].add");
    let seg = "/a".repeat(33);
    bad(
        json!({"rules": [{"path_template": seg, "required": []}]}),
        "scopes.rules[0].path_template",
    );
}
