//! Every JSON example in docs/filter-config.md is a valid configuration.

#[test]
fn documented_examples_parse() {
    let doc = include_str!("../../docs/filter-config.md");
    let mut examples = 0;
    let mut rest = doc;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed code block");
        let json = &body[..end];
        if let Err(e) = oauth_filter::core::config::parse(json.as_bytes()) {
            panic!("example {examples} in docs/filter-config.md: {e}\n{json}");
        }
        examples += 1;
        rest = &body[end..];
    }
    assert!(examples >= 2, "found {examples} examples");
}
