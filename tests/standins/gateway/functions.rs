//! The function handlers of faasd 0.19.0 behind the CE gateway: deploy, update (which deletes the
//! running function when it fails, as the real handler forgets to `return`), delete, scale
//! (clamped to 1-5 by the gateway, acting on the body's `serviceName`), list and show.

use hyper::StatusCode;
use serde::Deserialize;

use crate::deployment::{Deployment, Function, FunctionStatus, Resources, View};
use crate::state::{Gateway, Provider, SECRETS_DIR, State, is_valid_namespace};
use crate::{Reply, empty, error, json, query_value, registry};

/// The CE gateway's range for scale requests (`gateway/scaling/ranges.go`).
const MIN_REPLICAS: u64 = 1;
const MAX_REPLICAS: u64 = 5;

fn write_ok(gateway: &Gateway) -> Reply {
    empty(gateway.config.provider.write_status())
}

fn service_not_found(name: &str) -> Reply {
    error(StatusCode::NOT_FOUND, &format!("service {name} not found"))
}

const NAMESPACE_NOT_VALID: &str = "namespace not valid";

fn namespace_not_valid() -> Reply {
    error(StatusCode::BAD_REQUEST, NAMESPACE_NOT_VALID)
}

fn missing_secret(state: &State, deployment: &Deployment) -> Option<String> {
    deployment
        .secrets()
        .iter()
        .find(|secret| !state.secrets.contains_key(*secret))
        .cloned()
}

/// The Community Edition's refusal of one function more than `max`.
fn over_ce_limit(state: &State, max: usize) -> Option<String> {
    let count = state.functions.len();
    (count >= max).then(|| {
        format!(
            "the OpenFaaS CE EULA allows {max}/{} function(s), upgrade to faasd Pro to continue",
            count + 1
        )
    })
}

/// runc's refusal of a limit of a byte or so.
fn start_error(name: &str, bytes: u64) -> String {
    format!(
        "unable to start task: {name}, error: failed to create shim task: OCI runtime create \
         failed: runc create failed: unable to start container process: error during container \
         init: error setting cgroup config for procHooks process: unable to set memory limit to \
         {bytes} (current usage: 0, peak usage: 0): unknown"
    )
}

/// runc's refusal to mount a secret file that is not there.
fn mount_error(name: &str, secret: &str) -> String {
    format!(
        "unable to start task: {name}, error: failed to create shim task: OCI runtime create \
         failed: runc create failed: unable to start container process: error during container \
         init: error mounting \"{SECRETS_DIR}/{secret}\" to rootfs at \
         \"/var/openfaas/secrets/{secret}\": stat {SECRETS_DIR}/{secret}: no such file or \
         directory: unknown"
    )
}

/// Creates the container and starts its task. A milli-byte memory limit leaves the container
/// behind without a task, as faasd does.
fn create(
    state: &mut State,
    provider: Provider,
    deployment: Deployment,
    replicas: u64,
) -> Result<(), String> {
    let name = deployment.name().to_owned();
    state.logs.start_instance(&name);
    state
        .logs
        .append(&name, format!("deployed {}", deployment.image()));
    let tiny_limit = deployment.tiny_memory_limit();
    let mut function = Function::start(deployment, provider.replicas(replicas));
    let outcome = match tiny_limit {
        None => Ok(()),
        Some(bytes) => {
            function.replicas = 0;
            function.ready_at = None;
            let cpu = function.limits.take().and_then(|limits| limits.cpu);
            function.limits = Some(Resources {
                memory: Some(bytes.to_string()),
                cpu,
            });
            let message = start_error(&name, bytes);
            state.logs.append(&name, message.clone());
            Err(message)
        }
    };
    state.functions.insert(name, function);
    outcome
}

/// The body, or the status and message refusing it.
fn parse_deployment(body: &[u8]) -> Result<Deployment, (StatusCode, String)> {
    let deployment: Deployment =
        serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    if !is_valid_namespace(deployment.namespace.as_deref()) {
        return Err((StatusCode::BAD_REQUEST, NAMESPACE_NOT_VALID.to_owned()));
    }
    Ok(deployment)
}

