//! The console's routes: the page's three files, and the JSON API the page reads (described in
//! the crate's documentation). Every API request is checked against the settings first.

use std::sync::Arc;

use ferry_net::http::{Request, Response};
use serde_json::json;

use crate::api::{json_response, ApiError, ApiResult};
use crate::auth::{self, Access};
use crate::settings::ConsoleSettings;
use crate::sources::{Sources, SourcesConfig};
use crate::{ensemble, groups, messages, topics, znodes};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const CONSOLE_JS: &str = include_str!("../assets/console.js");
const CONSOLE_CSS: &str = include_str!("../assets/console.css");

/// One console, for the keeper or the broker that serves it.
pub struct Console {
    settings: ConsoleSettings,
    sources: Sources,
}

impl Console {
    pub fn new(settings: ConsoleSettings, sources: SourcesConfig) -> Arc<Self> {
        Arc::new(Console {
            settings,
            sources: Sources::new(sources),
        })
    }

    /// Whether `path` is the console's (the server answers the rest itself).
    pub fn serves(&self, path: &str) -> bool {
        self.settings.enabled && (path == "/console" || path.starts_with("/console/"))
    }

    pub async fn handle(&self, request: Request) -> Response {
        match request.path.as_str() {
            "/console" | "/console/" | "/console/index.html" => {
                Response::ok("text/html; charset=utf-8", INDEX_HTML)
            }
            "/console/console.js" => Response::ok("application/javascript", CONSOLE_JS),
            "/console/console.css" => Response::ok("text/css", CONSOLE_CSS),
            path => match path.strip_prefix("/console/api/") {
                Some(api) => match self.api(api, &request).await {
                    Ok(value) => json_response(&value),
                    Err(error) => error.into_response(),
                },
                None => Response::not_found(),
            },
        }
    }

    async fn api(&self, route: &str, request: &Request) -> ApiResult {
        let method = request.method.as_str();
        if route == "session" {
            return Ok(self.session(request).await);
        }
        let access = if method == "GET" {
            Access::Read
        } else {
            Access::Change
        };
        auth::check(&self.settings, request, access)?;
        let sources = &self.sources;
        match (method, route) {
            ("GET", "ensemble") => Ok(ensemble::servers(&sources.config.ensemble).await),
            ("GET", "znode") => znodes::get(sources, request).await,
            ("POST", "znode") => znodes::create(sources, request).await,
            ("PUT", "znode") => znodes::set(sources, request).await,
            ("DELETE", "znode") => znodes::delete(sources, request).await,
            _ => self.kafka_api(method, route, request).await,
        }
    }

    async fn kafka_api(&self, method: &str, route: &str, request: &Request) -> ApiResult {
        let known = matches!(
            (method, route),
            (
                "GET",
                "cluster" | "topics" | "topic" | "groups" | "group" | "messages"
            ) | ("POST", "topics")
                | ("DELETE", "topic")
        );
        if !known {
            return Err(ApiError::not_found(format!(
                "no API {method} /console/api/{route}"
            )));
        }
        let kafka = self.sources.kafka().await?;
        let result = match (method, route) {
            ("GET", "cluster") => topics::cluster(&kafka).await,
            ("GET", "topics") => topics::list(&kafka).await,
            ("GET", "topic") => topics::describe(&kafka, request).await,
            ("POST", "topics") => topics::create(&kafka, request).await,
            ("DELETE", "topic") => topics::delete(&kafka, request).await,
            ("GET", "groups") => groups::list(&kafka).await,
            ("GET", "group") => groups::describe(&kafka, request).await,
            _ => messages::browse(&kafka, request).await,
        };
        // The broker the client started from may be gone: start again from the next request.
        if matches!(&result, Err(e) if e.status.starts_with("502")) {
            self.sources.forget_kafka().await;
        }
        result
    }

    /// What the page needs before anything else: who serves it, what it can show, whether the
    /// user must log in and whether changes are allowed.
    async fn session(&self, request: &Request) -> serde_json::Value {
        let config = &self.sources.config;
        let authenticated = auth::authenticated(&self.settings, request);
        let may_read = self.settings.credentials.is_none() || authenticated;
        json!({
            "served_by": config.served_by,
            "node": config.node,
            "auth_required": self.settings.credentials.is_some(),
            "authenticated": authenticated,
            "read_only": self.settings.refuses_changes(),
            "zookeeper": config.zookeeper.is_some(),
            "kafka": self.sources.has_kafka(may_read).await,
        })
    }
}
