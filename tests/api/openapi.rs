//! The OpenAPI document stays true to the router, both ways: the crate's route table (the one
//! list the dispatcher, the log names and the access checks derive from) must equal the `paths`
//! of `openapi.json`, and every documented route is probed on the running worker: it must not
//! answer 404 `not_found` or 405.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

/// A session id of the real shape (43 base64url characters) for `{id}`.
const SAMPLE_ID: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn router_routes() -> BTreeSet<(String, String)> {
    wemasy_security::api_routes().into_iter().collect()
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
    let file: Value = serde_json::from_str(&std::fs::read_to_string("public/api/openapi.json").unwrap()).unwrap();
    assert_eq!(response.body, file, "rebuild the worker: the served document is stale");
    assert!(response.body["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string("public/api/openapi.json").unwrap()).unwrap();
    let documented = document_routes(&file);
    let routed = router_routes();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(missing.is_empty(), "routes the worker answers but openapi.json does not list: {missing:?}");
    assert!(extra.is_empty(), "routes openapi.json lists but the router does not have: {extra:?}");
}

#[tokio::test]
async fn every_documented_route_is_answered_by_the_worker() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string("public/api/openapi.json").unwrap()).unwrap();
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
    let file: Value = serde_json::from_str(&std::fs::read_to_string("public/api/openapi.json").unwrap()).unwrap();
    for (path, item) in file["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in operation["responses"].as_object().expect("responses").keys() {
                let code: u16 = status.parse().unwrap_or_else(|_| panic!("{method} {path}: status {status}"));
                assert!(
                    [200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 415, 429, 503].contains(&code),
                    "{method} {path}: {code}"
                );
            }
            // Every state-changing route can be refused as cross-origin, but the two the browser
            // calls itself for a device-bound session (DBSC), whose own headers are the check.
            if method != "get" && !path.starts_with("/api/auth/dbsc/") {
                assert!(operation["responses"]["403"].is_object(), "{method} {path} lacks 403");
            }
        }
    }
}
