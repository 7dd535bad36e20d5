//! The one access rule git, the API and the pages share: who may see a function.

use crate::db::functions::Function;
use crate::db::users::{Role, User};

/// Whether `user` may see (read, push to, scale, delete) `function`: its owner and
/// administrators may; to anyone else it does not exist.
pub fn can_see(user: &User, function: &Function) -> bool {
    user.role == Role::Admin || function.owner_id == Some(user.id)
}

/// Whether `user` may see a repository that has no function recorded (a push that never
/// deployed, or a function deleted with its repository kept): administrators only.
pub fn can_see_unowned(user: &User) -> bool {
    user.role == Role::Admin
}

/// The owner to list functions of: `None` (every function) for an administrator.
pub fn listed_owner(user: &User) -> Option<i64> {
    (user.role != Role::Admin).then_some(user.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::users::UserState;

    fn user(id: i64, role: Role) -> User {
        User {
            id,
            name: format!("user{id}"),
            role,
            state: UserState::Active,
            created_at: 0,
        }
    }

    fn function(owner_id: Option<i64>) -> Function {
        Function {
            id: 1,
            name: "hello".to_owned(),
            owner_id,
            desired_replicas: 1,
            current_release_id: None,
            created_at: 0,
        }
    }

    #[test]
    fn owners_and_administrators_see_a_function_and_nobody_else_does() {
        let owner = user(1, Role::Member);
        let other = user(2, Role::Member);
        let admin = user(3, Role::Admin);
        let owned = function(Some(1));
        assert!(can_see(&owner, &owned));
        assert!(can_see(&admin, &owned));
        assert!(!can_see(&other, &owned));
        // A function whose owner was removed: administrators only.
        let orphan = function(None);
        assert!(!can_see(&owner, &orphan));
        assert!(can_see(&admin, &orphan));
        assert!(can_see_unowned(&admin) && !can_see_unowned(&owner));
        assert_eq!(listed_owner(&owner), Some(1));
        assert_eq!(listed_owner(&admin), None);
    }
}
