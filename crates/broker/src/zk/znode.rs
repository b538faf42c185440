//! The znode helpers every concept shares: reads that take a missing node as `None`,
//! creates that tolerate an existing one, Kafka's `createRecursive`.

use ferry_zkclient::{Bytes, Client, CreateOptions, ErrorCode, IntoData, Stat};

use super::error::{on, Result, ZkError};
use super::{paths, KafkaZk, Versioned};

impl KafkaZk {
    /// Creates `path` (persistent) with `data`, creating missing parents with null data, as
    /// Kafka's `createRecursive`. Fails with [`ZkError::NodeExists`] if `path` exists.
    pub(crate) async fn create_recursive(&self, path: &str, data: impl IntoData) -> Result<()> {
        create_recursive(&self.client, path, data).await
    }

    /// The node's data and stat, or `None` when it does not exist.
    pub(crate) async fn get(&self, path: &str) -> Result<Option<(Option<Bytes>, Stat)>> {
        match self.client.get_data(path, false).await {
            Ok(found) => Ok(Some(found)),
            Err(error) if error.code() == ErrorCode::NoNode => Ok(None),
            Err(error) => Err(ZkError::keeper(path, error)),
        }
    }

    /// The node's data decoded by `decode`, with its version; `None` when it does not exist.
    pub(crate) async fn get_versioned<T>(
        &self,
        path: &str,
        decode: impl FnOnce(&str, Option<&[u8]>) -> Result<T>,
    ) -> Result<Option<Versioned<T>>> {
        let Some((data, stat)) = self.get(path).await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            value: decode(path, data.as_deref())?,
            zk_version: stat.version,
        }))
    }

    /// The node's children, sorted; none when it does not exist.
    pub(crate) async fn children(&self, path: &str) -> Result<Vec<String>> {
        match self.client.get_children(path, false).await {
            Ok(mut children) => {
                children.sort();
                Ok(children)
            }
            Err(error) if error.code() == ErrorCode::NoNode => Ok(Vec::new()),
            Err(error) => Err(ZkError::keeper(path, error)),
        }
    }

    /// Creates a persistent node with null data; `false` when it existed already.
    pub(crate) async fn create_if_missing(&self, path: &str) -> Result<bool> {
        create_if_missing(&self.client, path).await
    }
}

async fn create_if_missing(client: &Client, path: &str) -> Result<bool> {
    let options = CreateOptions::persistent();
    match client.create(path, None::<Bytes>, &options).await {
        Ok(_) => Ok(true),
        Err(error) if error.code() == ErrorCode::NodeExists => Ok(false),
        Err(error) => Err(ZkError::keeper(path, error)),
    }
}

/// Kafka's `createRecursive`: create, and on `NoNode` create the parents and try again.
pub(super) async fn create_recursive(
    client: &Client,
    path: &str,
    data: impl IntoData,
) -> Result<()> {
    let data = data.into_data();
    let options = CreateOptions::persistent();
    match client.create(path, data.clone(), &options).await {
        Ok(_) => return Ok(()),
        Err(error) if error.code() == ErrorCode::NoNode => {}
        Err(error) => return Err(ZkError::keeper(path, error)),
    }
    let mut missing = Vec::new();
    let mut cursor = paths::parent(path);
    while let Some(parent) = cursor.filter(|p| *p != "/") {
        match create_if_missing(client, parent).await {
            Ok(_) => break,
            Err(ZkError::NoNode { .. }) => missing.push(parent),
            Err(error) => return Err(error),
        }
        cursor = paths::parent(parent);
    }
    for parent in missing.into_iter().rev() {
        create_if_missing(client, parent).await?;
    }
    client
        .create(path, data, &options)
        .await
        .map(drop)
        .map_err(on(path))
}
