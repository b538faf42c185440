//! Walking a subtree as `ZKUtil` does: `visitSubTreeDFS` (for `ls -R` and `setAcl -R`) and
//! `listSubTreeBFS` (for `deleteall`).

use std::future::Future;

use ferry_zkclient::{Client, ErrorCode, Result};

fn child_path(parent: &str, child: &str) -> String {
    match parent {
        "/" => format!("/{child}"),
        _ => format!("{parent}/{child}"),
    }
}

/// Visits `root` (which must exist), then each node's sorted children before the children's
/// own subtrees; with `watch`, leaves a data watch on `root` and child watches everywhere. A
/// node that vanishes mid-walk is skipped.
pub async fn visit_dfs<F, Fut>(zk: &Client, root: &str, watch: bool, mut visit: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = ()>,
{
    zk.get_data(root, watch).await?;
    visit(root.to_string()).await;
    let mut stack = vec![root.to_string()];
    while let Some(path) = stack.pop() {
        let mut children = match zk.get_children(&path, watch).await {
            Ok(children) => children,
            Err(error) if error.code() == ErrorCode::NoNode => continue,
            Err(error) => return Err(error),
        };
        children.sort();
        let paths: Vec<String> = children.iter().map(|c| child_path(&path, c)).collect();
        for child in &paths {
            visit(child.clone()).await;
        }
        stack.extend(paths.into_iter().rev());
    }
    Ok(())
}

/// `root` and every node below it, breadth first.
pub async fn list_bfs(zk: &Client, root: &str) -> Result<Vec<String>> {
    let mut tree = vec![root.to_string()];
    let mut next = 0;
    while next < tree.len() {
        let node = tree[next].clone();
        next += 1;
        for child in zk.get_children(&node, false).await? {
            tree.push(child_path(&node, &child));
        }
    }
    Ok(tree)
}
