//! `/system/secrets` as faasd 0.19.0 serves it: a secret is a file in its secrets directory, so a
//! write to an existing name overwrites it, deleting a missing one is a 500 naming the path, and a
//! name that could leave the directory is refused. The list is JSON labelled `text/plain`. A body
//! that is not JSON (or whose `rawValue` is not base64) is a 500, an empty name a 400, and a
//! write to another namespace is taken (into that namespace's directory), as checked by hand.

use base64::Engine;
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use crate::state::{Gateway, NAMESPACE, SECRETS_DIR, SecretValue, is_valid_namespace};
use crate::{Reply, empty, error, query_value, text};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretRequest {
    name: Option<String>,
    value: Option<String>,
    raw_value: Option<String>,
    namespace: Option<String>,
}

#[derive(Serialize)]
struct ListedSecret<'a> {
    name: &'a str,
    namespace: &'static str,
}

/// Reads the body as faasd's `parseSecret` does: JSON (Go's decoding errors, `rawValue`'s
/// base64 included, are 500s), then no `..` or `/` in the name (400).
fn parse_secret(body: &[u8]) -> Result<SecretRequest, (StatusCode, String)> {
    let request: SecretRequest = serde_json::from_slice(body)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let name = request.name.as_deref().unwrap_or_default();
    if name.contains("..") || name.contains('/') {
        return Err((
            StatusCode::BAD_REQUEST,
            "directory traversal found in name".to_owned(),
        ));
    }
    Ok(request)
}

/// Where a secret of `namespace` is kept: by name in lmnop's namespace, `NAMESPACE/NAME` in
/// another (never listed).
fn key(namespace: Option<&str>, name: String) -> String {
    match namespace {
        Some(namespace) if !namespace.is_empty() && !is_valid_namespace(Some(namespace)) => {
            format!("{namespace}/{name}")
        }
        _ => name,
    }
}

/// Go decodes `rawValue` into `[]byte` as standard base64 while it reads the JSON.
fn decode_raw(raw: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| {
            let at = match e {
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol { offset: at, .. } => at,
                _ => raw.len(),
            };
            format!("illegal base64 data at input byte {at}")
        })
}

/// `GET /system/secrets`.
pub fn list_secrets(gateway: &Gateway, query: Option<&str>) -> Reply {
    if !is_valid_namespace(query_value(query, "namespace").as_deref()) {
        return error(StatusCode::BAD_REQUEST, "namespace not valid");
    }
    let state = gateway.lock();
    let listed: Vec<ListedSecret<'_>> = state
        .secrets
        .keys()
        .filter(|name| !name.contains('/'))
        .map(|name| ListedSecret {
            name,
            namespace: NAMESPACE,
        })
        .collect();
    match serde_json::to_vec(&listed) {
        Ok(body) => text(StatusCode::OK, "text/plain", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST` and `PUT /system/secrets`: both create or overwrite, both answer 200.
pub fn write_secret(gateway: &Gateway, body: &[u8]) -> Reply {
    let request = match parse_secret(body) {
        Ok(request) => request,
        Err((status, message)) => return error(status, &message),
    };
    let raw = match request.raw_value.as_deref().map(decode_raw).transpose() {
        Ok(raw) => raw.unwrap_or_default(),
        Err(message) => {
            let message = format!(
                "json: cannot unmarshal string into Go struct field Secret.rawValue of type \
                 []uint8: {message}"
            );
            return error(StatusCode::INTERNAL_SERVER_ERROR, &message);
        }
    };
    let name = request.name.unwrap_or_default();
    if name.is_empty() {
        return error(StatusCode::BAD_REQUEST, "non-empty name is required");
    }
    let name = key(request.namespace.as_deref(), name);
    let bytes = if raw.is_empty() {
        request.value.unwrap_or_default().into_bytes()
    } else {
        raw
    };
    gateway.lock().secrets.insert(name, SecretValue::new(bytes));
    empty(StatusCode::OK)
}

/// `DELETE /system/secrets`.
pub fn delete_secret(gateway: &Gateway, body: &[u8]) -> Reply {
    let request = match parse_secret(body) {
        Ok(request) => request,
        Err((status, message)) => return error(status, &message),
    };
    let name = request.name.unwrap_or_default();
    let name = if name.is_empty() {
        name
    } else {
        key(request.namespace.as_deref(), name)
    };
    let mut state = gateway.lock();
    if name.is_empty() {
        // `os.Remove` of the directory itself, which only works while it is empty.
        if state.secrets.is_empty() {
            return empty(StatusCode::OK);
        }
        let message = format!("remove {SECRETS_DIR}: directory not empty");
        return error(StatusCode::INTERNAL_SERVER_ERROR, &message);
    }
    if state.secrets.remove(&name).is_none() {
        let message = format!("remove {SECRETS_DIR}/{name}: no such file or directory");
        return error(StatusCode::INTERNAL_SERVER_ERROR, &message);
    }
    empty(StatusCode::OK)
}
