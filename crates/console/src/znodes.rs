//! The znode browser (ZooInspector's views): a node's data, stat, ACL and children, and the
//! edits a user may make. Every edit goes through a ZooKeeper session, so the node's ACL
//! decides, not the console: a user who knows a digest identity passes it (`zk_auth`,
//! `user:password`) and the edit runs in a session of its own with that `addauth`.

use base64::Engine;
use ferry_net::http::Request;
use ferry_zkclient::{perms, Acl, Client, CreateOptions, Stat};
use serde_json::{json, Map, Value};

use crate::api::{json_body, query_param, required_param, ApiError, ApiResult};
use crate::sources::Sources;

/// GET: the node as the contract describes it.
pub async fn get(sources: &Sources, request: &Request) -> ApiResult {
    let path = node_path(request)?;
    let session = Session::open(sources, zk_auth(request, &Map::new())).await?;
    let result = describe(&session.client, &path).await;
    session.close().await;
    result
}

/// POST: creates a persistent node with an open ACL.
pub async fn create(sources: &Sources, request: &Request) -> ApiResult {
    edit(sources, request, |_| Ok(None)).await
}

/// PUT: sets the node's data, at `version` when given (-1 or none: any version).
pub async fn set(sources: &Sources, request: &Request) -> ApiResult {
    edit(sources, request, |body| match body.get("version") {
        None | Some(Value::Null) => Ok(Some(None)),
        Some(v) => v
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v >= -1)
            .map(|v| Some((v >= 0).then_some(v)))
            .ok_or_else(|| ApiError::bad_request("version must be a number, -1 for any")),
    })
    .await
}

/// Creates the node (`set_at` answers `None`) or sets its data (`Some(version)`), with the
/// body's `data` and in the session the body's `zk_auth` asks for, then describes it.
async fn edit(
    sources: &Sources,
    request: &Request,
    set_at: impl FnOnce(&Map<String, Value>) -> ApiResult<Option<Option<i32>>>,
) -> ApiResult {
    let path = node_path(request)?;
    let body = json_body(&request.body)?;
    let data = text_field(&body, "data")?;
    let set_version = set_at(&body)?;
    let session = Session::open(sources, zk_auth(request, &body)).await?;
    let result = async {
        let zk = &session.client;
        match set_version {
            None => {
                zk.create(&path, data.as_bytes(), &CreateOptions::persistent())
                    .await?;
            }
            Some(version) => {
                zk.set_data(&path, data.as_bytes(), version).await?;
            }
        }
        describe(zk, &path).await
    }
    .await;
    session.close().await;
    result
}

/// DELETE: deletes the node (it must have no children), at `version` when given.
pub async fn delete(sources: &Sources, request: &Request) -> ApiResult {
    let path = node_path(request)?;
    if path == "/" || path == "/zookeeper" || path.starts_with("/zookeeper/") {
        return Err(ApiError::bad_request(format!(
            "{path} belongs to the server and cannot be deleted"
        )));
    }
    let version = crate::api::number_param::<i32>(&request.query, "version")?.filter(|v| *v >= 0);
    let session = Session::open(sources, zk_auth(request, &Map::new())).await?;
    let result = session.client.delete(&path, version).await;
    session.close().await;
    result?;
    Ok(json!({ "deleted": path }))
}

/// The console's shared session, or one of its own carrying the user's digest identity.
struct Session {
    client: std::sync::Arc<Client>,
    own: bool,
}

impl Session {
    async fn open(sources: &Sources, auth: Option<String>) -> ApiResult<Self> {
        let Some(auth) = auth else {
            return Ok(Session {
                client: sources.zookeeper().await?,
                own: false,
            });
        };
        let client = sources.open_zookeeper().await?;
        if let Err(error) = client.add_auth("digest", auth.as_bytes()).await {
            client.close().await;
            return Err(error.into());
        }
        Ok(Session {
            client: std::sync::Arc::new(client),
            own: true,
        })
    }

    async fn close(self) {
        if self.own {
            self.client.close().await;
        }
    }
}

async fn describe(zk: &Client, path: &str) -> ApiResult {
    let (data, stat) = zk.get_data(path, false).await?;
    let (acl, _) = zk.get_acl(path).await?;
    let mut children = zk.get_children(path, false).await?;
    children.sort();
    let data = data.unwrap_or_default();
    let text = std::str::from_utf8(&data);
    Ok(json!({
        "path": path,
        "data": String::from_utf8_lossy(&data),
        "data_base64": base64::engine::general_purpose::STANDARD.encode(&data),
        "binary": text.is_err(),
        "stat": stat_json(&stat),
        "acl": acl.iter().map(acl_json).collect::<Vec<_>>(),
        "children": children,
    }))
}

fn stat_json(stat: &Stat) -> Value {
    json!({
        "czxid": stat.czxid, "mzxid": stat.mzxid, "pzxid": stat.pzxid,
        "ctime": stat.ctime, "mtime": stat.mtime, "version": stat.version,
        "cversion": stat.cversion, "aversion": stat.aversion,
        "ephemeralOwner": format!("{:#x}", stat.ephemeral_owner),
        "dataLength": stat.data_length, "numChildren": stat.num_children,
    })
}

fn acl_json(acl: &Acl) -> Value {
    json!({ "scheme": acl.id.scheme, "id": acl.id.id, "perms": perms::letters(acl.perms) })
}

fn node_path(request: &Request) -> ApiResult<String> {
    let path = required_param(&request.query, "path")?;
    ferry_zkclient::validate_path(&path, false)?;
    Ok(path)
}

/// The user's digest identity: `zk_auth` in the body, or the `X-ZK-Auth` header.
fn zk_auth(request: &Request, body: &Map<String, Value>) -> Option<String> {
    body.get("zk_auth")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| request.header("x-zk-auth").map(str::to_string))
        .or_else(|| query_param(&request.query, "zk_auth"))
        .map(|auth| auth.trim().to_string())
        .filter(|auth| !auth.is_empty())
}

fn text_field(body: &Map<String, Value>, name: &str) -> ApiResult<String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be text"))),
    }
}
