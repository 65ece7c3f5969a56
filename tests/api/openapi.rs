//! The OpenAPI document stays true to the router, both ways.
//!
//! How: the router's routes are read from the source of `src/routes/mod.rs` (every match arm of
//! the form `(Method::X, ["seg", "seg", id])`, a bare identifier being a path parameter), and the
//! document's from the `paths` of `/api/openapi.json` as the worker serves it. The two sets must be
//! equal, so a route added to the router without the document (or the other way) fails here.
//! Parsing the source rather than keeping a hand list means nobody has to remember a third place;
//! and because the source could in theory disagree with the built worker, every documented route
//! is also probed on the running worker: it must not answer 404 `not_found` or 405.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

/// A session id of the real shape (43 base64url characters) for `{id}`.
const SAMPLE_ID: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn router_routes() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string("src/routes/mod.rs").expect("src/routes/mod.rs");
    let mut routes = BTreeSet::new();
    for line in source.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("(Method::") else { continue };
        let Some((method, rest)) = rest.split_once(", [") else { continue };
        let Some((segments, _)) = rest.split_once(']') else { continue };
        let path: Vec<String> = segments
            .split(',')
            .map(str::trim)
            .map(|s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(literal) => literal.to_string(),
                None => format!("{{{s}}}"),
            })
            .collect();
        routes.insert((method.to_uppercase(), format!("/api/{}", path.join("/"))));
    }
    assert!(routes.len() >= 10, "could not read the router's match arms: {routes:?}");
    routes
}

fn document_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_served_openapi_document_is_the_one_in_the_repository() {
    let mut app = TestApp::new();
    let response = app.request(Method::GET, "/api/openapi.json", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.header("content-type").unwrap_or("").starts_with("application/json"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string("openapi.json").unwrap()).unwrap();
    assert_eq!(response.body, file, "rebuild the worker: the served document is stale");
    assert!(response.body["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string("openapi.json").unwrap()).unwrap();
    let documented = document_routes(&file);
    let routed = router_routes();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(missing.is_empty(), "routes the worker answers but openapi.json does not list: {missing:?}");
    assert!(extra.is_empty(), "routes openapi.json lists but the router does not have: {extra:?}");
}

#[tokio::test]
async fn every_documented_route_is_answered_by_the_worker() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string("openapi.json").unwrap()).unwrap();
    let mut app = TestApp::new();
    for (method, path) in document_routes(&file) {
        let concrete = path.replace("{id}", SAMPLE_ID);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.request(method.clone(), &concrete, None).await;
        assert_ne!(response.status, 405, "{method} {path}: {}", response.text);
        assert!(
            !(response.status == 404 && response.error_code() == "not_found" && !path.contains("{id}")),
            "{method} {path} is not routed: {}",
            response.text
        );
        assert!(response.status < 500, "{method} {path}: {}", response.text);
        // Signed out, every route but the public ones answers 401 (not 404): it was routed.
        if path.contains("{id}") {
            response.assert_error(401, "unauthenticated");
        }
    }
}

#[tokio::test]
async fn every_documented_status_is_one_the_error_contract_can_answer() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string("openapi.json").unwrap()).unwrap();
    for (path, item) in file["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in operation["responses"].as_object().expect("responses").keys() {
                let code: u16 = status.parse().unwrap_or_else(|_| panic!("{method} {path}: status {status}"));
                assert!(
                    [200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 429].contains(&code),
                    "{method} {path}: {code}"
                );
            }
            // Every state-changing route can be refused as cross-origin.
            if method != "get" {
                assert!(operation["responses"]["403"].is_object(), "{method} {path} lacks 403");
            }
        }
    }
}
