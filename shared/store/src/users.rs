//! User records: one item per user, read on every request so a lock applies at once.

use domain::{OrgId, User, UserId};

use crate::items::{self, data, key};
use crate::keys;
use crate::{Store, StoreError};

impl Store {
    pub async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user_pk(org, id), keys::PROFILE_SK)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item().map(data::<User>).transpose()
    }

    /// Creates or replaces a user record (seeding and, later, contacts).
    pub async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let mut item = key(keys::user_pk(&user.org, &user.id), keys::PROFILE_SK);
        item.insert(items::DATA.into(), items::av(user)?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
