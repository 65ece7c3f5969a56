//! The common-password list, loaded once per isolate from the worker's static assets
//! (`public/data/common-passwords.txt`) the first time a password is checked against the rules.

use super::error::Unexpected;
use crate::app::Cx;
use crate::domain::common_passwords::{self, Loaded};
use crate::storage::Store;

/// Fewer entries than this means the asset is not the list (a wrong or cut-off file).
const AT_LEAST: usize = 10_000;

pub async fn loaded<S: Store>(cx: &Cx<S>) -> Result<Loaded, Unexpected> {
    if let Some(loaded) = common_passwords::loaded() {
        return Ok(loaded);
    }
    let text = cx.store.common_passwords().await?;
    if text.lines().count() < AT_LEAST {
        return Err(Unexpected::Broken("the common-password list asset is not the list"));
    }
    Ok(common_passwords::load(text))
}
