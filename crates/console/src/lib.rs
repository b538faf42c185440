//! # ferry-console: the built-in web console
//!
//! One console, served by the keeper's admin port (`admin.serverPort`) and by the broker's
//! `ferry.http.port`, at `/console`: the ensemble (each server's mode, zxid, connections and
//! latency), the znode tree (data, stat, ACL; edits guarded by the node's ACL), brokers and the
//! controller, topics (partitions, leader, replicas, ISR, under-replicated and offline
//! partitions, offsets, configs; create and delete), consumer groups (members, assignments,
//! lag per partition) and a message browser. The page is three files compiled into the binary
//! (no external assets, no build step); it refreshes the open view every 2 s.
//!
//! The console is a client of the cluster, not a back door: it reads and changes what it shows
//! through the ZooKeeper and Kafka protocols ([`sources`]), so ACLs, the controller and every
//! policy apply to it as to any client.
//!
//! | module | concept |
//! |---|---|
//! | [`settings`] | `ferry.console.*` keys (the same in zoo.cfg and server.properties) |
//! | [`auth`] | HTTP Basic credentials against the configured account; read-only mode |
//! | [`console`] | routes: the page's files and the JSON API |
//! | [`api`] | JSON answers, errors with the ZooKeeper or Kafka error name, query strings |
//! | [`sources`] | the console's ZooKeeper session and Kafka client, opened on first use |
//! | [`ensemble`], [`znodes`], [`topics`], [`groups`], [`messages`] | one view each |
//!
//! ## The API (all JSON; errors are `{"error": message, "code": name}` with a 4xx/5xx status)
//!
//! | request | answer |
//! |---|---|
//! | `GET /console/api/session` | who serves the console, whether login is needed, read-only |
//! | `GET /console/api/ensemble` | `srvr` of each server |
//! | `GET/POST/PUT/DELETE /console/api/znode?path=` | a node; create, set data, delete |
//! | `GET /console/api/cluster` | cluster id, controller, brokers |
//! | `GET /console/api/topics`, `POST /console/api/topics` | topics; create one |
//! | `GET/DELETE /console/api/topic?name=` | one topic's partitions and configs; delete it |
//! | `GET /console/api/groups`, `GET /console/api/group?id=` | groups; members, offsets, lag |
//! | `GET /console/api/messages?topic=&partition=[&offset=\|&timestamp=][&limit=]` | records |
//!
//! Without `ferry.console.user`/`ferry.console.password` the console is open and read-only;
//! with them every API request needs them and changes are allowed unless
//! `ferry.console.read.only=true`.

pub mod api;
pub mod auth;
pub mod console;
pub mod ensemble;
pub mod groups;
pub mod messages;
pub mod settings;
pub mod sources;
pub mod topics;
pub mod znodes;

pub use console::Console;
pub use settings::{is_console_key, ConsoleSettings, SettingsError};
pub use sources::{EnsembleServer, KafkaBootstrap, SourcesConfig};