/// `POST /system/functions`.
pub async fn deploy_function(gateway: &Gateway, body: &[u8]) -> Reply {
    let deployment = match parse_deployment(body) {
        Ok(deployment) => deployment,
        Err((status, message)) => return error(status, &message),
    };
    {
        let state = gateway.lock();
        if let Some(secret) = missing_secret(&state, &deployment) {
            let message = format!("unable to find secret: {secret}");
            return error(StatusCode::BAD_REQUEST, &message);
        }
        if let Some(message) = over_ce_limit(&state, gateway.config.max_functions) {
            return error(StatusCode::BAD_REQUEST, &message);
        }
    }
    if !registry::image_exists(&gateway.http, deployment.image()).await {
        let message = registry::pull_error(deployment.image());
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let mut state = gateway.lock();
    // Checked again: another deploy may have finished while the image was looked up.
    if let Some(message) = over_ce_limit(&state, gateway.config.max_functions) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let name = deployment.name().to_owned();
    if state.functions.contains_key(&name) {
        let message = format!(
            "unable to create container: {name}, error: snapshot \"{name}-snapshot\": already exists"
        );
        return error(StatusCode::BAD_REQUEST, &message);
    }
    match create(&mut state, gateway.config.provider, deployment, 1) {
        Ok(()) => write_ok(gateway),
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    }
}

/// `PUT /system/functions`. After a missing secret or image the real handler writes the error
/// and carries on: it removes the running function, fails to deploy the new one, and adds that
/// error to the body. The status is the first one written. With the image missing the function
/// is gone; with a secret missing its container is created and its task is not, so the
/// function stays, with the new deployment and no replica (faasd 0.19.0, checked by hand).
pub async fn update_function(gateway: &Gateway, body: &[u8]) -> Reply {
    let deployment = match parse_deployment(body) {
        Ok(deployment) => deployment,
        Err((status, message)) => return error(status, &message),
    };
    let name = deployment.name().to_owned();
    let (secret, previous_replicas) = {
        let state = gateway.lock();
        let Some(function) = state.functions.get(&name) else {
            return service_not_found(&name);
        };
        (missing_secret(&state, &deployment), function.replicas)
    };
    let image_missing = !registry::image_exists(&gateway.http, deployment.image()).await;
    let pull_error = registry::pull_error(deployment.image());
    let mut status = None;
    let mut messages = Vec::new();
    if let Some(secret) = &secret {
        status.get_or_insert(StatusCode::BAD_REQUEST);
        messages.push(format!("unable to find secret: {secret}"));
    }
    if image_missing {
        status.get_or_insert(StatusCode::INTERNAL_SERVER_ERROR);
        messages.push(pull_error.clone());
    }
    let provider = gateway.config.provider;
    let replicas = match provider {
        Provider::Faasd => 1,
        Provider::FaasNetes => previous_replicas.max(MIN_REPLICAS),
    };
    let mut state = gateway.lock();
    state.functions.remove(&name);
    let deployed = match secret {
        _ if image_missing => Err(pull_error),
        Some(secret) => {
            let message = mount_error(&name, &secret);
            state.logs.append(&name, message.clone());
            let mut stays = Function::start(deployment, 0);
            stays.ready_at = None;
            state.functions.insert(name.clone(), stays);
            Err(message)
        }
        None => create(&mut state, provider, deployment, replicas),
    };
    drop(state);
    if let Err(message) = deployed {
        status.get_or_insert(StatusCode::INTERNAL_SERVER_ERROR);
        messages.push(message);
    }
    match status {
        None => write_ok(gateway),
        Some(status) => error(status, &messages.join("\n")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteRequest {
    function_name: Option<String>,
    namespace: Option<String>,
}

/// `DELETE /system/functions`.
pub fn delete_function(gateway: &Gateway, body: &[u8]) -> Reply {
    let request: DeleteRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if !is_valid_namespace(request.namespace.as_deref()) {
        return namespace_not_valid();
    }
    let name = request.function_name.unwrap_or_default();
    if gateway.lock().functions.remove(&name).is_none() {
        return service_not_found(&name);
    }
    write_ok(gateway)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScaleRequest {
    service_name: Option<String>,
    replicas: Option<u64>,
}

/// `POST /system/scale-function/NAME`: the name in the path is not used.
pub fn scale_function(gateway: &Gateway, body: &[u8]) -> Reply {
    let Ok(request) = serde_json::from_slice::<ScaleRequest>(body) else {
        return error(StatusCode::BAD_REQUEST, "Error unmarshalling request body");
    };
    let asked = request
        .replicas
        .unwrap_or(0)
        .clamp(MIN_REPLICAS, MAX_REPLICAS);
    let name = request.service_name.unwrap_or_default();
    let mut state = gateway.lock();
    let Some(function) = state.functions.get_mut(&name) else {
        return service_not_found(&name);
    };
    // A container whose task could not start fails again in the same way.
    if let Some(bytes) = function.deployment.tiny_memory_limit() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &start_error(&name, bytes),
        );
    }
    function.replicas = gateway.config.provider.replicas(asked);
    drop(state);
    write_ok(gateway)
}

/// `GET /system/functions`.
pub fn list_functions(gateway: &Gateway, query: Option<&str>) -> Reply {
    if !is_valid_namespace(query_value(query, "namespace").as_deref()) {
        return namespace_not_valid();
    }
    let state = gateway.lock();
    let list: Vec<FunctionStatus<'_>> = state
        .functions
        .iter()
        .map(|(name, function)| {
            let invocations = state.invocations.get(name).copied().unwrap_or(0);
            function.status(View::List { invocations })
        })
        .collect();
    json(StatusCode::OK, &list)
}

/// `GET /system/function/NAME`: 404 with an empty body when it is missing.
pub fn show_function(gateway: &Gateway, name: &str, query: Option<&str>) -> Reply {
    if !is_valid_namespace(query_value(query, "namespace").as_deref()) {
        return namespace_not_valid();
    }
    let state = gateway.lock();
    match state.functions.get(name) {
        Some(function) => json(StatusCode::OK, &function.status(View::Detail)),
        None => empty(StatusCode::NOT_FOUND),
    }
}
