//! `/system/secrets` as faasd serves it: a secret is a file in its secrets directory, so a write
//! to an existing name overwrites it, deleting a missing one is a 500 naming the path, and a name
//! that could leave the directory is refused. The list is JSON labelled `text/plain`.

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

/// Reads the body as faasd's `parseSecret` does: JSON, then no `..` or `/` in the name. The
/// error is the message of a 400.
fn parse_secret(body: &[u8]) -> Result<SecretRequest, String> {
    let request: SecretRequest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let name = request.name.as_deref().unwrap_or_default();
    if name.contains("..") || name.contains('/') {
        return Err("directory traversal found in name".to_owned());
    }
    if !is_valid_namespace(request.namespace.as_deref()) {
        return Err("namespace not valid".to_owned());
    }
    Ok(request)
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
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let raw = match request.raw_value.as_deref().map(decode_raw).transpose() {
        Ok(raw) => raw.unwrap_or_default(),
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let name = request.name.unwrap_or_default();
    if name.is_empty() {
        // The file path is the directory itself.
        let message = format!("open {SECRETS_DIR}: is a directory");
        return error(StatusCode::INTERNAL_SERVER_ERROR, &message);
    }
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
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let name = request.name.unwrap_or_default();
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
